"""Where to send someone back to after a step (sign-in, a form): a path on this desk only,
never another site (no ``//host``, ``/\\host``, scheme or host), or the default."""

from __future__ import annotations

from typing import Any

from django.utils.http import url_has_allowed_host_and_scheme


def local_path(value: Any, default: str = "/") -> str:
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(value, allowed_hosts=None)
    ):
        return value[:500]
    return default
