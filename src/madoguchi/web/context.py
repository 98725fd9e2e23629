from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from madoguchi.accounts.roles import role_of


def desk(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "desk_role": role_of(user) if user is not None else "requester",
        "desk_address": settings.FALLBACK_ADDRESS,
    }
