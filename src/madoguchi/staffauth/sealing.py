"""Sealing TOTP secrets at rest: AES-256-GCM with a key derived from ``SECRET_KEY``
(HKDF-SHA256, its own label), the user's id as associated data. A database dump alone
reveals no secret, and a sealed secret copied onto another account does not open.

The cost is that changing ``SECRET_KEY`` would void every enrolment; keys listed in
``SECRET_KEY_FALLBACKS`` still open what they sealed (Django's own rotation setting), and
``reseal`` is what a rotation would run. Recovery codes are HMACs under a key derived the
same way (they need checking, never reading)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

VERSION = "v1"


class SealError(Exception):
    """The sealed value does not open with any of the desk's keys."""


def derive_key(label: str, secret_key: str | None = None) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"madoguchi",
        info=label.encode("ascii"),
    ).derive((secret_key if secret_key is not None else settings.SECRET_KEY).encode("utf-8"))


def keys(label: str) -> Iterator[bytes]:
    """The key for ``label`` from ``SECRET_KEY``, then from each of its fallbacks."""
    yield derive_key(label)
    for fallback in getattr(settings, "SECRET_KEY_FALLBACKS", ()):
        yield derive_key(label, fallback)


def seal(plain: str, *, owner: int, label: str = "totp-secret") -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(derive_key(label)).encrypt(nonce, plain.encode("utf-8"), str(owner).encode())
    return f"{VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(value: str, *, owner: int, label: str = "totp-secret") -> str:
    version, _, payload = value.partition(":")
    if version != VERSION:
        raise SealError("unknown format")
    try:
        raw = base64.urlsafe_b64decode(payload.encode("ascii"))
    except ValueError:
        raise SealError("not base64") from None
    for key in keys(label):
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], str(owner).encode()).decode("utf-8")
        except InvalidTag:
            continue
    raise SealError("does not open with SECRET_KEY or its fallbacks")
