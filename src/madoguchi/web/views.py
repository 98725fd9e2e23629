from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from madoguchi.accounts.roles import is_desk_staff
from madoguchi.core.ratelimit import client_address

from . import health


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 with what is wrong when the desk cannot do its work. The details
    (checks, error texts, worker names, version) are for staff and for monitoring on this
    host; anyone else learns only the status and what is wrong, in general terms."""
    healthy, body = health.report()
    if not (is_desk_staff(request.user) or _from_this_host(request)):
        body = {
            "status": body["status"],
            "problems": [problem.split(":", 1)[0] for problem in body["problems"]],
        }
    return JsonResponse(body, status=200 if healthy else 503)


def _from_this_host(request: HttpRequest) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False


@never_cache
def livez(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers HTTP (no database, no worker)."""
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers and tools that ask for /favicon.ico get the desk's icon."""
    return HttpResponseRedirect(static("madoguchi/icon.svg"))
