"""Who a requester is, when they signed in: one record in their session, whichever way
they proved it (a one-time code mailed to their address today; an identity provider
when one is configured). Requesters have no passwords and need no account; a signed-in
requester is one whose address (and, from an identity provider, stable key, name and
member category) the desk has checked.

Every reader goes through ``current``; every writer through ``sign_in`` / ``sign_out``.
Signing in rotates the session key (no fixation) and the identity expires with
``REQUESTER_SESSION_HOURS`` whatever the session does."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

from madoguchi.core.clock import now

SESSION_KEY = "madoguchi_requester"


@dataclass(frozen=True)
class RequesterIdentity:
    email: str
    via: str  # "code" (a mailed one-time code) or the name of an identity provider
    name: str = ""
    member_category: str = ""
    key: str = ""  # the identity provider's stable key, when there is one
    common_id: str = ""  # the university's ID number, when the provider gives it
    signed_in_at: str = ""  # ISO time

    @property
    def expired(self) -> bool:
        try:
            at = dt.datetime.fromisoformat(self.signed_in_at)
        except ValueError:
            return True
        return now() - at > dt.timedelta(hours=settings.REQUESTER_SESSION_HOURS)


def _session(holder: Any) -> Any:
    """A request, or a session itself (a WebSocket scope's); None without one."""
    if hasattr(holder, "session"):
        return holder.session
    return holder if callable(getattr(holder, "get", None)) else None


def current(holder: Any) -> RequesterIdentity | None:
    """The signed-in requester of this request or session, or None. Blocking: the
    session may be read from the database."""
    session = _session(holder)
    raw = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(raw, dict):
        return None
    try:
        identity = RequesterIdentity(**{k: str(v) for k, v in raw.items()})
    except TypeError:
        return None
    if identity.expired or not identity.email:
        return None
    return identity


def sign_in(request: Any, *, email: str, via: str, **details: str) -> RequesterIdentity:
    identity = RequesterIdentity(
        email=email.strip().lower(), via=via, signed_in_at=now().isoformat(), **details
    )
    request.session.cycle_key()
    request.session[SESSION_KEY] = asdict(identity)
    return identity


def sign_out(request: Any) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
