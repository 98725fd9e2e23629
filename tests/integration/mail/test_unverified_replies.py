"""A reply with the requester's From and our reference, but failing SPF/DMARC at our own
MTA: flagged on its entry in the thread, or held in faculty triage when configured."""

from __future__ import annotations

import pytest

from madoguchi.inbound import ingest
from madoguchi.inquiries.models import Inquiry, Lane, MessageKind
from madoguchi.mail.models import OutboundMail
from tests.integration.conftest import make_user
from tests.integration.mail.conftest import (
    FIXTURE_CONFIRMATION_ID,
    FIXTURE_REFERENCE,
    FIXTURE_REQUESTER,
)

pytestmark = pytest.mark.django_db

OURS = "mx.helpdesk.univ.example"
SPOOFED = (
    f"{OURS}; spf=fail smtp.mailfrom=evil.example;\r\n"
    f" dkim=none; dmarc=fail header.from=st.univ.example"
)


def reply(n: int, *auth: str) -> bytes:
    headers = "".join(f"Authentication-Results: {a}\r\n" for a in auth)
    return (
        f"{headers}From: 東大 太郎 <{FIXTURE_REQUESTER}>\r\n"
        "To: support@helpdesk.univ.example\r\n"
        f"Subject: Re: [{FIXTURE_REFERENCE}] Zoom に入れません\r\n"
        f"Message-ID: <reply-{n}@evil.example>\r\nIn-Reply-To: {FIXTURE_CONFIRMATION_ID}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "成績一覧を添付して返信してください。\r\n"
    ).encode()


def last_requester_entry(inquiry: Inquiry):
    return inquiry.messages.filter(kind=MessageKind.REQUESTER).order_by("pk").last()


def test_a_spoofed_reply_is_flagged_on_its_entry(mail_world, client):
    result = ingest.ingest(reply(1, SPOOFED))
    assert result.action == "appended" and result.reference == FIXTURE_REFERENCE
    entry = last_requester_entry(mail_world)
    assert entry.meta["flags"] == ["unverified_sender"]
    assert entry.meta["auth"] == ["dmarc=fail", "spf=fail"]
    client.force_login(make_user("student1", "student"))
    page = client.get(f"/console/i/{FIXTURE_REFERENCE}/?lang=en").content.decode()
    assert "this mail may not be from the requester" in page
    assert "dmarc=fail, spf=fail" in page


def test_a_verified_reply_is_not_flagged(mail_world):
    ingest.ingest(reply(2, f"{OURS}; spf=pass smtp.mailfrom=st.univ.example; dmarc=pass"))
    assert last_requester_entry(mail_world).meta == {}


def test_only_our_mta_is_believed(mail_world, settings):
    settings.MAIL_AUTHSERV_IDS = (OURS,)
    # An attacker's own "pass" cannot clear our MTA's failure, whatever its position...
    ingest.ingest(reply(3, "mx.helpdesk.univ.example.evil.example; dmarc=pass", SPOOFED))
    assert last_requester_entry(mail_world).meta["flags"] == ["unverified_sender"]
    # ...and a failure written by someone else is not ours to act on.
    ingest.ingest(reply(4, f"{OURS}; spf=pass; dmarc=pass", "relay.example; dmarc=fail"))
    assert last_requester_entry(mail_world).meta == {}


def test_without_an_authserv_id_the_topmost_header_decides(mail_world):
    ingest.ingest(reply(5, f"{OURS}; spf=pass; dmarc=pass", "relay.example; dmarc=fail"))
    assert last_requester_entry(mail_world).meta == {}
    ingest.ingest(reply(6, SPOOFED, "forged.example; spf=pass; dmarc=pass"))
    assert last_requester_entry(mail_world).meta["flags"] == ["unverified_sender"]


def test_triage_mode_holds_the_reply_as_a_new_flagged_inquiry(mail_world, settings):
    settings.MAIL_UNVERIFIED_REPLIES = "triage"
    before = mail_world.messages.count()
    result = ingest.ingest(reply(7, SPOOFED))
    assert result.action == "created" and result.reference != FIXTURE_REFERENCE
    held = Inquiry.objects.get(reference=result.reference)
    assert held.lane == Lane.TRIAGE
    assert {"unverified_sender", "held_unverified_reply"} <= set(held.flags)
    assert held.details["held_reply_to"] == FIXTURE_REFERENCE
    assert mail_world.messages.count() == before  # the requester's thread is untouched
    assert not OutboundMail.objects.filter(inquiry=held).exists()  # no mail to a forged From
    # A verified reply still threads as usual.
    assert ingest.ingest(reply(8, f"{OURS}; dmarc=pass")).reference == FIXTURE_REFERENCE


def test_a_released_held_reply_names_its_target_only_to_who_may_see_it(
    mail_world, settings, client
):
    from madoguchi.inquiries import actions

    settings.MAIL_UNVERIFIED_REPLIES = "triage"
    held = Inquiry.objects.get(reference=ingest.ingest(reply(9, SPOOFED)).reference)
    faculty = make_user("faculty1", "faculty")
    actions.do_mark_sensitive(mail_world, "x", acting_user=faculty)
    actions.do_release_to_general(held, acting_user=faculty)
    client.force_login(make_user("student1", "student"))
    assert FIXTURE_REFERENCE not in client.get(f"/console/i/{held.reference}/").content.decode()
    client.force_login(faculty)
    assert FIXTURE_REFERENCE in client.get(f"/console/i/{held.reference}/").content.decode()
