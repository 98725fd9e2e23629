"""Every hostile mail in ../shared/data/bad-input/emails through the real ingest path,
checked against EXPECTATIONS.jsonl: inquiry created or not, threaded where, confirmation
mailed or not — and no exception, in bounded time."""

from __future__ import annotations

import time

import pytest

from madoguchi.inbound import ingest
from madoguchi.inquiries.models import Inquiry, Lane
from madoguchi.mail.models import InboundMessage, OutboundMail
from tests.conftest import shared_params
from tests.integration.mail.conftest import EMAILS, FIXTURE_REFERENCE, expectations

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shared_emails")]

CASES = expectations()


@pytest.mark.parametrize(
    "case", shared_params(CASES, path=EMAILS / "EXPECTATIONS.jsonl", ids=lambda c: c["file"])
)
def test_fixture(mail_world, case):
    raw = (EMAILS / case["file"]).read_bytes()
    expect = case["expect"]
    mails_before = OutboundMail.objects.count()
    started = time.monotonic()
    result = ingest.ingest(raw, mailbox_address="support@helpdesk.univ.example")
    elapsed = time.monotonic() - started
    limit = 5.0 if "1000" in case["file"] else 2.0
    assert elapsed < limit * 3, (
        f"took {elapsed:.1f}s"
    )  # generous on a loaded CI machine; the bench measures

    # The raw bytes are kept whatever happened.
    row = InboundMessage.objects.get(pk=result.inbound_id)
    assert ingest.raw_path(row.raw_sha256).read_bytes() == raw

    created = result.action == "created"
    if expect["creates_inquiry"] is True:
        assert created, result
    elif expect["creates_inquiry"] is False:
        assert not created, result

    threads_to = expect.get("threads_to")
    if threads_to == FIXTURE_REFERENCE:
        assert result.reference == FIXTURE_REFERENCE, result
    elif threads_to == "new" and expect["creates_inquiry"] is True:
        assert result.reference and result.reference != FIXTURE_REFERENCE
    elif threads_to is None:
        assert result.reference in (None,) or result.action == "ignored", result

    new_mails = OutboundMail.objects.count() - mails_before
    if expect["confirmation_mail"] is True:
        assert new_mails == 1, result
        mail = OutboundMail.objects.latest("id")
        assert mail.inquiry and mail.inquiry.reference == result.reference
        assert "\n" not in mail.subject and "\r" not in mail.subject
    elif expect["confirmation_mail"] is False:
        assert new_mails == 0, result
    if created:
        inquiry = Inquiry.objects.get(reference=result.reference)
        assert inquiry.lane == Lane.TRIAGE  # the fixture mailbox is faculty-triaged
        assert "\x00" not in inquiry.subject + inquiry.messages.get().body
        assert "\n" not in inquiry.subject


def test_fixture_inquiry_untouched_by_hijack(mail_world):
    before = mail_world.messages.count()
    result = ingest.ingest(
        (EMAILS / "thread-forged-tag-on-another-requesters-inquiry.eml").read_bytes()
    )
    assert result.action == "created"
    assert mail_world.messages.count() == before
    inquiry = Inquiry.objects.get(reference=result.reference)
    assert "possible_hijack" in inquiry.flags and inquiry.lane == Lane.TRIAGE
    confirmation = OutboundMail.objects.get(inquiry=inquiry)
    assert (
        FIXTURE_REFERENCE not in confirmation.body and mail_world.subject not in confirmation.body
    )


def test_valid_reply_is_appended_and_reopens(mail_world):
    from madoguchi.inquiries.models import MessageKind

    result = ingest.ingest((EMAILS / "thread-valid-reply-re-in-reply-to.eml").read_bytes())
    assert (result.action, result.reference) == ("appended", FIXTURE_REFERENCE)
    assert mail_world.messages.filter(kind=MessageKind.REQUESTER).count() == 2


def test_bounce_of_our_confirmation_marks_the_address(mail_world):
    result = ingest.ingest(
        (EMAILS / "dsn-rfc3464-permanent-failure-of-our-confirmation.eml").read_bytes()
    )
    assert result.reference == FIXTURE_REFERENCE
    mail_world.refresh_from_db()
    assert "requester_address_bounces" in mail_world.flags


def test_attachment_names_decoded(mail_world):
    result = ingest.ingest((EMAILS / "att-filename-rfc2231-rfc2047-japanese.eml").read_bytes())
    names = set(
        Inquiry.objects.get(reference=result.reference).attachments.values_list(
            "original_name", flat=True
        )
    )
    assert {"成績一覧.xlsx", "履修登録の控え.pdf", "シラバス.pdf"} <= names
    assert len(names) == 4


def test_exam_mail_is_accepted_and_marked(mail_world):
    result = ingest.ingest((EMAILS / "acl-exam-related-inquiry.eml").read_bytes())
    inquiry = Inquiry.objects.get(reference=result.reference)
    assert "exam_related" in inquiry.flags and inquiry.category.slug == "exam"


def test_cid_image_is_shown_inline_through_an_access_checked_route(
    mail_world, client, faculty, student
):
    import html as htmllib

    result = ingest.ingest(
        (EMAILS / "mime-nested-related-alternative-attachments-rfc822.eml").read_bytes()
    )
    inquiry = Inquiry.objects.get(reference=result.reference)
    [image] = inquiry.attachments.exclude(inline_type="")
    assert image.inline_type.startswith("image/") and image.content_id
    client.force_login(faculty)
    page = client.get(f"/console/i/{inquiry.reference}/").content.decode()
    url = f"/console/files/{image.pk}/inline/"
    assert htmllib.escape(f'src="{url}"') in page or f"src=&quot;{url}&quot;" in page
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == image.inline_type
    assert response["X-Content-Type-Options"] == "nosniff"
    # Not an inline image: never served through this route.
    other = inquiry.attachments.filter(inline_type="").first()
    if other is not None:
        assert client.get(f"/console/files/{other.pk}/inline/").status_code == 404
    # The inquiry is in faculty triage: student staff cannot fetch the image.
    client.force_login(student)
    assert client.get(url).status_code == 404
