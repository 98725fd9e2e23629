from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _

from . import config, oidc
from .models import ExternalIdentity


def settings_rows() -> tuple[list[tuple[str, str]], str]:
    """The effective settings, the secret shown only as set or not."""
    try:
        c = config.current()
    except ImproperlyConfigured as exc:
        return [], str(exc)
    none = _("(none)")

    def mapping(m: dict[str, str]) -> str:
        return ", ".join(f"{k} → {v}" for k, v in m.items()) or none

    rows = [
        (
            "MADOGUCHI_OIDC_DISCOVERY_URL",
            c.discovery_url or _("(not set: sign-in through an identity provider is off)"),
        ),
        ("MADOGUCHI_OIDC_CLIENT_ID", c.client_id or none),
        (
            "MADOGUCHI_OIDC_CLIENT_SECRET",
            _("set") if c.client_secret else _("not set (public client, PKCE only)"),
        ),
        ("MADOGUCHI_OIDC_NAME", c.name or none),
        ("MADOGUCHI_OIDC_SCOPES", " ".join(c.scopes)),
        ("MADOGUCHI_OIDC_TENANTS", ", ".join(c.tenants) or _("(any: the issuer alone decides)")),
        ("MADOGUCHI_OIDC_EMAIL_CLAIMS", ", ".join(c.email_claims)),
        ("MADOGUCHI_OIDC_NAME_CLAIMS", ", ".join(c.name_claims)),
        ("MADOGUCHI_OIDC_GROUP_CLAIMS", ", ".join(c.group_claims)),
        ("MADOGUCHI_OIDC_CATEGORY_CLAIMS", ", ".join(c.category_claims)),
        ("MADOGUCHI_OIDC_CATEGORY_MAP", mapping(c.category_map)),
        (
            "MADOGUCHI_OIDC_STAFF_GROUPS",
            mapping(c.staff_groups)
            if c.staff_groups
            else _("(none: administrators set staff tiers)"),
        ),
        ("MADOGUCHI_OIDC_CLOCK_SKEW_SECONDS", str(c.clock_skew)),
    ]
    try:
        s = config.saml()
    except ImproperlyConfigured as exc:
        return rows, str(exc)
    rows += [
        (
            "MADOGUCHI_SAML_IDP_ENTITY_ID",
            s.idp_entity_id or _("(not set: SAML sign-in is off)"),
        ),
        ("MADOGUCHI_SAML_IDP_METADATA_URL", s.metadata_url or none),
        ("MADOGUCHI_SAML_IDP_METADATA_FILE", s.metadata_file or none),
        ("MADOGUCHI_SAML_IDP_CERT_FILE", s.metadata_cert_file or none),
        ("MADOGUCHI_SAML_SP_KEY_FILE", _("set") if s.sp_key_file else _("not set")),
        ("MADOGUCHI_SAML_SP_CERT_FILE", s.sp_cert_file or none),
        (_("SP entity id (metadata)"), s.entity_id),
        (_("assertion consumer service"), s.acs_url),
        ("MADOGUCHI_SAML_NAME", s.name or none),
        ("MADOGUCHI_SAML_KEY_ATTRIBUTE", s.key_attribute),
        ("MADOGUCHI_SAML_CATEGORY_MAP", mapping(s.category_map)),
        (
            "MADOGUCHI_SAML_STAFF_GROUPS",
            mapping(s.staff_groups)
            if s.staff_groups
            else _("(none: administrators set staff tiers)"),
        ),
        ("MADOGUCHI_SAML_CLOCK_SKEW_SECONDS", str(s.clock_skew)),
        ("MADOGUCHI_SAML_ALLOW_UNSOLICITED", _("yes") if s.allow_unsolicited else _("no")),
    ]
    return rows, ""


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin[ExternalIdentity]):
    list_display = ("user", "email", "issuer", "last_seen")
    search_fields = ("email", "name", "key", "user__username")
    readonly_fields = ("issuer", "key", "email", "name", "groups", "first_seen", "last_seen")
    raw_id_fields = ("user",)
    change_list_template = "admin/sso/externalidentity_change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by a sign-in; an administrator may move one to another account

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "settings/",
                self.admin_site.admin_view(self.settings_view),
                name="sso_settings",
            ),
            *super().get_urls(),
        ]

    def settings_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_superuser:
            return HttpResponse(status=403)
        rows, problem = settings_rows()
        provider: list[tuple[str, Any]] = []
        p = oidc.cached_provider(settings.OIDC_DISCOVERY_URL)
        if p is not None:
            provider = [
                (_("issuer"), p.issuer),
                (_("authorization endpoint"), p.authorization_endpoint),
                (_("token endpoint"), p.token_endpoint),
                (_("key set"), p.jwks_uri),
                (_("sign-out endpoint"), p.end_session_endpoint or _("(none)")),
            ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Single sign-on settings"),
            "rows": rows,
            "provider": provider,
            "problem": problem,
        }
        return TemplateResponse(request, "admin/sso/settings.html", context)
