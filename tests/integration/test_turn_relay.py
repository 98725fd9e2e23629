"""A real coturn (Debian's ``turnserver``) and the desk's TURN credentials.

The server runs on 127.0.0.1 with ``use-auth-secret`` and a random ``static-auth-secret``;
aioice's TURN client allocates a relay with what :mod:`madoguchi.calls.turn` mints and
sends a datagram through it to a peer on loopback and back. A wrong password and an
expired username are refused. Without ``turnserver`` the tests are skipped with the
reason (scripts/test installs Debian's coturn); under CI=true they fail instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from madoguchi.calls.turn import ice_servers, mint_credentials
from tests.coturn import Coturn, running_coturn

LABEL = "c0ffee-call_42"


def _run(coro):  # noqa: ANN001, ANN202 - a coroutine in, its result out
    """Run ``coro`` on a loop of its own thread: the suite may already have a running loop
    in this one (browser tests before this file)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def coturn(tmp_path_factory) -> Iterator[Coturn]:
    with running_coturn(tmp_path_factory.mktemp("coturn")) as server:
        yield server


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.closed = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


async def _relay_round_trip(
    server: tuple[str, int], username: str, password: str, *, transport: str
) -> tuple[str, int]:
    """Allocate a relay, send a datagram through it to a loopback peer, get one back.
    Returns the relayed transport address."""
    from aioice.turn import create_turn_endpoint

    loop = asyncio.get_running_loop()
    turn, client = await asyncio.wait_for(
        create_turn_endpoint(_Inbox, server, username, password, transport=transport),
        timeout=10,
    )
    peer_transport, peer = await loop.create_datagram_endpoint(_Inbox, local_addr=("127.0.0.1", 0))
    try:
        relayed = turn.get_extra_info("sockname")
        peer_address = peer_transport.get_extra_info("sockname")
        turn.sendto(b"hello through the relay", peer_address)
        data, source = await asyncio.wait_for(peer.received.get(), timeout=10)
        assert data == b"hello through the relay"
        assert tuple(source) == tuple(relayed), "the peer sees the relay, not the client"
        peer_transport.sendto(b"and back", tuple(relayed))
        data, source = await asyncio.wait_for(client.received.get(), timeout=10)
        assert data == b"and back"
        assert tuple(source) == tuple(peer_address)
        return relayed
    finally:
        peer_transport.close()
        turn.close()  # deletes the allocation (Refresh with LIFETIME 0), then closes
        await asyncio.wait_for(client.closed.wait(), timeout=10)


async def _refused(server: tuple[str, int], username: str, password: str) -> int:
    """The error code of a refused Allocate (the client retries once with the nonce)."""
    from aioice import stun
    from aioice.turn import create_turn_endpoint

    with pytest.raises(stun.TransactionFailed) as failed:
        turn, _ = await asyncio.wait_for(
            create_turn_endpoint(_Inbox, server, username, password), timeout=10
        )
        turn.close()
    return failed.value.response.attributes["ERROR-CODE"][0]


def _server_of(url: str) -> tuple[tuple[str, int], str]:
    """``turn:host:port?transport=x`` -> ((host, port), x)."""
    scheme, _, rest = url.partition(":")
    assert scheme == "turn"
    hostport, _, query = rest.partition("?")
    host, _, port = hostport.rpartition(":")
    return (host, int(port)), query.removeprefix("transport=") or "udp"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_minted_credentials_allocate_a_relay_and_data_flows(coturn, transport):
    username, password = mint_credentials(coturn.secret, ttl_seconds=600, label=LABEL)
    relayed = _run(
        _relay_round_trip((coturn.host, coturn.port), username, password, transport=transport)
    )
    host, port = relayed
    assert host == "127.0.0.1"  # relay-ip
    assert port in coturn.relay_ports


def test_what_the_browser_is_given_works_on_both_transports(coturn, settings):
    settings.CALL_STUN_URLS = [f"stun:{coturn.host}:{coturn.port}"]
    settings.CALL_TURN_URLS = [
        f"turn:{coturn.host}:{coturn.port}?transport=udp",
        f"turn:{coturn.host}:{coturn.port}?transport=tcp",
    ]
    settings.CALL_TURN_SECRET = coturn.secret
    settings.CALL_TURN_TTL_SECONDS = 3600
    stun_entry, turn_entry = ice_servers(label=LABEL)
    assert stun_entry == {"urls": settings.CALL_STUN_URLS}
    for url in turn_entry["urls"]:
        server, transport = _server_of(url)
        relayed = _run(
            _relay_round_trip(
                server, turn_entry["username"], turn_entry["credential"], transport=transport
            )
        )
        assert relayed[1] in coturn.relay_ports


def test_a_wrong_password_is_refused(coturn):
    username, _ = mint_credentials(coturn.secret, ttl_seconds=600, label=LABEL)
    _, other = mint_credentials("not-the-secret", ttl_seconds=600, label=LABEL)
    assert _run(_refused((coturn.host, coturn.port), username, other)) == 401


def test_an_expired_username_is_refused(coturn):
    # Rightly signed with the server's secret, but its expiry is an hour ago.
    username, password = mint_credentials(
        coturn.secret, ttl_seconds=60, label=LABEL, now=time.time() - 3600
    )
    assert int(username.split(":")[0]) < time.time()
    assert _run(_refused((coturn.host, coturn.port), username, password)) == 401


def test_a_username_changed_after_minting_is_refused(coturn):
    # Moving the expiry forward invalidates the password: the expiry is signed.
    username, password = mint_credentials(coturn.secret, ttl_seconds=600, label=LABEL)
    expiry, _, label = username.partition(":")
    later = f"{int(expiry) + 86400}:{label}"
    assert _run(_refused((coturn.host, coturn.port), later, password)) == 401
