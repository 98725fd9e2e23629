"""Reference numbers: short, unambiguous (Crockford base32), random so they leak no volume."""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_RE = re.compile(r"\bQ-([0-9A-HJKMNP-TV-Z]{8})\b")


def new_reference() -> str:
    return "Q-" + "".join(secrets.choice(ALPHABET) for _ in range(8))


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)
