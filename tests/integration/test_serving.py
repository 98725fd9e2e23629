"""What the ASGI server is handed for files: no sync-iterator warning (warnings are errors
here), the whole file, and the desk's icon at /favicon.ico."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application

pytestmark = pytest.mark.django_db(transaction=True)


def asgi_get(path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    app = get_asgi_application()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected; Django cancels this

    async def send(message):
        sent.append(message)

    async_to_sync(app)(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def test_static_files_stream_without_the_sync_iterator_warning(settings):
    from pathlib import Path

    import madoguchi

    status, _headers, body = asgi_get("/static/madoguchi/desk.css")
    css = Path(madoguchi.__file__).parent / "web" / "static" / "madoguchi" / "desk.css"
    assert status == 200 and body == css.read_bytes()


def test_favicon_is_the_desk_icon(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content)


def test_serve_on_a_busy_port_says_so_before_anything_else(capsys):
    import socket

    from madoguchi.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--host", "127.0.0.1", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert "running at" not in out
    assert f"127.0.0.1:{port}" in err and "--port" in err


def test_several_processes_need_the_scaled_mode(capsys, settings):
    from madoguchi.cli import main

    settings.EMBEDDED = True
    assert main(["serve", "--host", "127.0.0.1", "--port", "0", "--processes", "2"]) == 2
    out, err = capsys.readouterr()
    assert "running at" not in out
    assert "--processes" in err and "DATABASE_URL" in err and "REDIS_URL" in err
