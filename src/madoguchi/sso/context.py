"""Template context: whether OIDC sign-in is offered, and where it starts.

``requester_signin_url`` signs a requester in and brings them back to the page they were
on; it is "" when no identity provider is configured, so a page can write
``{% if requester_signin_url %}<a href="{{ requester_signin_url }}">…{% endif %}``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext


def signin_url(kind: str, next_url: str = "") -> str:
    query = {"as": kind, **({"next": next_url} if next_url else {})}
    return reverse("sso:login") + "?" + urlencode(query)


def button_label() -> str:
    return gettext("Sign in with %(name)s") % {
        "name": settings.OIDC_NAME or gettext("single sign-on")
    }


def sso(request: HttpRequest) -> dict[str, Any]:
    if not (settings.OIDC_DISCOVERY_URL and settings.OIDC_CLIENT_ID):
        return {"oidc_enabled": False, "requester_signin_url": ""}
    return {
        "oidc_enabled": True,
        "oidc_button_label": button_label(),
        "requester_signin_url": signin_url("requester", request.get_full_path()),
    }
