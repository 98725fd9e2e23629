from __future__ import annotations

import json

import pytest

from tests.conftest import BAD_INPUT, require_shared

EMAILS = BAD_INPUT / "emails"
FIXTURE_REFERENCE = "INQ-2025-000123"
FIXTURE_REQUESTER = "taro.todai@st.univ.example"
FIXTURE_CONFIRMATION_ID = "<inq-2025-000123.confirm@helpdesk.univ.example>"
DESK = "support@helpdesk.univ.example"


def expectations() -> list[dict]:
    path = EMAILS / "EXPECTATIONS.jsonl"
    if not path.exists():
        return []
    return [
        json.loads(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


@pytest.fixture
def shared_emails():
    """The shared hostile mails: skipped without them, failed under CI=true."""
    return require_shared(EMAILS)


@pytest.fixture
def mail_world(db, settings, categories):
    """The fixture world of ../shared/data/bad-input: our desk address, and inquiry
    INQ-2025-000123 of taro.todai whose confirmation had a known Message-ID."""
    from madoguchi.inquiries.actions import NewInquiry, do_create_inquiry
    from madoguchi.inquiries.models import Inquiry
    from madoguchi.mail.models import Mailbox, OutboundMail

    settings.DESK_ADDRESS = DESK
    settings.FALLBACK_ADDRESS = DESK
    settings.MAIL_DOMAIN = "helpdesk.univ.example"
    Mailbox.objects.create(address=DESK, triage_first=True)
    inquiry, _ = do_create_inquiry(
        NewInquiry(
            name="東大 太郎",
            email=FIXTURE_REQUESTER,
            subject="Zoom に入れません",
            body="入れません。",
        ),
        channel="form",
    )
    Inquiry.objects.filter(pk=inquiry.pk).update(
        reference=FIXTURE_REFERENCE, root_message_id=FIXTURE_CONFIRMATION_ID
    )
    OutboundMail.objects.filter(inquiry=inquiry).update(message_id=FIXTURE_CONFIRMATION_ID)
    inquiry.refresh_from_db()
    return inquiry
