"""The three ways mail arrives, each against a real peer: a pipe (the CLI in a separate
process), the LMTP/SMTP receiver (Python's smtplib client), and IMAP (Debian's Dovecot)."""

from __future__ import annotations

import imaplib
import json
import os
import shutil
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from madoguchi.inquiries.models import Inquiry
from madoguchi.mail.models import InboundMessage, Mailbox
from tests.conftest import REPO, free_port
from tests.integration.mail.test_ingest import message

realtime = pytest.mark.django_db(transaction=True)


def test_pipe_through_the_cli(tmp_path):
    env = {
        **os.environ,
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "MADOGUCHI_DESK_ADDRESS": "support@helpdesk.univ.example",
    }
    for key in ("DATABASE_URL", "REDIS_URL"):
        env.pop(key, None)
    cli = [sys.executable, "-m", "madoguchi"]
    subprocess.run(
        [*cli, "migrate"], env=env, check=True, capture_output=True, cwd=REPO, timeout=120
    )
    run = lambda raw: subprocess.run(  # noqa: E731
        [*cli, "mail", "ingest", "--mailbox", "support@helpdesk.univ.example"],
        input=raw,
        env=env,
        capture_output=True,
        cwd=REPO,
        timeout=60,
    )
    first = run(message(1))
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["action"] == "created" and out["reference"].startswith("Q-") and out["reason"]
    again = json.loads(run(message(1)).stdout)
    assert again == {
        "action": "ignored",
        "reference": out["reference"],
        "reason": "duplicate delivery",
    }
    empty = run(b"")
    assert empty.returncode == 0 and json.loads(empty.stdout)["action"] == "rejected"
    auto = run(message(2, extra="Auto-Submitted: auto-replied\r\n"))
    assert json.loads(auto.stdout)["action"] == "ignored"


@realtime
@pytest.mark.parametrize("lmtp", [True, False], ids=["lmtp", "smtp"])
def test_receiver(mail_world, lmtp):
    from madoguchi.inbound.receiver import make_controller

    port = free_port()
    controller = make_controller("127.0.0.1", port, lmtp=lmtp)
    controller.start()
    try:
        client = smtplib.LMTP("127.0.0.1", port) if lmtp else smtplib.SMTP("127.0.0.1", port)
        with client:
            refused = client.sendmail(
                "hanako@st.univ.example", ["support@helpdesk.univ.example"], message(11)
            )
            assert refused == {}
            client.sendmail(
                "hanako@st.univ.example", ["support@helpdesk.univ.example"], message(11)
            )
    finally:
        controller.stop()
    assert Inquiry.objects.filter(channel="mail").count() == 1
    assert InboundMessage.objects.count() == 1


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory):
    from tests.integration.mail.dovecot import DOVECOT, Dovecot

    if not shutil.which(DOVECOT) and not os.path.exists(DOVECOT):
        if os.environ.get("CI") == "true":
            pytest.fail("dovecot is not installed (scripts/test installs dovecot-imapd)")
        pytest.skip("dovecot is not installed: apt-get install dovecot-imapd")
    import tempfile

    # Dovecot's own processes run as the dovecot user: its folder must be reachable for
    # them, which pytest's private temporary folders are not.
    root = Path(tempfile.mkdtemp(prefix="madoguchi-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root, free_port())
    server.start({"support": "imap-secret"})
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@realtime
def test_imap_fetch_stores_processes_then_moves(mail_world, dovecot, monkeypatch):
    from madoguchi.inbound import imap

    monkeypatch.setenv("MADOGUCHI_TEST_IMAP_SECRET", "imap-secret")
    Mailbox.objects.filter(address="support@helpdesk.univ.example").update(
        transport=Mailbox.Transport.IMAP,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security=Mailbox.Security.NONE,
        imap_username="support",
        imap_secret_env="MADOGUCHI_TEST_IMAP_SECRET",
        imap_processed_folder="Processed",
    )
    peer = imaplib.IMAP4("127.0.0.1", dovecot.port)
    peer.login("support", "imap-secret")
    peer.create("Processed")
    for raw in (message(21), message(22), message(21)):
        peer.append("INBOX", None, None, raw)

    [report] = imap.fetch_all()
    assert (report.fetched, report.stored, report.errors) == (3, 3, 0)
    assert Inquiry.objects.filter(channel="mail").count() == 2
    peer.select("INBOX")
    assert peer.uid("SEARCH", None, "ALL")[1] == [b""]
    peer.select("Processed")
    assert len(peer.uid("SEARCH", None, "ALL")[1][0].split()) == 3
    # A second pass finds nothing new and changes nothing.
    [report] = imap.fetch_all()
    assert report.fetched == 0
    assert Inquiry.objects.filter(channel="mail").count() == 2
    peer.logout()


@realtime
def test_imap_wrong_password_is_reported_not_raised(mail_world, dovecot, monkeypatch):
    from madoguchi.inbound import imap

    monkeypatch.setenv("MADOGUCHI_TEST_IMAP_SECRET", "wrong")
    Mailbox.objects.filter(address="support@helpdesk.univ.example").update(
        transport=Mailbox.Transport.IMAP,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security=Mailbox.Security.NONE,
        imap_username="support",
        imap_secret_env="MADOGUCHI_TEST_IMAP_SECRET",
    )
    [report] = imap.fetch_all()
    assert report.errors == 1 and report.stored == 0
