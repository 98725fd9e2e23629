"""A fixed-window rate limit in the cache (local memory embedded, Redis when scaled), and
the one definition of a client's address (HTTP and WebSocket alike)."""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from madoguchi.core.clock import now

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    entry = entry.strip().strip('"')
    if entry.startswith("["):  # "[2001:db8::1]:443"
        entry = entry[1 : entry.find("]")] if "]" in entry else entry[1:]
    elif entry.count(":") == 1:  # "192.0.2.1:443"
        entry = entry.partition(":")[0]
    try:
        address = ipaddress.ip_address(entry)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def resolve_client(peer: str, forwarded: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: the right-most hop that is not one of our trusted proxies.

    ``peer`` is the address of the connection itself; ``forwarded`` the X-Forwarded-For
    values in the order received. Each trusted proxy appends the address it saw, so
    walking from the right, the first address that is not a trusted proxy is the one a
    trusted proxy vouched for; anything to its left was written by the client and is never
    believed. A peer that is not a trusted proxy is the client, whatever the header says.
    """
    hops = [e for value in forwarded for e in value.split(",") if e.strip()]
    chain = [*hops, peer]
    for entry in reversed(chain):
        address = _ip(entry)
        if address is None or not any(address in net for net in trusted):
            return str(address) if address is not None else (entry.strip()[:64] or "unknown")
    # Every hop is one of ours (a request from the proxy host itself).
    address = _ip(chain[0])
    return str(address) if address is not None else "unknown"


def _forwarded(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    return [v.decode("latin-1") for k, v in headers if k.lower() == b"x-forwarded-for"]


def client_address(request: HttpRequest) -> str:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return resolve_client(
        request.META.get("REMOTE_ADDR", "") or "unknown",
        [forwarded] if forwarded else [],
        settings.TRUSTED_PROXIES,
    )


def scope_client_address(scope: Mapping[str, Any]) -> str:
    """The same for an ASGI scope (WebSocket consumers)."""
    client = scope.get("client") or ("unknown", 0)
    return resolve_client(
        str(client[0]), _forwarded(scope.get("headers", [])), settings.TRUSTED_PROXIES
    )


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds or 60)


def hit(scope: str, key: str, rate: str) -> bool:
    """Count one hit; True while the caller is within ``rate`` ("N/seconds")."""
    limit, window = parse_rate(rate)
    if limit <= 0:
        return True
    bucket = int(now().timestamp()) // window
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    cache_key = f"rl:{scope}:{digest}:{bucket}"
    if cache.add(cache_key, 1, timeout=window + 5):
        return True
    try:
        current = cache.incr(cache_key)
    except ValueError:
        cache.set(cache_key, 1, timeout=window + 5)
        current = 1
    return current <= limit


def _miss_key(scope: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"miss:{scope}:{digest}"


def add_miss(scope: str, key: str, *, seconds: int) -> int:
    """Count one failure (a wrong code, say) against ``key``; the count lasts ``seconds``
    from the first failure. Returns the count."""
    cache_key = _miss_key(scope, key)
    if cache.add(cache_key, 1, timeout=seconds):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=seconds)
        return 1


def misses(scope: str, key: str) -> int:
    """The failures counted against ``key`` and not yet expired (a peek: counts nothing)."""
    return int(cache.get(_miss_key(scope, key)) or 0)


class Bucket:
    """A token bucket: ``burst`` at once, refilled at ``rate`` per second."""

    def __init__(self, burst: float, rate: float) -> None:
        self.capacity = burst
        self.tokens = burst
        self.rate = rate
        self.at = time.monotonic()

    def take(self) -> bool:
        t = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (t - self.at) * self.rate)
        self.at = t
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
