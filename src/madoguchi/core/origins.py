"""Which pages may open the desk's WebSockets: exactly the desk's own origin.

Channels' ``AllowedHostsOriginValidator`` compares only the host name with
``ALLOWED_HOSTS`` (any scheme, any port: a page on ``http://desk:8080`` run by someone
else on the same host would pass). Here the Origin must equal, in scheme, host and port,
``SITE_URL``'s origin or the origin of the host the handshake was sent to (when that host
is in ``ALLOWED_HOSTS``). The widget's host sites (``MADOGUCHI_CHAT_WIDGET_ORIGINS``) never
need a socket: the chat runs in a frame served by the desk, so its socket comes from the
desk's own origin; those sites are allowed only to frame it (CSP ``frame-ancestors``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> str | None:
    """``scheme://host:port`` in lower case with the port always spelled out, or None."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS[scheme]}"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def desk_origins(scope: dict[str, Any]) -> set[str]:
    origins = set()
    site = normalise_origin(settings.SITE_URL)
    if site:
        origins.add(site)
    host = _header(scope, b"host")
    if host:
        domain, _port = split_domain_port(host)
        if domain and validate_host(domain, settings.ALLOWED_HOSTS):
            scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
            own = normalise_origin(f"{scheme}://{host}")
            if own:
                origins.add(own)
    return origins


class DeskOriginValidator:
    """ASGI middleware for WebSockets: refuses a handshake from any other origin."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = _header(scope, b"origin")
        normalised = normalise_origin(origin) if origin else None
        if normalised is None or normalised not in desk_origins(scope):
            return await WebsocketDenier()(scope, receive, send)  # type: ignore[arg-type]  # stubs want a typed scope dict
        return await self.application(scope, receive, send)
