"""Mail as real servers deliver it (issue 16) through the real ingest path: the parser's
recoveries reach the inquiry, and the charset choices are kept on the incoming mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from madoguchi.inbound import ingest
from madoguchi.inquiries.models import Inquiry
from madoguchi.mail.models import InboundMessage

pytestmark = pytest.mark.django_db

WORLD = Path(__file__).parents[2] / "unit" / "mail" / "world"


def test_mbox_from_line_mail_becomes_an_inquiry_of_its_sender(mail_world):
    result = ingest.ingest((WORLD / "c1-mbox-from-line-postfix-pipe.eml").read_bytes())
    assert result.action == "created"
    inquiry = Inquiry.objects.get(reference=result.reference)
    assert inquiry.requester_email == "hanako.shiba@st.univ.example"
    assert inquiry.subject == "Printer on floor 3"
    assert "From the log it stopped yesterday." in inquiry.messages.get().body


def test_undeclared_gbk_mail_is_readable_and_explained(mail_world):
    raw = (WORLD / "c3-gbk-undeclared-subject-body-filename.eml").read_bytes()
    result = ingest.ingest(raw)
    inquiry = Inquiry.objects.get(reference=result.reference)
    assert inquiry.subject == "关于学生证补办的咨询"
    assert inquiry.messages.get().body.startswith("老师您好，我是中国来的留学生。")
    row = InboundMessage.objects.get(pk=result.inbound_id)
    assert "charset:subject: no charset read as gb18030 (the charset of the message's text)" in (
        row.flags
    )
