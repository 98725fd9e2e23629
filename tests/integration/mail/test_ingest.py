"""Nothing lost, nothing doubled, no loops: the ingest path's guarantees."""

from __future__ import annotations

import threading

import pytest

from madoguchi.inbound import ingest
from madoguchi.inquiries.models import Inquiry, Lane
from madoguchi.mail.models import InboundMessage, InboundStatus, OutboundMail

pytestmark = pytest.mark.django_db


def message(n: int = 1, *, sender: str = "hanako@st.univ.example", extra: str = "") -> bytes:
    return (
        f"From: Hanako <{sender}>\r\nTo: support@helpdesk.univ.example\r\nSubject: Wi-Fi {n}\r\n"
        f"Message-ID: <m{n}@st.univ.example>\r\nDate: Tue, 01 Apr 2025 09:00:00 +0900\r\n{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nWi-Fi につながりません。\r\n"
    ).encode()


def test_new_mail_to_the_fallback_address_is_faculty_triaged(mail_world):
    result = ingest.ingest(message(), mailbox_address="support@helpdesk.univ.example")
    inquiry = Inquiry.objects.get(reference=result.reference)
    assert inquiry.lane == Lane.TRIAGE and inquiry.channel == "mail"
    assert (
        inquiry.requester_email == "hanako@st.univ.example" and inquiry.requester_name == "Hanako"
    )
    confirmation = OutboundMail.objects.get(inquiry=inquiry)
    assert confirmation.in_reply_to == "<m1@st.univ.example>"


def test_mailbox_without_triage_goes_to_student_staff(mail_world):
    from madoguchi.mail.models import Mailbox

    Mailbox.objects.create(address="help@helpdesk.univ.example", triage_first=False)
    result = ingest.ingest(message(), mailbox_address="help@helpdesk.univ.example")
    assert Inquiry.objects.get(reference=result.reference).lane == Lane.GENERAL


def test_same_bytes_twice_and_redelivery_with_other_trace_headers(mail_world):
    first = ingest.ingest(message())
    again = ingest.ingest(message())
    redelivered = ingest.ingest(b"Received: from relay2\r\n" + message())
    assert first.action == "created"
    assert again.action == "ignored" and again.reference == first.reference
    assert redelivered.action == "ignored" and redelivered.reference == first.reference
    assert Inquiry.objects.filter(channel="mail").count() == 1
    assert OutboundMail.objects.filter(inquiry__reference=first.reference).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_deliveries_make_one_inquiry(mail_world):
    raw = message(7)
    results, errors = [], []

    def deliver():
        from django.db import connection

        try:
            results.append(ingest.ingest(raw))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.action for r in results) == ["created"] + ["ignored"] * 9
    assert Inquiry.objects.filter(channel="mail").count() == 1
    assert InboundMessage.objects.count() == 1


def test_crash_after_storing_is_recovered(mail_world, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(ingest, "_decide", boom)
    result = ingest.ingest(message(3))
    assert result.action == "ignored" and "retried" in result.reason
    row = InboundMessage.objects.get()
    assert (
        row.status == InboundStatus.RECEIVED and Inquiry.objects.filter(channel="mail").count() == 0
    )
    monkeypatch.undo()
    assert ingest.recover_pending(older_than_seconds=0) == 1
    row.refresh_from_db()
    assert row.status == InboundStatus.PROCESSED and row.action == "created"
    assert Inquiry.objects.filter(channel="mail").count() == 1


def test_a_message_that_always_fails_is_dead_lettered_once(mail_world, monkeypatch):
    monkeypatch.setattr(ingest, "_decide", lambda *a, **k: 1 / 0)
    ingest.ingest(message(4))
    for _ in range(5):
        ingest.recover_pending(older_than_seconds=0)
    row = InboundMessage.objects.get()
    assert row.status == InboundStatus.DEAD and row.attempts == ingest.MAX_PROCESS_ATTEMPTS


def test_a_hundred_mails_a_minute_get_at_most_the_confirmation_limit(mail_world, settings):
    for n in range(100):
        ingest.ingest(message(100 + n, sender="flood@st.univ.example"))
    assert Inquiry.objects.filter(requester_email="flood@st.univ.example").count() == 100
    assert (
        OutboundMail.objects.filter(to="flood@st.univ.example").count()
        == settings.MAIL_CONFIRMATIONS_PER_HOUR
    )


def test_autoresponder_chain_delivered_100_times(mail_world, shared_emails):
    from tests.integration.mail.conftest import EMAILS

    raw = (EMAILS / "loop-misbehaving-autoresponder-chain.eml").read_bytes()
    before = OutboundMail.objects.count()
    for n in range(100):
        ingest.ingest(raw.replace(b"Message-ID: <", f"Message-ID: <n{n}.".encode(), 1))
    assert OutboundMail.objects.count() == before


def test_reply_by_reference_tag_from_the_requester(mail_world):
    raw = (
        "From: taro.todai@st.univ.example\r\nTo: support@helpdesk.univ.example\r\n"
        "Subject: Re: [#INQ-2025-000123] Zoom\r\nMessage-ID: <r1@st.univ.example>\r\n\r\nまだです\r\n"
    ).encode()
    result = ingest.ingest(raw)
    assert (result.action, result.reference) == ("appended", "INQ-2025-000123")


def test_subject_alone_never_threads(mail_world):
    raw = (
        "From: taro.todai@st.univ.example\r\nTo: support@helpdesk.univ.example\r\n"
        f"Subject: Re: {mail_world.subject}\r\nMessage-ID: <r2@st.univ.example>\r\n\r\nまだです\r\n"
    ).encode()
    assert ingest.ingest(raw).action == "created"
