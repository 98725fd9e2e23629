"""Mail a requester can make the desk send: capped per recipient across every channel
(form, API, mail, chat continued by mail), recorded when withheld, never capping staff;
and nothing a requester typed becomes a link in our mail."""

from __future__ import annotations

import json
import re

import pytest

from madoguchi.chat import actions as chat_actions
from madoguchi.inbound import ingest
from madoguchi.inquiries import actions
from madoguchi.inquiries.models import Inquiry, MessageKind
from madoguchi.mail.models import OutboundMail
from madoguchi.privacy.models import AuditEvent
from tests.integration.test_intake import api_payload

from .conftest import make_user

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.ac.jp"
# What mail clients autolink in plain text.
LINKABLE = re.compile(
    r"(?i)(\bhttps?://|\bwww\.|\bmailto:|\b[\w-]+\.(example|com|jp|net|org)\b|"
    r"\b\d{1,3}(\.\d{1,3}){3}\b)"
)


def confirmations(address: str = VICTIM) -> int:
    return OutboundMail.objects.filter(to=address, kind__startswith="confirmation").count()


def new(email: str = VICTIM, **extra) -> Inquiry:
    values = {"name": "山田 太郎", "subject": "Wi-Fi", "body": "つながりません。", **extra}
    inquiry, created = actions.do_create_inquiry(
        actions.NewInquiry(email=email, **values), channel="form"
    )
    assert created
    return inquiry


def test_thirty_api_posts_give_the_victim_three_confirmations(client, categories, settings):
    settings.MAIL_CONFIRMATIONS_PER_HOUR = 3
    settings.INTAKE_RATE_LIMIT = "0/60"
    for i in range(30):
        response = client.post(
            "/api/v1/inquiries",
            json.dumps(api_payload(email=VICTIM, subject=f"MFA {i}")),
            content_type="application/json",
        )
        assert response.status_code == 201
    assert Inquiry.objects.filter(requester_email=VICTIM).count() == 30  # nothing lost
    assert confirmations() == 3
    assert AuditEvent.objects.filter(verb="mail.withheld").count() == 27
    withheld = Inquiry.objects.filter(requester_email=VICTIM).order_by("pk").last()
    [notice] = withheld.messages.filter(kind=MessageKind.SYSTEM)
    assert notice.meta["flags"] == ["mail_withheld"]


def test_the_limit_is_one_across_form_mail_and_chat(db, categories, settings):
    settings.MAIL_CONFIRMATIONS_PER_HOUR = 3
    new(subject="one")
    ingest.ingest(
        (
            f"From: Victim <{VICTIM}>\r\nTo: support@helpdesk.localhost\r\nSubject: two\r\n"
            "Message-ID: <two@example.ac.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "\r\nhelp\r\n"
        ).encode()
    )
    assert confirmations() == 2
    chat = chat_actions.do_start("Zoomにログインできない", client_id="cid-limit-000001", lang="ja")
    chat_actions.do_continue_by_mail(chat.conversation, VICTIM, "Victim")
    assert confirmations() == 3
    for i in range(20):
        other = chat_actions.do_start(
            "Zoomにログインできない", client_id=f"cid-limit-{i + 2:06d}", lang="ja"
        )
        chat_actions.do_continue_by_mail(other.conversation, VICTIM.upper(), "Victim")
    new(subject="five")
    assert confirmations() == 3
    assert AuditEvent.objects.filter(verb="mail.withheld").count() == 21
    # Another address is not affected.
    new(email="someone@example.ac.jp")
    assert confirmations("someone@example.ac.jp") == 1


def test_an_active_chat_continued_by_mail_again_is_capped_not_a_crash(db, categories, settings):
    import datetime as dt

    from madoguchi.chat.models import OperatorStatus
    from madoguchi.core.clock import frozen

    settings.MAIL_CONFIRMATIONS_PER_HOUR = 3
    operator = make_user("student1", "student")
    OperatorStatus.objects.create(user=operator, available=True, max_chats=3)
    with frozen(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)):  # Tuesday 10:00 in Tokyo
        turn = chat_actions.do_start(
            "Zoomにログインできない", client_id="cid-active-000001", lang="ja"
        )
        chat_actions.do_request_person(turn.conversation)
        chat_actions.do_accept(operator, turn.conversation.inquiry.reference)
        for _ in range(5):  # the chat stays live: the requester may leave an address again
            chat_actions.do_continue_by_mail(turn.conversation, VICTIM, "Victim")
        chat_actions.do_continue_by_mail(turn.conversation, "other@example.ac.jp", "Victim")
    assert confirmations() == 3
    assert confirmations("other@example.ac.jp") == 1


def test_the_mail_channel_records_what_it_withholds(db, categories, settings):
    settings.MAIL_CONFIRMATIONS_PER_HOUR = 1
    new(subject="first")
    result = ingest.ingest(
        (
            f"From: {VICTIM}\r\nTo: support@helpdesk.localhost\r\nSubject: again\r\n"
            "Message-ID: <again@example.ac.jp>\r\nContent-Type: text/plain\r\n\r\nhelp\r\n"
        ).encode()
    )
    inquiry = Inquiry.objects.get(reference=result.reference)
    assert not inquiry.outbound_mails.exists()
    assert inquiry.messages.filter(kind=MessageKind.SYSTEM, meta__flags=["mail_withheld"]).exists()


def test_staff_replies_are_never_capped(db, categories, settings):
    settings.MAIL_CONFIRMATIONS_PER_HOUR = 1
    student = make_user("student1", "student")
    inquiries = [new(subject=f"s{i}") for i in range(3)]
    for inquiry in inquiries:
        for n in range(3):
            actions.do_reply(inquiry, f"回答 {n}", acting_user=student)
    assert OutboundMail.objects.filter(to=VICTIM, kind="reply").count() == 9


def test_withheld_notice_shows_in_the_console_thread(client, categories, settings):
    settings.MAIL_CONFIRMATIONS_PER_HOUR = 0
    inquiry = new()
    client.force_login(make_user("student1", "student"))
    page = client.get(f"/console/i/{inquiry.reference}/?lang=en").content.decode()
    assert "Confirmation not sent: limit of mails to this address reached" in page


def test_requester_text_is_never_a_link_in_our_mail(db, categories, settings):
    student = make_user("student1", "student")
    inquiry = new(
        name="Security team: your account expires, sign in at evil.example/login today "
        "or lose your mail",
        subject="Re: [重要] https://evil.example/login www.evil.example mailto:boss@evil.example",
    )
    actions.do_reply(inquiry, "See https://www.univ.example/help", acting_user=student)
    confirmation = OutboundMail.objects.get(inquiry=inquiry, kind="confirmation")
    reply = OutboundMail.objects.get(inquiry=inquiry, kind="reply")
    for mail in (confirmation, reply):
        requester_parts = mail.subject + mail.body.replace(inquiry.reference, "")
        requester_parts = requester_parts.replace("https://www.univ.example/help", "")
        requester_parts = re.sub(re.escape(settings.SITE_URL) + r"/\S+", "", requester_parts)
        assert not LINKABLE.search(requester_parts), requester_parts
    assert "hxxps://evil[.]example/login" in confirmation.subject
    greeting = confirmation.body.splitlines()[0]  # "$name 様", the name cut at 50 characters
    assert greeting.startswith("Security team: your account expires, sign in at")
    assert greeting.endswith("…様") and len(greeting) == 51
    # What staff wrote is theirs: the link stays.
    assert "https://www.univ.example/help" in reply.body
