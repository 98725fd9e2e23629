"""Mail leaves through the outbox: SMTP down does not lose the inquiry, and once SMTP
is back every mail goes out exactly once."""

from __future__ import annotations

import json
import time

import pytest

from madoguchi.core.clock import now
from madoguchi.inquiries.models import Inquiry
from madoguchi.mail import outbox
from madoguchi.mail.models import OutboundMail, OutboundStatus
from tests.conftest import free_port, start_smtp
from tests.integration.conftest import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp_down(settings):
    port = free_port()  # nothing listens here yet
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2
    settings.MAIL_RETRY_DELAYS = [1, 1, 1, 1, 1, 1]
    return port


def submit(client, n: int) -> str:
    payload = {
        "name": f"Requester {n}",
        "email": f"r{n}@example.ac.jp",
        "subject": f"subject {n}",
        "body": "body",
        "member_category": "staff",
        "lang": "en",
        "category": "other",
    }
    response = client.post(
        "/api/v1/inquiries", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()["reference"]


def test_smtp_down_then_back_delivers_exactly_once(client, categories, smtp_down, settings):
    references = [submit(client, n) for n in range(3)]
    assert Inquiry.objects.count() == 3  # accepted although SMTP is down
    run_tasks()
    mails = list(OutboundMail.objects.all())
    assert all(
        m.status == OutboundStatus.PENDING and m.attempts >= 1 and m.last_error for m in mails
    )

    controller, sink = start_smtp(port=smtp_down)
    try:
        time.sleep(1.1)  # the scheduled retry is now due
        run_tasks()
        received = sink.wait_for(3)
        assert sorted(m["To"] for m in received) == [f"r{n}@example.ac.jp" for n in range(3)]
        assert all(any(ref in m["Subject"] for ref in references) for m in received)
        assert set(OutboundMail.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}
        # Stray duplicate tasks and sweeps send nothing more.
        for mail in OutboundMail.objects.all():
            outbox.enqueue_delivery(mail.pk)
        outbox.retry_now()
        outbox.sweep(older_than_seconds=0)
        run_tasks()
        assert len(sink.wait_for(4, timeout=1)) == 3
    finally:
        controller.stop()


def test_gives_up_after_the_retry_schedule(client, categories, smtp_down, settings):
    settings.MAIL_RETRY_DELAYS = [0, 0]
    submit(client, 1)
    for _ in range(4):
        run_tasks()
    mail = OutboundMail.objects.get()
    assert mail.status == OutboundStatus.FAILED and mail.attempts == 3


def test_a_retry_waits_for_its_time(client, categories, smtp_down, settings):
    settings.MAIL_RETRY_DELAYS = [3600]
    submit(client, 1)
    run_tasks()
    mail = OutboundMail.objects.get()
    assert mail.attempts == 1 and mail.next_attempt_at > now()
    outbox.deliver(mail.pk)  # too early: nothing happens
    mail.refresh_from_db()
    assert mail.attempts == 1


def test_a_claimed_mail_is_not_sent_twice(client, categories, smtp_settings):
    submit(client, 1)
    mail = OutboundMail.objects.get()
    OutboundMail.objects.filter(pk=mail.pk).update(claimed_until=now().replace(year=now().year + 1))
    assert outbox.deliver(mail.pk) == OutboundStatus.PENDING
    assert smtp_settings.wait_for(1, timeout=0.5) == []


def test_header_injection_through_fields_adds_no_header(client, smtp_settings):
    from madoguchi.inquiries import actions

    inquiry, _ = actions.do_create_inquiry(
        actions.NewInquiry(
            name="Eve\r\nBcc: victim@evil.example",
            email="eve@example.ac.jp",
            subject="hi\r\nBcc: victim@evil.example\r\nX-Injected: 1",
            body="body\r\nBcc: victim@evil.example",
        ),
        channel="api",
    )
    run_tasks()
    [mail] = smtp_settings.wait_for(1)
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert smtp_settings.envelopes[0][1] == ["eve@example.ac.jp"]
    assert "\n" not in mail["Subject"] and inquiry.reference in mail["Subject"]
