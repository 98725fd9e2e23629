"""ICE servers for the online calls: STUN, and TURN (coturn) with short-lived credentials.

The call's media goes peer to peer, or through a TURN relay when the networks in between
block it; it never passes through the desk. The desk only tells each browser which STUN
and TURN servers to use (:func:`ice_servers`, given to ``RTCPeerConnection``).

TURN credentials follow coturn's ``use-auth-secret`` scheme (the "TURN REST API"): the desk
and coturn share one secret (``MADOGUCHI_CALL_TURN_SECRET`` = coturn's
``static-auth-secret``). The username is ``<expiry unix time>:<label>`` and the password
is ``base64(HMAC-SHA1(secret, username))``. coturn recomputes the password and refuses the
username once its expiry has passed, also for the refreshes of a running allocation: the
lifetime (``MADOGUCHI_CALL_TURN_TTL_SECONDS``) must cover the longest call. See
docs/calls.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Collection, Iterable
from typing import Any

from django.conf import settings

from madoguchi.core import clock

SCHEMES = ("stun", "turn", "turns")
TURN_SCHEMES = ("turn", "turns")
LABEL_MAX_LENGTH = 64

_LABEL = re.compile(rf"[A-Za-z0-9_-]{{1,{LABEL_MAX_LENGTH}}}")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\Z){_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")
_TRANSPORTS = ("udp", "tcp")


class InvalidIceUrl(ValueError):
    """A STUN/TURN URL that a browser would refuse or that names no server."""


def check_label(label: str) -> str:
    """The label as given, if it is a safe opaque token: ASCII letters, digits, ``-`` and
    ``_``, 1 to 64 characters (no ``:``, the separator of coturn's username)."""
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise ValueError(
            f"TURN label {label!r}: use 1 to {LABEL_MAX_LENGTH} ASCII letters, digits, '-' or '_'"
        )
    return label


def mint_credentials(
    secret: str, *, ttl_seconds: int, label: str, now: float | None = None
) -> tuple[str, str]:
    """``(username, password)`` for coturn's ``use-auth-secret``, valid ``ttl_seconds``
    from ``now`` (unix time; by default the desk's clock)."""
    if not secret:
        raise ValueError("no TURN secret")
    if ttl_seconds <= 0:
        raise ValueError(f"TURN credential lifetime must be positive, not {ttl_seconds}")
    check_label(label)
    if now is None:
        now = clock.now().timestamp()
    username = f"{int(now) + ttl_seconds}:{label}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("ascii"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers(*, label: str) -> list[dict[str, Any]]:
    """The ``iceServers`` of the browser's ``RTCPeerConnection``.

    STUN URLs as configured; the TURN URLs with freshly minted credentials for ``label``
    (an opaque token such as a hash of the call's id) when a TURN secret is set. Without
    TURN URLs or secret there is no TURN entry: peers on one network (a campus LAN) still
    connect directly. Nothing configured gives ``[]`` (host candidates only).
    """
    servers: list[dict[str, Any]] = []
    stun = list(settings.CALL_STUN_URLS)
    if stun:
        servers.append({"urls": stun})
    turn = list(settings.CALL_TURN_URLS)
    secret = settings.CALL_TURN_SECRET
    if turn and secret:
        username, credential = mint_credentials(
            secret, ttl_seconds=settings.CALL_TURN_TTL_SECONDS, label=label
        )
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


def validate_urls(urls: Iterable[str], *, schemes: Collection[str] = SCHEMES) -> list[str]:
    """The URLs, each checked: ``stun:host[:port]``, ``turn:host[:port][?transport=udp|tcp]``
    or the same with ``turns:`` (RFC 7064, RFC 7065), only of the given schemes. Raises
    :class:`InvalidIceUrl` naming the URL and what is wrong."""
    return [_check_url(url, schemes) for url in urls]


def _check_url(url: str, schemes: Collection[str]) -> str:
    if not isinstance(url, str):
        raise InvalidIceUrl(f"{url!r} is not a string")
    allowed = ", ".join(f"{s}:" for s in SCHEMES if s in schemes)
    scheme, colon, rest = url.partition(":")
    if not colon or scheme not in SCHEMES:
        raise InvalidIceUrl(f"{url!r}: must start with {allowed}")
    if scheme not in schemes:
        raise InvalidIceUrl(f"{url!r}: a {scheme}: URL does not belong here (only {allowed})")
    if rest.startswith("//"):
        raise InvalidIceUrl(f"{url!r}: no '//' after the scheme (write {scheme}:host:port)")
    if any(c.isspace() for c in url) or "@" in rest or "/" in rest:
        raise InvalidIceUrl(f"{url!r}: only a host, a port and ?transport= may follow the scheme")
    hostport, question, query = rest.partition("?")
    if question:
        if scheme == "stun":
            raise InvalidIceUrl(f"{url!r}: stun: URLs take no '?' (transport is for turn:)")
        if query not in {f"transport={t}" for t in _TRANSPORTS}:
            raise InvalidIceUrl(f"{url!r}: the query may only be ?transport=udp or ?transport=tcp")
    host, port = _split_host_port(url, hostport)
    if not host:
        raise InvalidIceUrl(f"{url!r}: no host")
    if port is not None and not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
        raise InvalidIceUrl(f"{url!r}: the port must be a number from 1 to 65535")
    return url


def _split_host_port(url: str, hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        inside, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise InvalidIceUrl(f"{url!r}: an IPv6 address is written [address] or [address]:port")
        try:
            ipaddress.IPv6Address(inside)
        except ValueError:
            raise InvalidIceUrl(f"{url!r}: {inside!r} is not an IPv6 address") from None
        return inside, after[1:] if after else None
    if hostport.count(":") > 1:
        raise InvalidIceUrl(f"{url!r}: put an IPv6 address in brackets: [address]:port")
    host, colon, port = hostport.partition(":")
    if host and not _is_ipv4(host) and not _is_hostname(host):
        raise InvalidIceUrl(f"{url!r}: {host!r} is not a host name or IP address")
    return host, port if colon else None


def _is_hostname(host: str) -> bool:
    # A name, not a mistyped address: the last label is not all digits (999.1.1.1).
    return bool(_HOSTNAME.fullmatch(host)) and not host.rstrip(".").rsplit(".", 1)[-1].isdigit()


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True
