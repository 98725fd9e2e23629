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
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy: no inline script or style anywhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/admin/") and not request.path.startswith("/api/v1/docs"):
            response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        return response
