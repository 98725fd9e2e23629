"""How long a staff sign-in lasts: ``SESSION_IDLE_MINUTES`` without activity and
``SESSION_MAX_HOURS`` in all, whichever ends first (0: no such limit).

Every sign-in (``django.contrib.auth.login``, whichever way the person proved who they
are) stamps the session with its start and last activity (``stamp_session``, on
``user_logged_in``). The HTTP middleware ends a session past either limit — the next
request is anonymous and a page load is sent to sign in with a message — and the
WebSocket middleware treats such a session as signed out at connect, so the console's
consumers refuse the socket as they refuse any anonymous one. A signed-in session
without the stamps (from before this existed) is ended the same way.

Activity is a page load or a form post. The console's background refreshes (``GET`` with
``X-Requested-With``) do not count, or an open tab would never be idle; the stamp is
written at most once a minute so that reading pages does not write the session each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import resolve_url
from django.utils.translation import gettext

from madoguchi.core.clock import now

SIGNED_IN_AT = "madoguchi_signed_in_at"
SEEN_AT = "madoguchi_seen_at"
SEEN_RESOLUTION_SECONDS = 60


def stamp_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    at = now().timestamp()
    session[SIGNED_IN_AT] = at
    session[SEEN_AT] = at


def expiry(session: Any) -> str | None:
    """``"idle"`` or ``"absolute"`` when the session's sign-in has ended, else None."""
    started, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        return "absolute"
    at = now().timestamp()
    max_hours, idle_minutes = settings.SESSION_MAX_HOURS, settings.SESSION_IDLE_MINUTES
    if max_hours > 0 and at - started >= max_hours * 3600:
        return "absolute"
    if idle_minutes > 0 and at - seen >= idle_minutes * 60:
        return "idle"
    return None


def _message(reason: str) -> str:
    if reason == "idle":
        return gettext("You were signed out after a time without activity. Please sign in again.")
    return gettext("Your sign-in has expired. Please sign in again.")


class SessionLifetimeMiddleware:
    """After ``AuthenticationMiddleware`` and ``MessageMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated:
            background = request.method in ("GET", "HEAD") and bool(
                request.headers.get("X-Requested-With")
            )
            reason = expiry(request.session)
            if reason is not None:
                logout(request)
                messages.info(request, _message(reason))
                if (
                    request.method in ("GET", "HEAD")
                    and not background
                    and request.path != resolve_url(settings.LOGIN_URL)
                ):
                    return redirect_to_login(request.get_full_path())
            elif not background:
                at = now().timestamp()
                if at - float(request.session[SEEN_AT]) >= SEEN_RESOLUTION_SECONDS:
                    request.session[SEEN_AT] = at
        return self.get_response(request)


def _scope_expired(scope: dict[str, Any]) -> bool:
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return False
    session = scope.get("session")
    return session is None or expiry(session) is not None


class SessionLifetimeWebsocketMiddleware:
    """Inside channels' ``AuthMiddlewareStack``: a socket whose session has ended is
    anonymous when its consumer decides at connect."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket" and await database_sync_to_async(_scope_expired)(scope):
            scope = {**scope, "user": AnonymousUser()}
        return await self.inner(scope, receive, send)
