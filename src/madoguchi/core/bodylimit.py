"""Request size, enforced before Django reads the body.

Under ASGI Django's handler reads the whole request body (to a temporary file) before any
middleware or view runs, so a 200 MB upload would be received in full before the form
refused it. This wrapper sits in front of Django: a declared ``Content-Length`` above the
limit is refused at once, and a streamed (chunked) body is counted and refused as soon as
it passes the limit. The answer is 413: JSON ``{"detail": …}`` under ``/api/``, a small
translated page otherwise (the language from ``?lang=``, the language cookie,
``Accept-Language``, else the desk's default).
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

Scope = dict[str, Any]

# Room for the form's text fields (Django refuses more than DATA_UPLOAD_MAX_MEMORY_SIZE
# of them) and the multipart headers around each file.
MULTIPART_OVERHEAD = 64 * 1024


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def request_body_limit(path: str = "/") -> int:
    """The largest request body the desk accepts: every attachment at its limits, plus
    the form around them. The API takes JSON only, which Django limits to
    DATA_UPLOAD_MAX_MEMORY_SIZE: refused here, it gets a JSON answer rather than
    Django's HTML 400."""
    if is_api(path):
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    files = max(settings.MAX_ATTACHMENTS_TOTAL_BYTES, settings.MAX_ATTACHMENT_BYTES)
    return files + settings.DATA_UPLOAD_MAX_MEMORY_SIZE + MULTIPART_OVERHEAD


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None  # the server refuses a malformed length itself


def _language(scope: Scope) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    wanted = (query.get("lang") or [""])[0]
    if wanted in supported:
        return wanted
    cookie_header = _header(scope, b"cookie")
    if cookie_header:
        try:
            cookies = SimpleCookie(cookie_header)
        except CookieError:
            cookies = SimpleCookie()
        morsel = cookies.get(settings.LANGUAGE_COOKIE_NAME)
        if morsel is not None and morsel.value in supported:
            return morsel.value
    accept = _header(scope, b"accept-language")
    if accept:
        from django.utils.translation.trans_real import parse_accept_lang_header

        for code, _q in parse_accept_lang_header(accept[:1000]):
            base = code.split("-")[0].lower()
            if base in supported:
                return base
    return settings.LANGUAGE_CODE


async def refuse_too_large(scope: Scope, send: Any) -> None:
    lang = _language(scope)
    with translation.override(lang):
        if is_api(scope.get("path", "")):
            message = _("The request is too large.")
            body = json.dumps({"detail": message}, ensure_ascii=False).encode("utf-8")
            content_type = b"application/json"
        else:
            mb = max(1, settings.MAX_ATTACHMENTS_TOTAL_BYTES // (1024 * 1024))
            message = _("The request is too large. Files may be at most %(mb)s MB together.") % {
                "mb": mb
            }
            body = render_to_string(
                "web/too_large.html", {"message": message, "lang": lang}
            ).encode("utf-8")
            content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"content-language", lang.encode("ascii")),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                # The rest of the body will not be read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestBodyLimit:
    """ASGI middleware around the Django application (HTTP only)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = request_body_limit(scope.get("path", ""))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await refuse_too_large(scope, send)
            return
        received = 0
        refused = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now; the application sees a client that went away and
                    # stops reading (Django drops the request without a response).
                    refused = True
                    await refuse_too_large(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)
