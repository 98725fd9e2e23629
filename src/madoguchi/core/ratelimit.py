"""A fixed-window rate limit in the cache (local memory embedded, Redis when scaled)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from madoguchi.core.clock import now


def client_address(request: HttpRequest) -> str:
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            # The right-most entry is the one our own proxy appended; those to its left
            # were sent by the client and can be anything.
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


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
