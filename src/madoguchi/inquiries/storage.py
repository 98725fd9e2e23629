"""Attachment files on disk: random stored names inside the upload directory, so a
requester's file name can never choose a path. Names are kept only for display."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings

from madoguchi.core.files import open_private, private_dir

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\\u202a-\u202e\u2066-\u2069\u200e\u200f]")


class Upload(Protocol):
    name: str
    size: int

    def chunks(self, chunk_size: int | None = ...) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class StoredFile:
    original_name: str
    stored_name: str
    content_type: str
    size: int
    sha256: str


def display_name(name: str) -> str:
    """A file name safe to show and to put in Content-Disposition: no path parts, no
    control or bidi characters, bounded length."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        name = "attachment"
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:140] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:150]
    return name


def upload_dir() -> Path:
    return private_dir(settings.UPLOAD_DIR)


def path_of(stored_name: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", stored_name):
        raise ValueError("bad stored name")
    return upload_dir() / stored_name


def delete_stored(stored_name: str) -> None:
    """Remove a stored file (gone already is fine: the row is what is deleted next)."""
    path_of(stored_name).unlink(missing_ok=True)


def sha256_of(upload: Upload) -> str:
    """The digest of an upload's content, read without keeping it (uploads re-read from
    the start on every ``chunks()``)."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    return digest.hexdigest()


def store_upload(upload: Upload) -> StoredFile:
    stored = secrets.token_urlsafe(24)
    digest = hashlib.sha256()
    size = 0
    target = upload_dir() / stored
    with open_private(target, "xb") as out:
        for chunk in upload.chunks():
            size += len(chunk)
            digest.update(chunk)
            out.write(chunk)
    name = display_name(upload.name)
    # The declared type is the client's claim; we serve by our own guess and always as
    # an attachment with nosniff, so a disguised HTML file is never rendered.
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return StoredFile(name, stored, guessed, size, digest.hexdigest())


class BytesFile:
    """Bytes already in memory (a mail attachment) as an upload-like object."""

    def __init__(
        self, name: str, data: bytes, *, content_id: str = "", inline_type: str = ""
    ) -> None:
        self.name = name
        self.size = len(data)
        self._data = data
        # For a raster image shown inside an HTML mail: its Content-ID and its type.
        self.content_id = content_id
        self.inline_type = inline_type

    def chunks(self, chunk_size: int = 1 << 20):  # noqa: ANN201
        for start in range(0, len(self._data), chunk_size):
            yield self._data[start : start + chunk_size]
