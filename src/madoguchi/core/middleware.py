from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

SUPPORTED = {code for code, _ in settings.LANGUAGES}


class LanguageMiddleware(LocaleMiddleware):
    """Django's locale negotiation, plus ``?lang=ja|en`` which also sets the cookie."""

    def process_request(self, request: HttpRequest) -> None:
        wanted = request.GET.get("lang", "")
        if wanted in SUPPORTED:
            translation.activate(wanted)
            request.LANGUAGE_CODE = wanted
            request._madoguchi_set_lang = wanted  # type: ignore[attr-defined]  # read in process_response
            return
        super().process_request(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        wanted = getattr(request, "_madoguchi_set_lang", None)
        if wanted:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                wanted,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

# Pages with a requester's or a staff member's data: never kept in a cache (a shared PC,
# a proxy). Every response to a signed-in user is treated the same way.
PRIVATE_PREFIXES = (
    "/console/",
    "/admin/",
    "/accounts/",
    "/t/",
    "/consent/",
    "/form/done/",
    "/chat/files/",
    "/api/v1/inquiries",
)


def websocket_origins(request: HttpRequest) -> list[str]:
    """The desk's own WebSocket origins: this request's host and ``SITE_URL``'s (scheme,
    host and port exactly; CSP's 'self' does not cover ws: in every browser)."""
    from urllib.parse import urlsplit

    from django.core.exceptions import DisallowedHost

    origins = []
    try:
        origins.append(f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}")
    except DisallowedHost:  # answered with 400 anyway; the policy names SITE_URL alone
        pass
    site = urlsplit(settings.SITE_URL)
    if site.scheme in ("http", "https") and site.netloc:
        origins.append(f"{'wss' if site.scheme == 'https' else 'ws'}://{site.netloc}")
    return list(dict.fromkeys(o.lower() for o in origins))


def content_security_policy(request: HttpRequest, *, frame_ancestors: str = "'none'") -> str:
    connect = " ".join(["'self'", *websocket_origins(request)])
    return CSP.replace("connect-src 'self'", f"connect-src {connect}").replace(
        "frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}"
    )


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy (no inline script or style anywhere), and no
    caching of private pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path
        # The API docs too: their Swagger UI comes from our static files (ninja in
        # INSTALLED_APPS), with no inline script, so the strict policy holds there.
        if not path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", content_security_policy(request))
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        user = getattr(request, "user", None)
        if path.startswith(PRIVATE_PREFIXES) or (user is not None and user.is_authenticated):
            response.headers["Cache-Control"] = "private, no-store"
        return response
