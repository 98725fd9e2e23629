from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from madoguchi.accounts import requester
from madoguchi.accounts.roles import role_of


def desk(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = role_of(user) if user is not None else "requester"
    return {
        "desk_role": role,
        "desk_address": settings.FALLBACK_ADDRESS,
        # A requester signed in (a mailed code or an identity provider), and whether this
        # desk lets requesters sign in at all.
        "requester_identity": requester.current(request) if role == "requester" else None,
        "requester_signin_offered": settings.REQUESTER_CODE_SIGNIN
        or bool(settings.OIDC_DISCOVERY_URL and settings.OIDC_CLIENT_ID),
    }
