"""Template context: whether OIDC and SAML sign-in are offered, and where they start.

``requester_signin_url`` signs a requester in and brings them back to the page they were
on (through OIDC when both are configured); it is "" when no identity provider is
configured, so a page can write
``{% if requester_signin_url %}<a href="{{ requester_signin_url }}">…{% endif %}``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext


def signin_url(kind: str, next_url: str = "", *, route: str = "sso:login") -> str:
    query = {"as": kind, **({"next": next_url} if next_url else {})}
    return reverse(route) + "?" + urlencode(query)


def button_label() -> str:
    return gettext("Sign in with %(name)s") % {
        "name": settings.OIDC_NAME or gettext("single sign-on")
    }


def saml_button_label() -> str:
    return gettext("Sign in with %(name)s") % {
        "name": settings.SAML_NAME or gettext("your institution (GakuNin)")
    }


def saml_on() -> bool:
    return bool(
        settings.SAML_IDP_ENTITY_ID
        and (settings.SAML_IDP_METADATA_URL or settings.SAML_IDP_METADATA_FILE)
    )


def sso(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"oidc_enabled": False, "saml_enabled": False}
    signin = ""
    if saml_on():
        context["saml_enabled"] = True
        context["saml_button_label"] = saml_button_label()
        signin = signin_url("requester", request.get_full_path(), route="sso:saml-login")
    if settings.OIDC_DISCOVERY_URL and settings.OIDC_CLIENT_ID:
        context["oidc_enabled"] = True
        context["oidc_button_label"] = button_label()
        signin = signin_url("requester", request.get_full_path())
    context["requester_signin_url"] = signin
    return context
