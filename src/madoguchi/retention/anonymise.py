"""Anonymising one inquiry: everything that names or describes the requester goes, from
every table and file that holds it; what the statistics need stays (dates, channel,
category, member category, language, lane, priority, status, the SLA outcomes, who on the
staff handled it). The audit log is not touched: it holds ids and step names, no text.

Idempotent, and refused for an inquiry on legal hold. The caller holds a transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from madoguchi.core.clock import now
from madoguchi.inquiries import storage
from madoguchi.inquiries.models import Attachment, HandbackProposal, Inquiry, Message
from madoguchi.privacy import audit

# Keys of Message.meta that are slugs and ids, never text a person wrote.
SAFE_META = frozenset({"event", "call", "article", "rule", "decision", "flags", "screenshot"})
ANONYMISED = "—"


class OnHold(Exception):
    pass


def delete_files(inquiry: Inquiry) -> int:
    """The inquiry's attachments (files and rows) and the raw mails it came from."""
    from madoguchi.inbound.ingest import raw_path
    from madoguchi.mail.models import InboundMessage

    count = 0
    for attachment in Attachment.objects.filter(inquiry=inquiry):
        storage.delete_stored(attachment.stored_name)
        count += 1
    Attachment.objects.filter(inquiry=inquiry).delete()
    for sha in InboundMessage.objects.filter(inquiry=inquiry).values_list("raw_sha256", flat=True):
        raw_path(sha).unlink(missing_ok=True)
        count += 1
    return count


def _scrub_meta(meta: Any) -> dict[str, Any]:
    return {k: v for k, v in (meta or {}).items() if k in SAFE_META}


def anonymise(inquiry: Inquiry, *, reason: str, actor: Any = None) -> bool:
    """Anonymise ``inquiry`` (locked by the caller); False when it already was."""
    from madoguchi.cases.models import CaseStatus, CaseStudy
    from madoguchi.chat.models import Conversation
    from madoguchi.kb.models import BotQuestion
    from madoguchi.mail.models import InboundMessage, OutboundMail

    if inquiry.legal_hold:
        raise OnHold(inquiry.reference)
    if inquiry.anonymised_at is not None:
        return False
    assert transaction.get_connection().in_atomic_block
    files = delete_files(inquiry)
    for message in Message.objects.filter(inquiry=inquiry).only("pk", "meta"):
        Message.objects.filter(pk=message.pk).update(
            body="",
            body_html="",
            author_name="",
            mail_message_id="",
            meta=_scrub_meta(message.meta),
        )
    OutboundMail.objects.filter(inquiry=inquiry).update(
        to="", subject="", body="", in_reply_to="", references="", last_error=""
    )
    InboundMessage.objects.filter(inquiry=inquiry).update(from_address="", subject="", error="")
    Conversation.objects.filter(inquiry=inquiry).update(page_url="", rating_comment="")
    HandbackProposal.objects.filter(inquiry=inquiry).update(note="")
    BotQuestion.objects.filter(inquiry=inquiry).delete()
    # A draft case study holds the unredacted thread; an approved one holds nothing that
    # identifies anyone (that is what approval checked), so it stays.
    CaseStudy.objects.filter(inquiry=inquiry, status=CaseStatus.DRAFT).delete()
    Inquiry.objects.filter(pk=inquiry.pk).update(
        subject=ANONYMISED,
        requester_name=ANONYMISED,
        requester_email="",
        requester_key="",
        common_id="",
        affiliation="",
        member_category_other="",
        year_or_title="",
        details={},
        sensitive_part="",
        sensitive_reason="",
        submission_key=None,
        fingerprint="",
        root_message_id="",
        link_version=inquiry.link_version + 1,  # every mailed link stops working
        anonymised_at=now(),
    )
    if actor is not None:
        audit.record("inquiry.anonymised", actor=actor, inquiry=inquiry, reason=reason, files=files)
    else:
        audit.record(
            "inquiry.anonymised", actor_kind="system", inquiry=inquiry, reason=reason, files=files
        )
    return True
