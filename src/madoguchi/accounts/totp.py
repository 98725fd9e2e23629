"""Time-based one-time passwords (RFC 6238 over RFC 4226): 30-second steps, 6 digits,
HMAC-SHA1 — what every authenticator app speaks. Pure: no Django, no clock of its own
(callers pass the time), so it is tested against the RFC's vectors in milliseconds.

A code is accepted for the current step and one step either side (clock drift), and only
for a step later than the last one accepted (``after``): a code seen once, in a shoulder
surf or a phishing relay, cannot be used again in its window."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1


def new_secret() -> str:
    """160 random bits (RFC 4226's recommended length) in base32, without padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def step_at(timestamp: float) -> int:
    return int(timestamp // STEP_SECONDS)


def code_for_step(secret: str, step: int, *, digest: str = "sha1", digits: int = DIGITS) -> str:
    mac = hmac.new(_key(secret), struct.pack(">Q", step), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def matching_step(secret: str, code: str, timestamp: float, *, after: int = -1) -> int | None:
    """The step whose code ``code`` is, within the drift around ``timestamp`` and later
    than ``after``; None when it matches none of them."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    now_step = step_at(timestamp)
    found = None
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        # Every candidate is compared (no early exit), in constant time.
        if hmac.compare_digest(code_for_step(secret, step), code) and step > after:
            found = step
    return found


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def grouped(secret: str, size: int = 4) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


# Recovery codes: 16 characters of Crockford's base32 (80 bits), shown in four groups.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalise_recovery_code(typed: str) -> str:
    """What was typed, as stored: no spaces or hyphens, upper case, O read as 0 and I/L
    as 1 (Crockford), so a code copied from paper by hand still matches."""
    cleaned = "".join(ch for ch in typed.upper() if ch not in " -\u2010\u2011\u2212\u30fc")
    return cleaned.translate(_READ_AS)


def hash_recovery_code(normalised: str, key: bytes) -> str:
    return hmac.new(key, normalised.encode("ascii", "replace"), hashlib.sha256).hexdigest()
