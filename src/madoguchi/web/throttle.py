"""Sign-in throttling, shared by the console's and the Django admin's sign-in forms.

Attempts are counted per account (the user name as typed, normalised) and per client
address, in the cache (Redis in the scaled mode, so every process sees the same counts),
over a window that starts with the first counted attempt. An attempt is counted *before*
the password is checked, so parallel guesses cannot slip past the limit; a successful
sign-in takes its attempt back (and clears the account's count). Once a limit is reached,
every attempt is refused until the window ends, the right password included: that is the
point. Names exist or not alike, so the message reveals nothing about accounts.

The second step of a two-factor sign-in (``step="code"``: an authenticator or recovery
code) is counted the same way with counters of its own, so a stolen password buys at most
``LOGIN_MAX_FAILURES`` code guesses per window.
"""

from __future__ import annotations

import hashlib
import logging
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from madoguchi.core.clock import now
from madoguchi.core.ratelimit import client_address

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    account_key: str
    address_key: str
    allowed: bool
    retry_after: int  # seconds until the longest of the lock-outs ends (0: none)


def _key(scope: str, value: str, step: str = "password") -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    prefix = "login-fail" if step == "password" else f"login-fail-{step}"
    return f"{prefix}:{scope}:{digest}"


def normalise_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().casefold()


def _window() -> int:
    return max(60, settings.LOGIN_LOCKOUT_MINUTES * 60)


def _count(key: str) -> int:
    """Count one attempt; returns the count within the current window."""
    window = _window()
    # The window's start is kept beside the counter: the clock tests can set decides when
    # it ends, the cache timeout only cleans up.
    started = cache.get(f"{key}:start")
    if started is not None and started + window <= now().timestamp():
        cache.delete_many([key, f"{key}:start"])
    cache.add(f"{key}:start", now().timestamp(), timeout=window + 60)
    if cache.add(key, 1, timeout=window + 60):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 60)
        return 1


def _remaining(key: str) -> int:
    started = cache.get(f"{key}:start")
    if started is None:
        return _window()
    return max(1, math.ceil(started + _window() - now().timestamp()))


def begin(username: str, address: str, *, step: str = "password") -> Attempt:
    """Count an attempt on ``username`` from ``address``; ``allowed`` is False while either
    is locked out (the attempt must then be refused without checking the password)."""
    account_key = _key("account", normalise_username(username), step)
    address_key = _key("address", address, step)
    over = [
        key
        for key, count, limit in (
            (account_key, _count(account_key), settings.LOGIN_MAX_FAILURES),
            (address_key, _count(address_key), settings.LOGIN_MAX_FAILURES_PER_ADDRESS),
        )
        if limit > 0 and count > limit
    ]
    retry_after = max((_remaining(k) for k in over), default=0)
    return Attempt(account_key, address_key, not over, retry_after)


def failed(attempt: Attempt, username: str, address: str) -> int:
    """The password was wrong. Returns the seconds of the lock-out this failure started
    (0 when there is none yet), which is logged and audited once."""
    locked = []
    for scope, key, limit in (
        ("account", attempt.account_key, settings.LOGIN_MAX_FAILURES),
        ("address", attempt.address_key, settings.LOGIN_MAX_FAILURES_PER_ADDRESS),
    ):
        if limit > 0 and (cache.get(key) or 0) >= limit:
            if cache.add(f"{key}:reported", 1, timeout=_window()):
                _report(scope, username, address, step=_step_of(key))
            locked.append(_remaining(key))
    return max(locked, default=0)


def succeeded(attempt: Attempt) -> None:
    """The right password: the account starts afresh and the address gets its attempt
    back (many staff may sign in from one campus address)."""
    cache.delete_many([attempt.account_key, f"{attempt.account_key}:start"])
    try:
        if (cache.get(attempt.address_key) or 0) > 0:
            cache.decr(attempt.address_key)
    except ValueError:
        pass


def _step_of(key: str) -> str:
    prefix = key.partition(":")[0]
    return prefix.removeprefix("login-fail-") if prefix != "login-fail" else "password"


def _report(scope: str, username: str, address: str, *, step: str = "password") -> None:
    from madoguchi.privacy import audit

    # The name typed is kept only when it is an account: a password typed into the name
    # field must not end up in the audit log.
    known = get_user_model()._default_manager.filter(username=username).exists()
    log.warning(
        "sign-in locked out (%s, %s step): account %s, address %s",
        scope,
        step,
        username if known else "(no such account)",
        address,
    )
    audit.record(
        "auth.locked_out",
        actor_kind="system",
        scope=scope,
        username=username if known else "",
        address=address,
        minutes=settings.LOGIN_LOCKOUT_MINUTES,
        step=step,
    )


def locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    if minutes == 1:
        return gettext("Too many failed sign-in attempts. Try again in a minute.")
    return gettext("Too many failed sign-in attempts. Try again in %(minutes)d minutes.") % {
        "minutes": minutes
    }


class ThrottledLoginMixin:
    """For an ``AuthenticationForm``: refuses attempts while the account or the client
    address is locked out, and counts every password check."""

    request: Any
    cleaned_data: dict[str, Any]
    throttle_message = ""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()  # type: ignore[misc]
        address = client_address(self.request) if self.request is not None else "unknown"
        attempt = begin(username, address)
        if not attempt.allowed:
            raise self._locked(attempt.retry_after)
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except ValidationError:
            seconds = failed(attempt, username, address)
            if seconds:
                raise self._locked(seconds) from None
            raise
        succeeded(attempt)
        return cleaned

    def _locked(self, seconds: int) -> ValidationError:
        self.throttle_message = locked_message(seconds)
        return ValidationError(self.throttle_message, code="throttled")


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
