"""Staff sign-in through the identity provider: every write of this app.

Tier policy (docs/design.md note 57): identity never widens access by itself.

- Without ``MADOGUCHI_OIDC_STAFF_GROUPS`` the provider sets no tier: a new account has
  none (no console until an administrator gives it one) and an existing account's tier,
  set by an administrator, is left as it is.
- With it, the provider is the source of the tier for every account that signs in
  through it: each sign-in sets the highest tier its groups map to, raising or lowering
  (to none when no group maps). Superuser status is never set or cleared here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction

from madoguchi.accounts.models import User
from madoguchi.accounts.roles import is_desk_staff
from madoguchi.core.clock import now
from madoguchi.privacy import audit

from .claims import Person, tier_from_groups
from .models import ExternalIdentity


@dataclass(frozen=True)
class StaffSignIn:
    user: User
    created: bool
    allowed: bool  # active and with a console role: may be logged in


def _username(person: Person, protocol: str) -> str:
    """The mail address when no account has it as its user name, else a fixed name from
    the identity (never another person's account)."""
    model = get_user_model()
    if person.email and not model._default_manager.filter(username=person.email).exists():
        return person.email[:150]
    digest = hashlib.sha256(f"{person.issuer}\n{person.key}".encode()).hexdigest()[:16]
    return f"{protocol}-{digest}"


def do_staff_sign_in(
    person: Person, *, staff_groups: dict[str, str], protocol: str = "oidc"
) -> StaffSignIn:
    """Find or create the account of ``person`` (whose claims or assertion were verified)
    and update what the provider says of it. The caller logs the account in only when
    ``allowed``. ``protocol`` ("oidc", "saml") only names a new account that cannot take
    its mail address as its user name."""
    try:
        return _sign_in(person, staff_groups, protocol)
    except IntegrityError:  # a parallel first sign-in created the identity: find it
        return _sign_in(person, staff_groups, protocol)


@transaction.atomic
def _sign_in(person: Person, staff_groups: dict[str, str], protocol: str) -> StaffSignIn:
    mapped = tier_from_groups(person.groups, staff_groups) if staff_groups else None
    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=person.issuer, key=person.key)
        .first()
    )
    created = identity is None
    if identity is None:
        user = User(
            username=_username(person, protocol),
            email=person.email,
            display_name=person.name[:150],
            tier=mapped or "",
        )
        user.set_unusable_password()
        user.save()
        identity = ExternalIdentity.objects.create(
            issuer=person.issuer,
            key=person.key,
            user=user,
            email=person.email,
            name=person.name[:150],
            groups=list(person.groups),
        )
        previous_tier = ""
    else:
        user = identity.user
        previous_tier = user.tier
        changed = []
        if mapped is not None and user.tier != mapped:
            user.tier = mapped
            changed.append("tier")
        if person.email and user.email != person.email:
            user.email = person.email
            changed.append("email")
        if changed:
            user.save(update_fields=changed)
        identity.email = person.email
        identity.name = person.name[:150]
        identity.groups = list(person.groups)
        identity.last_seen = now()
        identity.save(update_fields=["email", "name", "groups", "last_seen"])
    allowed = user.is_active and is_desk_staff(user)
    who: dict[str, Any] = {"actor": user} if allowed else {"actor_kind": "system"}
    audit.record(
        "auth.sso_signed_in" if allowed else "auth.sso_refused",
        **who,
        username=user.username,
        issuer=person.issuer,
        protocol=protocol,
        created=created,
        tier=user.tier,
        previous_tier=previous_tier,
        reason="" if allowed else ("inactive" if not user.is_active else "no_staff_tier"),
    )
    return StaffSignIn(user=user, created=created, allowed=allowed)


def record_refusal(reason: str, *, provider: str) -> None:
    """An ID token or a SAML assertion refused (signature, issuer, tenant, audience,
    expiry, nonce, replay…): who it was is not known."""
    audit.record("auth.sso_refused", actor_kind="system", reason=reason, provider=provider)


def remember_assertion(issuer: str, assertion_id: str, *, until: float) -> bool:
    """Remember a verified SAML assertion's ID until it expires (``until``, epoch seconds,
    skew included); False when it was already accepted once: a replay. The cache is the
    Django cache (Redis in the scaled mode, so every process sees it); ``add`` is atomic,
    so two posts of one assertion racing cannot both pass."""
    digest = hashlib.sha256(f"{issuer}\n{assertion_id}".encode()).hexdigest()
    seconds = max(1, int(until - now().timestamp()) + 1)
    return bool(cache.add(f"sso:saml:assertion:{digest}", 1, timeout=seconds))
