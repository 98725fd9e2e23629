"""Every write of staff two-factor sign-in, audited (``auth.*`` verbs), and the checks
the sign-in steps make. TOTP secrets are sealed (``sealing``), recovery codes kept as
HMACs; neither is readable from the database alone."""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings
from django.db import transaction

from madoguchi.accounts import roles, totp
from madoguchi.core.clock import now
from madoguchi.privacy import audit

from . import sealing
from .models import RecoveryCode, TOTPDevice

RECOVERY_CODES = 10
_RECOVERY_LABEL = "recovery-code"

SecondStep = Literal["code", "enrol"]


def required_for(user: Any) -> bool:
    """Must this account have two-factor sign-in (``STAFF_2FA_REQUIRED``)?"""
    mode = settings.STAFF_2FA_REQUIRED
    if mode == "all":
        return True
    if mode == "faculty":
        return roles.role_of(user) in (roles.FACULTY, roles.ADMIN)
    return False


def device_of(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user).first()


def second_step_for(user: Any) -> SecondStep | None:
    """After the right password: a code (enrolled), enrolment (required but not enrolled),
    or nothing more."""
    if device_of(user) is not None:
        return "code"
    if required_for(user):
        return "enrol"
    return None


def _recovery_hashes(normalised: str) -> list[str]:
    return [
        totp.hash_recovery_code(normalised, key)
        for key in sealing.keys(_RECOVERY_LABEL)  # SECRET_KEY first, then its fallbacks
    ]


def _new_recovery_codes(user: Any) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [totp.new_recovery_code() for _ in range(RECOVERY_CODES)]
    created = now()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(
            user=user,
            code_hash=_recovery_hashes(totp.normalise_recovery_code(code))[0],
            created_at=created,
        )
        for code in codes
    )
    return codes


def secret_matches(secret: str, code: str) -> int | None:
    """The step of ``code`` for a secret not yet enrolled (the enrolment's first code)."""
    return totp.matching_step(secret, code, now().timestamp())


@transaction.atomic
def do_enrol_totp(user: Any, secret: str, first_step: int) -> list[str]:
    """Enrol the authenticator whose first code (of ``first_step``) was right; returns
    the new recovery codes, which are shown once and never stored in the clear."""
    TOTPDevice.objects.update_or_create(
        user=user,
        defaults={
            "sealed_secret": sealing.seal(secret, owner=user.pk),
            "last_step": first_step,
            "confirmed_at": now(),
            "last_used_at": now(),
        },
    )
    codes = _new_recovery_codes(user)
    audit.record("auth.2fa_enrolled", actor=user, user=user.username)
    return codes


@transaction.atomic
def do_renew_recovery_codes(user: Any) -> list[str]:
    codes = _new_recovery_codes(user)
    audit.record("auth.recovery_codes_renewed", actor=user, user=user.username)
    return codes


def check_second_factor(user: Any, typed: str) -> Literal["totp", "recovery"] | None:
    """Is ``typed`` a current code of the user's authenticator (not used before) or one
    of their unused recovery codes? Spends what it accepts, race-free (a conditional
    UPDATE), so two requests with the same code cannot both pass."""
    device = device_of(user)
    if device is None:
        return None
    digits = typed.strip().replace(" ", "")
    if len(digits) == totp.DIGITS and digits.isascii() and digits.isdigit():
        try:
            secret = sealing.unseal(device.sealed_secret, owner=user.pk)
        except sealing.SealError:
            return None
        step = totp.matching_step(secret, digits, now().timestamp(), after=device.last_step)
        if step is None:
            return None
        spent = TOTPDevice.objects.filter(pk=device.pk, last_step__lt=step).update(
            last_step=step, last_used_at=now()
        )
        return "totp" if spent else None
    normalised = totp.normalise_recovery_code(typed)
    if len(normalised) != 16:
        return None
    with transaction.atomic():
        spent = RecoveryCode.objects.filter(
            user=user, code_hash__in=_recovery_hashes(normalised), used_at__isnull=True
        ).update(used_at=now())
        if not spent:
            return None
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        audit.record("auth.recovery_code_used", actor=user, user=user.username, left=left)
    return "recovery"


def recovery_codes_left(user: Any) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def _remove(user: Any) -> bool:
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    return bool(removed)


@transaction.atomic
def do_disable_totp(user: Any) -> bool:
    """The user turns it off themselves (the view has re-checked password and code)."""
    removed = _remove(user)
    if removed:
        audit.record("auth.2fa_disabled", actor=user, user=user.username)
    return removed


@transaction.atomic
def do_reset_totp(user: Any, *, acting_user: Any) -> bool:
    """An administrator removes a user's two-factor sign-in (a lost phone and no recovery
    codes left): the user signs in with the password alone, or is sent to enrol again
    where it is required."""
    removed = _remove(user)
    if removed:
        audit.record("auth.2fa_reset", actor=acting_user, user=user.username)
    return removed
