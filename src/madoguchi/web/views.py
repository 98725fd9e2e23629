from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from madoguchi.core import health


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 with what is wrong when the desk cannot do its work."""
    healthy, body = health.report()
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
def livez(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers HTTP (no database, no worker)."""
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers and tools that ask for /favicon.ico get the desk's icon."""
    return HttpResponseRedirect(static("madoguchi/icon.svg"))
