"""Request size is enforced in front of Django: a declared Content-Length above the limit
is refused before any of the body is read, a streamed body as soon as it passes the
limit; 413 with JSON under /api/ and a translated page elsewhere. Checked at the ASGI
level and against a real uvicorn server over a raw socket."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading

import pytest

from madoguchi.core.bodylimit import request_body_limit
from tests.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024


@pytest.fixture
def small_limits(settings):
    settings.MAX_ATTACHMENT_BYTES = 1 * MB
    settings.MAX_ATTACHMENTS_TOTAL_BYTES = 1 * MB
    return request_body_limit()


def test_the_limit_follows_the_attachment_settings(settings):
    settings.MAX_ATTACHMENT_BYTES = 10 * MB
    settings.MAX_ATTACHMENTS_TOTAL_BYTES = 20 * MB
    limit = request_body_limit()
    assert 20 * MB + settings.DATA_UPLOAD_MAX_MEMORY_SIZE < limit < 24 * MB
    settings.MAX_ATTACHMENTS_TOTAL_BYTES = 40 * MB
    assert request_body_limit() > 40 * MB
    # The API takes no files: JSON up to Django's own limit for non-file data.
    assert request_body_limit("/api/v1/inquiries") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def api_limit() -> int:
    return request_body_limit("/api/v1/inquiries")


def call(path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]):
    """Run the ASGI application on one request; returns (status, headers, body, chunks
    the application asked for)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    asked = 0
    sent: list[dict] = []

    async def receive():
        nonlocal asked
        if asked < len(chunks):
            asked += 1
            return {
                "type": "http.request",
                "body": chunks[asked - 1],
                "more_body": asked < len(chunks),
            }
        await asyncio.sleep(3600)  # the client stays; the application must not wait for it
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    from madoguchi.asgi import application

    async def run():
        await asyncio.wait_for(application(scope, receive, send), timeout=30)

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body, asked


def test_declared_length_above_the_limit_is_refused_unread(small_limits):
    headers = [
        (b"content-type", b"multipart/form-data; boundary=x"),
        (b"content-length", str(200 * MB).encode()),
        (b"accept-language", b"en-US,en;q=0.9"),
    ]
    status, head, body, asked = call("/form/", headers, [b"x" * 1024] * 4)
    assert status == 413 and asked == 0
    assert head[b"content-type"].startswith(b"text/html")
    page = body.decode()
    assert "Request too large" in page and "at most 1 MB" in page


def test_the_page_is_in_the_desks_language_by_default(small_limits):
    headers = [(b"content-length", str(small_limits + 1).encode())]
    status, head, body, _asked = call("/form/", headers, [])
    assert status == 413 and head[b"content-language"] == b"ja"
    assert '<html lang="ja">' in body.decode()


def test_the_api_gets_json(small_limits):
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(api_limit() + 1).encode()),
        (b"accept-language", b"en"),
    ]
    status, head, body, asked = call("/api/v1/inquiries", headers, [b"{}"])
    assert status == 413 and asked == 0
    assert head[b"content-type"] == b"application/json"
    assert json.loads(body) == {"detail": "The request is too large."}


@pytest.mark.parametrize("path", ["/form/", "/api/v1/inquiries"])
def test_a_streamed_body_is_refused_once_it_passes_the_limit(small_limits, path):
    limit = request_body_limit(path)
    chunk = b"x" * (256 * 1024)
    chunks = [chunk] * (limit // len(chunk) + 40)  # 10 MB more than the limit
    headers = [
        (b"content-type", b"multipart/form-data; boundary=x"),
        (b"transfer-encoding", b"chunked"),
    ]
    status, head, body, asked = call(path, headers, chunks)
    assert status == 413
    assert asked == limit // len(chunk) + 1  # not one chunk more than needed


def test_a_body_within_the_limit_reaches_django(small_limits):
    payload = json.dumps({"subject": "x"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    status, _head, body, _asked = call("/api/v1/inquiries", headers, [payload])
    assert status == 400 and "errors" in json.loads(body)  # Django's validation answered


@pytest.fixture
def live_server_url(small_limits):
    """uvicorn serving the desk's ASGI application from a thread."""
    import uvicorn

    from madoguchi.asgi import application

    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
        part = sock.recv(65536)
        if not part:
            break
        data += part
    return data


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


def test_a_real_server_answers_before_a_200_mb_body_is_sent(live_server_url):
    host, port = live_server_url
    with socket.create_connection((host, port), timeout=15) as sock:
        sock.sendall(
            b"POST /form/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            b"Content-Length: 209715200\r\nAccept-Language: en\r\n\r\n" + b"--xyz\r\n" + b"a" * 4096
        )
        # Only the headers and 4 KB were sent: the answer must come now, not after 200 MB.
        response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"Request too large" in response


def test_a_real_server_stops_a_chunked_body_at_the_limit(live_server_url):
    host, port = live_server_url
    chunk = b"x" * (64 * 1024)
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection((host, port), timeout=15) as sock:
        sock.sendall(
            b"POST /api/v1/inquiries HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        # Send a little past the limit, then stop and wait: the server must have answered
        # by then without waiting for the end of the body.
        while sent <= api_limit() + len(chunk):
            sock.sendall(frame)
            sent += len(chunk)
            # Past the limit, wait for the answer before sending more: a server closes
            # after a 413, and data it never read makes the kernel reset the connection,
            # which can drop the answer before this side reads it (a race, not the check).
            if select.select([sock], [], [], 5 if sent > api_limit() else 0)[0]:
                break
        response = read_response(sock)
    assert response.startswith(b"HTTP/1.1 413 ")
    body = response.split(b"\r\n\r\n", 1)[1]
    assert "detail" in json.loads(body)
