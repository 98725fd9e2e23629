"""Inbound mail: store first, then parse, deduplicate, thread and act.

Every transport (pipe, LMTP/SMTP receiver, IMAP poller) calls :func:`ingest` with the raw
bytes. The order is what makes it safe:

1. ``store_raw`` writes the bytes to ``DATA_DIR/mail-raw`` (fsync + rename) and commits an
   ``InboundMessage`` row keyed by the bytes' SHA-256. Only then may a transport
   acknowledge the message. The same bytes delivered again (or ten times at once) find
   the existing row.
2. ``process`` parses and acts in one transaction. A crash before it commits leaves the
   row ``received``; ``recover_pending`` (run by workers on start and periodically)
   processes it again. A redelivery with other trace headers is caught by the
   Message-ID + sender key.

What it decides, in order: empty → dead letter; our own mail coming back → ignored;
delivery reports → attached to the inquiry whose mail bounced; replies → appended to the
inquiry they belong to, found by In-Reply-To/References or the reference tag in the
subject, and only when the sender is that inquiry's requester (otherwise a new inquiry,
flagged as a possible hijack, in faculty triage); automatic mail (out of office, lists,
notifications) → never answered; everything else → a new inquiry, in faculty triage when
the mailbox says so (the fallback address). Confirmations are capped per recipient by the
outbox, as for every channel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from madoguchi.core.clock import now
from madoguchi.core.files import open_private, private_dir
from madoguchi.inquiries import actions
from madoguchi.inquiries.models import Category, Channel, Inquiry, Lane, Message
from madoguchi.inquiries.storage import BytesFile
from madoguchi.mail.models import InboundMessage, InboundStatus, Mailbox, OutboundMail
from madoguchi.mail.parsing import (
    Limits,
    ParsedMail,
    SenderVerdict,
    is_automatic,
    normalise_subject,
    parse_message,
    reference_tags,
    sender_verdict,
)

log = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 3
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


@dataclass(frozen=True)
class IngestResult:
    action: str  # created | appended | ignored | rejected
    reference: str | None
    reason: str
    inbound_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"action": self.action, "reference": self.reference, "reason": self.reason}


def limits() -> Limits:
    return Limits(
        max_attachments=settings.MAIL_MAX_ATTACHMENTS,
        max_attachment_bytes=settings.MAIL_MAX_ATTACHMENT_BYTES,
        max_total_bytes=settings.MAIL_MAX_TOTAL_BYTES,
    )


# --- step 1: store ----------------------------------------------------------------------------


def raw_dir() -> Path:
    return private_dir(Path(settings.DATA_DIR) / "mail-raw")


def raw_path(sha256: str) -> Path:
    return raw_dir() / sha256[:2] / f"{sha256}.eml"


def _write_durably(path: Path, raw: bytes) -> None:
    if path.exists():
        return
    private_dir(path.parent)
    tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
    with open_private(tmp, "wb") as out:
        out.write(raw)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def find_mailbox(address: str | None) -> Mailbox | None:
    if not address:
        return None
    return Mailbox.objects.filter(address__iexact=address.strip(), active=True).first()


def store_raw(raw: bytes, *, mailbox: Mailbox | None = None) -> tuple[InboundMessage, bool]:
    """Durably keep the bytes. Returns (row, created); after this returns, the message may
    be acknowledged to whoever delivered it."""
    digest = hashlib.sha256(raw).hexdigest()
    _write_durably(raw_path(digest), raw)
    existing = InboundMessage.objects.filter(raw_sha256=digest).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return InboundMessage.objects.create(
                mailbox=mailbox, raw_sha256=digest, raw_size=len(raw)
            ), True
    except IntegrityError:
        return InboundMessage.objects.get(raw_sha256=digest), False


# --- step 2: process --------------------------------------------------------------------------


def ingest(raw: bytes, *, mailbox_address: str | None = None) -> IngestResult:
    mailbox = find_mailbox(mailbox_address)
    row, created = store_raw(raw, mailbox=mailbox)
    if created:
        return process(row.pk)
    if row.status == InboundStatus.RECEIVED:
        process(row.pk)  # the first delivery crashed or is still running: finish it once
    row.refresh_from_db()
    return IngestResult(
        "ignored", row.inquiry.reference if row.inquiry else None, "duplicate delivery", row.pk
    )


def _finish(
    row: InboundMessage, status: str, action: str, reason: str, inquiry: Inquiry | None = None
) -> IngestResult:
    row.status = status
    row.action = action
    row.reason = reason[:200]
    row.inquiry = inquiry
    row.processed_at = now()
    row.error = ""
    row.save()
    return IngestResult(action, inquiry.reference if inquiry else None, reason, row.pk)


def process(inbound_id: int) -> IngestResult:
    try:
        with transaction.atomic():
            row = (
                InboundMessage.objects.select_for_update(of=("self",))
                .select_related("mailbox", "inquiry")
                .get(pk=inbound_id)
            )
            if row.status != InboundStatus.RECEIVED:
                return IngestResult(
                    row.action or "ignored",
                    row.inquiry.reference if row.inquiry else None,
                    row.reason or "already processed",
                    row.pk,
                )
            row.attempts += 1
            raw = raw_path(row.raw_sha256).read_bytes()
            parsed = parse_message(raw, limits())
            row.message_id = (parsed.message_id or "")[:250]
            row.from_address = (parsed.from_address or "")[:254]
            row.subject = parsed.subject[:200]
            row.flags = sorted(
                parsed.flags
                | {f"defect:{d}" for d in parsed.defects[:10]}
                | {f"charset:{n}" for n in parsed.charset_notes[:5]}  # why a charset was chosen
            )
            return _decide(row, parsed)
    except Exception as exc:  # recorded, retried by recover_pending, then dead-lettered
        log.exception("processing inbound mail %s failed", inbound_id)
        with transaction.atomic():
            row = InboundMessage.objects.select_for_update().get(pk=inbound_id)
            row.attempts += 1
            row.error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= MAX_PROCESS_ATTEMPTS:
                row.status = InboundStatus.DEAD
                row.action = "rejected"
                row.reason = "could not be processed; kept for review"
            row.save(update_fields=["attempts", "error", "status", "action", "reason"])
        return IngestResult(
            "rejected" if row.status == InboundStatus.DEAD else "ignored",
            None,
            "processing failed; will be retried",
            inbound_id,
        )


def own_addresses() -> set[str]:
    addresses = {settings.DESK_ADDRESS.lower(), settings.FALLBACK_ADDRESS.lower()}
    addresses |= {a.lower() for a in Mailbox.objects.values_list("address", flat=True)}
    return addresses


def _decide(row: InboundMessage, parsed: ParsedMail) -> IngestResult:
    if row.raw_size == 0 or "empty" in parsed.defects:
        return _finish(row, InboundStatus.DEAD, "rejected", "empty message")

    if parsed.message_id:
        key = hashlib.sha256(
            f"{parsed.message_id}\x00{parsed.from_address or ''}".encode("utf-8", "replace")
        ).hexdigest()
        try:
            with transaction.atomic():
                InboundMessage.objects.filter(pk=row.pk).update(dedupe_key=key)
        except IntegrityError:
            original = (
                InboundMessage.objects.filter(dedupe_key=key).select_related("inquiry").first()
            )
            return _finish(
                row,
                InboundStatus.PROCESSED,
                "ignored",
                "duplicate of an earlier delivery",
                original.inquiry if original else None,
            )
        row.dedupe_key = key

    sender = parsed.from_address
    if (sender and sender in own_addresses()) or (
        parsed.message_id and OutboundMail.objects.filter(message_id=parsed.message_id).exists()
    ):
        return _finish(row, InboundStatus.PROCESSED, "ignored", "our own mail came back")

    if parsed.bounce is not None:
        return _handle_bounce(row, parsed)

    thread = _thread_for(parsed)
    if not sender:
        return _finish(
            row, InboundStatus.REVIEW, "ignored", "no sender address; kept for staff review", thread
        )

    hijack = False
    if thread is not None:
        if parsed.auto or is_automatic(parsed):
            # An out-of-office or vacation notice about the inquiry (from the requester or
            # anyone the mail reached): kept for staff, never shown to the requester,
            # never reopening the inquiry, never answered.
            return _record_automatic(row, parsed, thread)
        if thread.requester_email.lower() == sender:
            verdict = _verdict(parsed)
            if verdict.unverified and settings.MAIL_UNVERIFIED_REPLIES == "triage":
                # Held: a forged From with the reference must not speak as the requester.
                return _create(row, parsed, hijack=False, held_from=thread)
            return _append(row, parsed, thread, verdict)
        if "long_reply_chain" in parsed.flags:
            # Another party answering our mail over and over ("Re: Re: Re: ..." with a
            # long References chain) is an autoresponder that sets no header: a loop.
            return _record_automatic(row, parsed, thread)
        hijack = True

    if parsed.auto or is_automatic(parsed):
        return _finish(
            row,
            InboundStatus.PROCESSED,
            "ignored",
            f"automatic mail ({parsed.auto or 'auto'}); not answered",
        )

    return _create(row, parsed, hijack=hijack)


def _thread_for(parsed: ParsedMail) -> Inquiry | None:
    ids = [i for i in (*parsed.in_reply_to, *reversed(parsed.references)) if i][:50]
    if ids:
        inquiry = Inquiry.objects.filter(Q(root_message_id__in=ids)).first()
        if inquiry is None:
            message = (
                Message.objects.filter(mail_message_id__in=ids).select_related("inquiry").first()
            )
            inquiry = message.inquiry if message else None
        if inquiry is None:
            mail = (
                OutboundMail.objects.filter(message_id__in=ids, inquiry__isnull=False)
                .select_related("inquiry")
                .first()
            )
            inquiry = mail.inquiry if mail else None
        if inquiry is not None:
            return inquiry
    tags = reference_tags(parsed.subject)
    if tags:
        return Inquiry.objects.filter(reference__in=tags).first()
    return None


def _handle_bounce(row: InboundMessage, parsed: ParsedMail) -> IngestResult:
    bounce = parsed.bounce
    assert bounce is not None
    ids = list(bounce.original_message_ids)[:20]
    inquiry = None
    if ids:
        mail = (
            OutboundMail.objects.filter(message_id__in=ids, inquiry__isnull=False)
            .select_related("inquiry")
            .first()
        )
        inquiry = mail.inquiry if mail else Inquiry.objects.filter(root_message_id__in=ids).first()
    if inquiry is None:
        tags = reference_tags(parsed.subject)
        inquiry = Inquiry.objects.filter(reference__in=tags).first() if tags else None
    if inquiry is None:
        return _finish(
            row, InboundStatus.PROCESSED, "ignored", "delivery report for mail we cannot identify"
        )
    kind = "permanent" if bounce.permanent else "temporary"
    summary = (
        f"Delivery of our mail failed ({kind}) for {', '.join(bounce.recipients) or 'the requester'}. "
        f"/ メールの配信に失敗しました({'恒久的' if bounce.permanent else '一時的'})。"
    )
    actions.do_record_bounce(
        inquiry, recipients=bounce.recipients, permanent=bounce.permanent, summary=summary
    )
    return _finish(row, InboundStatus.PROCESSED, "appended", f"delivery report ({kind})", inquiry)


INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def _files(parsed: ParsedMail) -> list[BytesFile]:
    return [
        BytesFile(
            a.filename,
            a.data,
            content_id=a.content_id or "",
            inline_type=a.content_type
            if (a.inline and a.content_id and a.content_type in INLINE_TYPES)
            else "",
        )
        for a in parsed.attachments
    ]


def _body(parsed: ParsedMail) -> str:
    body = parsed.text or ""
    if parsed.dropped_attachments:
        body += "\n\n[" + "; ".join(parsed.dropped_attachments)[:1000] + "]"
    return body


def _record_automatic(row: InboundMessage, parsed: ParsedMail, inquiry: Inquiry) -> IngestResult:
    body = f"{parsed.from_address or '?'}: {parsed.subject}\n\n{_body(parsed)}"[:20000]
    actions.do_record_automatic_mail(
        inquiry, body, kind=parsed.auto or "auto", mail_message_id=parsed.message_id or ""
    )
    return _finish(
        row,
        InboundStatus.PROCESSED,
        "appended",
        f"automatic mail ({parsed.auto or 'auto'}) kept; not reopened",
        inquiry,
    )


def _verdict(parsed: ParsedMail) -> SenderVerdict:
    """SPF/DMARC/DKIM as our own receiving MTA recorded them (MADOGUCHI_MAIL_AUTHSERV_ID)."""
    return sender_verdict(parsed.authentication_results, settings.MAIL_AUTHSERV_IDS)


def _append(
    row: InboundMessage, parsed: ParsedMail, inquiry: Inquiry, verdict: SenderVerdict
) -> IngestResult:
    meta: dict[str, object] = {}
    reason = "reply from the requester"
    if verdict.unverified or "unverified_sender" in parsed.flags:
        meta = {"flags": ["unverified_sender"], "auth": list(verdict.failures)}
        row.flags = sorted({*row.flags, "unverified_sender"})
        reason += " (unverified sender: " + (", ".join(verdict.failures) or "headers") + ")"
    actions.do_requester_reply(
        inquiry,
        _body(parsed),
        files=_files(parsed),
        channel=Channel.MAIL,
        mail_message_id=parsed.message_id or "",
        body_html=parsed.html or "",
        meta=meta,
    )
    return _finish(row, InboundStatus.PROCESSED, "appended", reason, inquiry)


def _is_exam_related(text: str) -> bool:
    from madoguchi.bot.rules import RuleSet, default_rules

    exam = [r for r in default_rules() if r["name"] == "exam"]
    return bool(exam) and RuleSet(exam).match(text[:5000]) is not None


def _create(
    row: InboundMessage, parsed: ParsedMail, *, hijack: bool, held_from: Inquiry | None = None
) -> IngestResult:
    """A new inquiry; ``held_from``: a reply to that inquiry whose sender failed the
    checks, held in faculty triage (MADOGUCHI_MAIL_UNVERIFIED_REPLIES=triage)."""
    mailbox = row.mailbox
    triage = mailbox.triage_first if mailbox is not None else True
    flags = []
    if hijack:
        flags.append("possible_hijack")
    if held_from is not None:
        flags.append("held_unverified_reply")
        hijack = True  # the same lane and care as a reply from someone else
    if "unverified_sender" in parsed.flags or _verdict(parsed).unverified:
        flags.append("unverified_sender")
    if parsed.auto:
        flags.append("automated")
    subject = normalise_subject(parsed.subject) or "(件名なし / no subject)"
    text = _body(parsed)
    category = None
    if _is_exam_related(f"{subject}\n{text}"):
        flags.append("exam_related")
        category = Category.objects.filter(slug="exam").first()
    lang = (
        mailbox.lang
        if mailbox is not None
        else ("ja" if _CJK.search(subject + text[:2000]) else "en")
    )
    sender = parsed.from_address or ""
    name = (parsed.from_display or sender.split("@")[0])[:100]
    inquiry, created = actions.do_create_inquiry(
        actions.NewInquiry(
            name=name,
            email=sender,
            subject=subject[:200],
            body=text,
            lang=lang,
            category=category,
            lane=Lane.TRIAGE if (triage or hijack) else Lane.GENERAL,
            flags=flags,
            mail_message_id=parsed.message_id or "",
            body_html=parsed.html or "",
            details={"held_reply_to": held_from.reference} if held_from is not None else {},
            # The From is probably forged: no mail to the address it names.
            send_confirmation=held_from is None,
        ),
        channel=Channel.MAIL,
        files=_files(parsed),
    )
    if not created:
        return _finish(
            row,
            InboundStatus.PROCESSED,
            "ignored",
            "same mail as an inquiry created moments ago",
            inquiry,
        )
    if held_from is not None:
        reason = f"reply to {held_from.reference} held: sender not verified"
    else:
        reason = "new inquiry" + (" (possible hijack)" if hijack else "")
    return _finish(row, InboundStatus.PROCESSED, "created", reason, inquiry)


def recover_pending(older_than_seconds: int = 60) -> int:
    """Process messages that were stored but not processed (a crash, a restart)."""
    cutoff = now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(
        InboundMessage.objects.filter(status=InboundStatus.RECEIVED, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:200]
    )
    for inbound_id in ids:
        process(inbound_id)
    return len(ids)
