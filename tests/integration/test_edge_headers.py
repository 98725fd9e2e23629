"""The edge: the API docs served from the desk with a CSP, WebSocket origins exactly the
desk's own (scheme, host and port) in CSP and in the handshake check, private pages
never cached, and a revoked requester link closing the sockets opened with it."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator

from madoguchi.inquiries import actions
from madoguchi.inquiries.access import requester_url
from madoguchi.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_api_docs_load_their_assets_from_the_desk_under_a_csp(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(u.startswith("/static/ninja/") for u in urls), urls
    csp = directives(response)
    assert csp["script-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert b"".join(asset.streaming_content) if asset.streaming else asset.content


def test_connect_src_names_only_the_desks_own_websocket_origins(client, settings):
    settings.SITE_URL = "https://desk.example.ac.jp"
    csp = directives(client.get("/", HTTP_HOST="localhost:8000"))
    assert csp["connect-src"] == ["'self'", "ws://localhost:8000", "wss://desk.example.ac.jp"]
    chat = directives(client.get("/chat/embed/", HTTP_HOST="localhost:8000"))
    assert "ws:" not in chat["connect-src"] and "wss:" not in chat["connect-src"]


def _connects(path: str, *, origin: bytes, host: bytes, scheme: str = "ws") -> bool:
    from madoguchi.asgi import application

    async def attempt() -> bool:
        communicator = WebsocketCommunicator(
            application, path, headers=[(b"origin", origin), (b"host", host)]
        )
        communicator.scope["scheme"] = scheme
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    return async_to_sync(attempt)()


def test_websocket_origin_must_match_scheme_host_and_port(db, settings):
    settings.SITE_URL = "https://desk.example.ac.jp"
    settings.ALLOWED_HOSTS = ["localhost", "desk.example.ac.jp"]
    settings.CHAT_WIDGET_ORIGINS = ["https://www.example.ac.jp"]
    host = b"localhost:8000"
    assert _connects("/ws/chat/", origin=b"http://localhost:8000", host=host)
    assert not _connects("/ws/chat/", origin=b"http://localhost:8080", host=host)  # the port
    assert not _connects("/ws/chat/", origin=b"https://localhost:8000", host=host)  # the scheme
    assert not _connects("/ws/chat/", origin=b"http://localhost", host=host)
    assert not _connects("/ws/chat/", origin=b"http://evil.example:8000", host=host)
    assert not _connects("/ws/chat/", origin=b"null", host=host)
    # Behind a TLS proxy the browser's origin is SITE_URL's.
    assert _connects("/ws/chat/", origin=b"https://desk.example.ac.jp", host=host)
    assert _connects("/ws/chat/", origin=b"https://desk.example.ac.jp:443", host=b"x:1")
    # The widget's host sites only frame the chat; its socket comes from the desk's frame.
    assert not _connects("/ws/chat/", origin=b"https://www.example.ac.jp", host=host)
    # A host outside ALLOWED_HOSTS does not make its own origin acceptable.
    assert not _connects("/ws/chat/", origin=b"http://evil.example", host=b"evil.example")


def test_private_pages_are_never_cached(client, create, faculty):
    inquiry = create()
    path = requester_url(inquiry).removeprefix("http://testserver")
    thread = client.get(path)
    assert thread.status_code == 200
    assert {"private", "no-store"} <= set(re.split(r",\s*", thread["Cache-Control"]))
    client.force_login(faculty)
    console = client.get(f"/console/i/{inquiry.reference}/")
    assert console.status_code == 200
    assert {"private", "no-store"} <= set(re.split(r",\s*", console["Cache-Control"]))
    client.logout()
    portal = client.get("/")
    assert "no-store" not in portal.get("Cache-Control", "")


async def _requester_socket(token: str):
    from madoguchi.intake.consumers import RequesterConsumer

    communicator = WebsocketCommunicator(RequesterConsumer.as_asgi(), f"/ws/requester/{token}/")
    communicator.scope["url_route"] = {"kwargs": {"token": token}}
    connected, code = await communicator.connect()
    return communicator, connected, code


def test_revoking_the_link_closes_the_sockets_opened_with_it(client, create, student):
    inquiry = create()
    old_path = requester_url(inquiry).removeprefix("http://testserver")
    token = old_path.rstrip("/").rsplit("/", 1)[-1]

    async def scenario():
        socket, connected, _ = await _requester_socket(token)
        assert connected
        await database_sync_to_async(actions.do_revoke_requester_link)(inquiry, acting_user=student)
        told = await socket.receive_json_from(timeout=5)
        closed = await socket.receive_output(timeout=5)
        await socket.disconnect()
        again, connected_again, code = await _requester_socket(token)
        await again.disconnect()
        return told, closed, connected_again, code

    told, closed, connected_again, code = async_to_sync(scenario)()
    assert told == {"kind": "link.revoked"}
    assert closed == {"type": "websocket.close", "code": 4401}
    assert connected_again is False and code == 4404
    assert client.get(old_path).status_code == 404
    inquiry.refresh_from_db()
    assert client.get(requester_url(inquiry).removeprefix("http://testserver")).status_code == 200
    assert AuditEvent.objects.filter(verb="inquiry.link_revoked", inquiry=inquiry).exists()


def test_staff_revoke_a_link_from_the_console(client, create, student):
    inquiry = create()
    old_path = requester_url(inquiry).removeprefix("http://testserver")
    client.force_login(student)
    page = client.get(f"/console/i/{inquiry.reference}/").content.decode()
    assert f"/console/i/{inquiry.reference}/do/revoke_link/" in page
    response = client.post(f"/console/i/{inquiry.reference}/do/revoke_link/")
    assert response.status_code == 302
    client.logout()
    assert client.get(old_path).status_code == 404
