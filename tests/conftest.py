"""Shared fixtures: a real SMTP server (aiosmtpd) on loopback, staff of each tier made
through the real models, the shared hostile test material read from ../shared."""

from __future__ import annotations

import json
import os
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (MADOGUCHI_TEST_SHARED points elsewhere, e.g. at a missing
# folder to check that the suite skips cleanly without it).
SHARED = Path(os.environ.get("MADOGUCHI_TEST_SHARED") or REPO.parent / "shared")
BAD_INPUT = SHARED / "data" / "bad-input"
IN_CI = os.environ.get("CI") == "true"


def pytest_configure(config):
    from django.conf import settings

    # Password hashing is not under test; the default costs ~0.3 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        # Each run its own test database: two runs on one server never collide.
        database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_{os.getpid()}"


def pytest_report_header(config):
    if SHARED.is_dir():
        return f"shared test material: {SHARED}"
    return f"shared test material not found at {SHARED}: the tests that read it are skipped" + (
        " (CI=true: they fail instead)" if IN_CI else ""
    )


def require_shared(path: Path) -> Path:
    """A file or folder of ../shared, inside a test or fixture: skipped with the reason
    when it is absent, failed under CI=true (where it must be there)."""
    if path.exists():
        return path
    reason = f"shared test material not found at {path}"
    if IN_CI:
        pytest.fail(reason + " (required under CI=true)")
    pytest.skip(reason)


def shared_params(rows: list, *, path: Path, ids=None) -> list:
    """Parameters read from ../shared at collection time. Without the material, one
    parameter marked skip carries the reason (under CI=true collection fails instead)."""
    if path.exists():
        return [pytest.param(r, id=ids(r) if ids else None) for r in rows]
    reason = f"shared test material not found at {path}"
    if IN_CI:
        raise RuntimeError(reason + " (required under CI=true)")
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="shared-missing")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HOSTILE_STRINGS = BAD_INPUT / "strings" / "hostile-strings.jsonl"


def hostile_strings(*, collecting: bool = False) -> list[dict]:
    """The shared hostile strings. Inside a test, skips without them (fails under CI);
    at collection (``collecting=True``) returns [] so that callers wrap the rows with
    ``shared_params``."""
    path = HOSTILE_STRINGS
    if not path.exists():
        if collecting:
            return []
        require_shared(path)
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        row = json.loads(line)
        if row.get("payload") is None and row.get("generate"):
            g = row["generate"]
            row["payload"] = g.get("prefix", "") + g["unit"] * g["count"] + g.get("suffix", "")
        rows.append(row)
    return rows


@dataclass
class SmtpSink:
    """Messages received by the test SMTP server, as parsed EmailMessage objects."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        with self.sink.lock:
            self.sink.messages.append(msg)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def start_smtp(port: int | None = None):
    from aiosmtpd.controller import Controller

    sink = SmtpSink("127.0.0.1", port or free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    return controller, sink


@pytest.fixture
def smtp_server():
    controller, sink = start_smtp()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.SITE_URL = "http://testserver"


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from madoguchi.sla import schedules, service

    def clear():
        cache.clear()
        service.forget_policies()  # process caches: each test has its own database rows
        schedules.forget()

    clear()
    yield
    clear()
