"""The client's address behind trusted proxies: the right-most untrusted hop, never a
value the client wrote itself."""

from __future__ import annotations

import ipaddress

from madoguchi.core.ratelimit import resolve_client

LOCAL = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
TWO_HOPS = (*LOCAL, ipaddress.ip_network("10.0.0.0/8"))


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert resolve_client("198.51.100.7", ["203.0.113.1"], ()) == "198.51.100.7"


def test_a_peer_that_is_not_our_proxy_is_believed_over_any_header() -> None:
    assert resolve_client("198.51.100.7", ["127.0.0.1"], LOCAL) == "198.51.100.7"


def test_an_appending_proxy_the_client_cannot_choose_its_address() -> None:
    for forged in ("1.1.1.1", "8.8.8.8, 9.9.9.9", "garbage", "127.0.0.1"):
        assert resolve_client("127.0.0.1", [f"{forged}, 203.0.113.9"], LOCAL) == "203.0.113.9"


def test_two_trusted_hops_are_skipped() -> None:
    assert (
        resolve_client("127.0.0.1", ["6.6.6.6, 203.0.113.9, 10.1.2.3"], TWO_HOPS) == "203.0.113.9"
    )
    # Several headers count as one list, in order.
    assert resolve_client("127.0.0.1", ["6.6.6.6", "203.0.113.9, 10.1.2.3"], TWO_HOPS) == (
        "203.0.113.9"
    )


def test_ports_brackets_and_mapped_addresses() -> None:
    assert resolve_client("127.0.0.1", ["203.0.113.9:5123"], LOCAL) == "203.0.113.9"
    assert resolve_client("::1", ["[2001:db8::5]:443"], LOCAL) == "2001:db8::5"
    assert resolve_client("::ffff:127.0.0.1", ["203.0.113.9"], LOCAL) == "203.0.113.9"


def test_all_hops_trusted_gives_the_left_most() -> None:
    assert resolve_client("127.0.0.1", ["10.0.0.5, 10.0.0.6"], TWO_HOPS) == "10.0.0.5"
    assert resolve_client("127.0.0.1", [], LOCAL) == "127.0.0.1"
