from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static

from madoguchi import __version__


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor, "version": __version__})


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers and tools that ask for /favicon.ico get the desk's icon."""
    return HttpResponseRedirect(static("madoguchi/icon.svg"))
