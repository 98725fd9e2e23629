"""The data directory is the desk's alone: files written by the real paths (an upload, a
raw mail, the mail spool, the SQLite database) have no group or other permission bits,
even when the process was started with a permissive umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.inquiries.models import Attachment
from tests.conftest import REPO
from tests.integration.mail.test_ingest import message
from tests.integration.test_intake import form_data

pytestmark = pytest.mark.django_db(transaction=True)


def loose_bits(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode) & 0o077


def assert_private_tree(root: Path) -> list[Path]:
    """Every directory and file under ``root`` (and ``root``) is owner-only."""
    seen = [root, *root.rglob("*")]
    loose = {str(p.relative_to(root.parent)): oct(loose_bits(p)) for p in seen if loose_bits(p)}
    assert loose == {}
    return seen


@pytest.fixture
def careless_umask():
    """The umask a service manager or shell commonly leaves: files 0644, dirs 0755."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_an_upload_is_owner_only(client, categories, settings, careless_umask):
    response = client.post(
        "/form/", {**form_data(), "attachments": [SimpleUploadedFile("a.txt", b"hello")]}
    )
    assert response.status_code == 302
    stored = settings.UPLOAD_DIR / Attachment.objects.get().stored_name
    assert stored.read_bytes() == b"hello"
    assert stored in assert_private_tree(settings.UPLOAD_DIR)


def test_a_raw_mail_is_owner_only(settings, tmp_path, careless_umask):
    from madoguchi.inbound import ingest

    settings.DATA_DIR = tmp_path / "data"
    row, created = ingest.store_raw(message(1))
    assert created
    raw = ingest.raw_path(row.raw_sha256)
    assert raw in assert_private_tree(tmp_path / "data" / "mail-raw")


def test_a_fresh_desk_run_by_the_cli_writes_only_owner_only_files(tmp_path):
    """The CLI in its own processes, started with umask 022 and no SMTP server: migrate,
    take a mail from a pipe, send the confirmation to the spool. The data directory, the
    SQLite database (and its WAL files), the secret key, the raw mail and the spooled
    confirmation (with its thread link) all come out owner-only."""
    data = tmp_path / "fresh"
    env = {
        **os.environ,
        "MADOGUCHI_DATA_DIR": str(data),
        "MADOGUCHI_DESK_ADDRESS": "support@helpdesk.univ.example",
    }
    for key in ("DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "SECRET_KEY", "MADOGUCHI_SECRET_KEY"):
        env.pop(key, None)

    def cli(*args: str, stdin: bytes = b"") -> None:
        subprocess.run(
            [sys.executable, "-m", "madoguchi", *args],
            input=stdin,
            env=env,
            check=True,
            capture_output=True,
            cwd=REPO,
            timeout=120,
            preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - no threads in the child yet
        )

    cli("migrate")
    cli("mail", "ingest", "--mailbox", "support@helpdesk.univ.example", stdin=message(1))
    cli("worker", "--once")
    seen = assert_private_tree(data)
    names = {p.name for p in seen}
    assert {"madoguchi.sqlite3", "secret_key", "mail-raw", "mail-spool"} <= names
    spooled = [p for p in (data / "mail-spool").iterdir() if p.is_file()]
    assert spooled and "/t/" in spooled[0].read_text(encoding="utf-8", errors="replace")
