"""One definition of the client address for HTTP and WebSocket (core.ratelimit): behind a
proxy that appends to X-Forwarded-For, the client cannot pick its own rate-limit bucket."""

from __future__ import annotations

import ipaddress
import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing.websocket import WebsocketCommunicator

from madoguchi.chat.consumers import WidgetConsumer
from madoguchi.inquiries.models import Inquiry
from tests.integration.test_intake import form_data

LOCAL_PROXY = (ipaddress.ip_network("127.0.0.1/32"),)
TWO_PROXIES = (*LOCAL_PROXY, ipaddress.ip_network("10.0.0.0/8"))


def _with_client(app, client, xff: str):
    async def wrapped(scope, receive, send):
        headers = [*scope.get("headers", []), (b"x-forwarded-for", xff.encode())]
        return await app({**scope, "client": client, "headers": headers}, receive, send)

    return wrapped


async def _start_chat(xff: str) -> str:
    """Open the widget through the proxy and send a first message: "ack" or the error code."""
    app = _with_client(WidgetConsumer.as_asgi(), ("127.0.0.1", 40000), xff)
    ws = WebsocketCommunicator(app, "/ws/chat/")
    connected, _ = await ws.connect()
    assert connected
    await ws.send_to(
        text_data=json.dumps(
            {
                "t": "hello",
                "token": None,
                "lang": "ja",
                "page": "https://www.example.ac.jp/it/",
                "after": 0,
            }
        )
    )
    try:
        while True:
            frame = json.loads(await ws.receive_from(timeout=10))
            if frame["t"] == "welcome":
                break
        await ws.send_to(
            text_data=json.dumps({"t": "msg", "cid": "cid-start-1", "body": "こんにちは"})
        )
        while True:
            frame = json.loads(await ws.receive_from(timeout=10))
            if frame["t"] == "ack":
                return "ack"
            if frame["t"] == "error":
                return frame["code"]
    finally:
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
def test_chat_new_conversation_limit_ignores_a_forged_left_most_entry(settings):
    settings.TRUSTED_PROXIES = LOCAL_PROXY
    settings.TRUST_X_FORWARDED_FOR = True  # the switch this setting replaced
    settings.CHAT_NEW_RATE_LIMIT = "3/3600"
    outcomes = [
        async_to_sync(_start_chat)(f"192.0.2.{i}, 203.0.113.9")  # nginx appended the last one
        for i in range(6)
    ]
    assert outcomes == ["ack", "ack", "ack", "rate", "rate", "rate"]


def post_form(client, key: str, remote: str, forwarded: str) -> int:
    return client.post(
        "/form/",
        form_data(submission_key=key * 32, subject=f"s{key}"),
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    ).status_code


def test_form_limit_counts_the_client_behind_two_proxies(client, categories, settings):
    settings.TRUSTED_PROXIES = TWO_PROXIES
    settings.TRUST_X_FORWARDED_FOR = True
    settings.INTAKE_RATE_LIMIT = "2/600"
    codes = [
        post_form(client, f"{i}", "127.0.0.1", f"192.0.2.{i}, 203.0.113.{i // 2}, 10.0.0.2")
        for i in range(4)
    ]
    # Clients .0 and .1 are two different requesters: each has its own bucket.
    assert codes == [302, 302, 302, 302]
    assert post_form(client, "9", "127.0.0.1", "192.0.2.77, 203.0.113.1, 10.0.0.2") == 429
    assert Inquiry.objects.count() == 4


def test_untrusted_peer_is_the_client_whatever_it_sends(client, categories, settings):
    settings.TRUSTED_PROXIES = LOCAL_PROXY
    settings.TRUST_X_FORWARDED_FOR = True
    settings.INTAKE_RATE_LIMIT = "2/600"
    codes = [post_form(client, f"{i}", "198.51.100.4", f"192.0.2.{i}") for i in range(3)]
    assert codes == [302, 302, 429]
