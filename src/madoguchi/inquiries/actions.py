"""Every write to an inquiry goes through here: check, write, audit, publish on commit.

Views, the API, consumers, mail ingest and commands call these functions; they never
``.save()`` an inquiry themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from madoguchi.accounts.roles import sees_restricted
from madoguchi.core.clock import desk_zone, now
from madoguchi.core.events import publish_on_commit, user_group
from madoguchi.core.ids import new_reference, new_token
from madoguchi.mail import outbox
from madoguchi.mail.texts import EXPECTATION, EXPECTATION_BY
from madoguchi.privacy import audit
from madoguchi.sla import service as sla

from . import access, storage
from .models import (
    Attachment,
    Category,
    Channel,
    HandbackProposal,
    HandbackStatus,
    Inquiry,
    Lane,
    Message,
    MessageKind,
    Priority,
    Status,
)
from .signals import lane_changed


@dataclass
class NewInquiry:
    """Validated intake data (the form, the API and later mail and chat produce it)."""

    name: str
    email: str
    subject: str
    body: str
    lang: str = "ja"
    category: Category | None = None
    common_id: str = ""
    affiliation: str = ""
    member_category: str = ""
    member_category_other: str = ""
    year_or_title: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    sensitive: bool = False
    sensitive_part: str = ""
    sensitive_reason: str = ""
    # Set by mail ingest: the lane (faculty triage for the fallback address), warnings for
    # staff, the requester's own Message-ID (our confirmation replies to it), the
    # sanitised HTML body, and whether a confirmation may be sent at all.
    lane: str | None = None
    flags: list[str] = field(default_factory=list)
    mail_message_id: str = ""
    body_html: str = ""
    send_confirmation: bool = True
    # A signed-in requester's identity-provider key (accounts.requester), when there is one.
    requester_key: str = ""


def _fingerprint(data: NewInquiry) -> str:
    h = hashlib.sha256()
    for part in (
        data.email.lower(),
        data.subject,
        data.body,
        data.category.slug if data.category else "",
    ):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def _publish(inquiry: Inquiry, kind: str, **extra: Any) -> None:
    publish_on_commit(
        {"kind": kind, "inquiry": inquiry.reference, **extra},
        audience=access.inquiry_audience(inquiry),
    )


def _touch(inquiry: Inquiry, *fields: str) -> None:
    inquiry.updated_at = now()
    inquiry.save(update_fields=["updated_at", *fields])


def _mail_requester(inquiry: Inquiry, key: str, **values: str) -> None:
    subject, body = outbox.render(
        key,
        inquiry.lang,
        {
            "reference": inquiry.reference,
            "name": inquiry.requester_name,
            "subject": inquiry.subject,
            "link": access.requester_url(inquiry),
            **values,
        },
    )
    outbox.queue_mail(
        kind=key,
        to=inquiry.requester_email,
        subject=subject,
        body=body,
        inquiry=inquiry,
        in_reply_to=inquiry.root_message_id,
        references=inquiry.root_message_id,
    )


def _new_message(
    inquiry: Inquiry, *, kind: str, restricted: bool = False, **fields: Any
) -> Message:
    """The one way a thread entry is made. What is written while the inquiry is restricted,
    except what the requester wrote, stays for faculty staff only: also after a hand-back
    or a release (restricted stays restricted)."""
    restricted = restricted or (inquiry.is_restricted and kind != MessageKind.REQUESTER)
    return Message.objects.create(inquiry=inquiry, kind=kind, restricted=restricted, **fields)


def _store_files(inquiry: Inquiry, message: Message | None, files: Sequence[Any]) -> None:
    for upload in files:
        stored = storage.store_upload(upload)
        Attachment.objects.create(
            inquiry=inquiry,
            message=message,
            original_name=stored.original_name,
            stored_name=stored.stored_name,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            content_id=getattr(upload, "content_id", "")[:250],
            inline_type=getattr(upload, "inline_type", ""),
        )


@dataclass(frozen=True)
class Submission:
    """What a requester's submission became. Unpacks as ``(inquiry, created)``."""

    inquiry: Inquiry
    created: bool
    files_added: int = 0  # a duplicate's files that were new to the inquiry

    def __iter__(self) -> Iterator[Any]:  # the (inquiry, created) pair callers unpack
        return iter((self.inquiry, self.created))


def do_create_inquiry(
    data: NewInquiry,
    *,
    channel: str,
    files: Sequence[Any] = (),
    submission_key: str | None = None,
) -> Submission:
    """Create an inquiry from a requester's submission.

    A repeated submission (same one-time form key, or the same requester, subject and
    body within the duplicate window) returns the inquiry created the first time, and
    keeps what it brings that is new: files not yet on the inquiry are added to it.
    """
    fingerprint = _fingerprint(data)
    existing = _find_duplicate(submission_key, fingerprint)
    if existing is not None:
        return _resubmitted(existing, files)
    lane = data.lane or (Lane.SENSITIVE if data.sensitive else Lane.GENERAL)
    try:
        with transaction.atomic():
            inquiry = Inquiry(
                channel=channel,
                lane=lane,
                category=data.category,
                subject=data.subject,
                lang="en" if data.lang.startswith("en") else "ja",
                requester_name=data.name,
                requester_email=data.email,
                requester_key=data.requester_key,
                common_id=data.common_id,
                affiliation=data.affiliation,
                member_category=data.member_category,
                member_category_other=data.member_category_other,
                year_or_title=data.year_or_title,
                details=data.details,
                sensitive_part=data.sensitive_part,
                sensitive_reason=data.sensitive_reason,
                submission_key=submission_key or None,
                fingerprint=fingerprint,
                priority=Priority.P3,
                flags=sorted(set(data.flags)),
            )
            _name(inquiry)
            sla.apply(inquiry)
            inquiry.save()
            message = _new_message(
                inquiry,
                kind=MessageKind.REQUESTER,
                author_name=data.name,
                body=data.body,
                body_html=data.body_html,
                channel=channel,
                mail_message_id=data.mail_message_id or inquiry.root_message_id,
            )
            _store_files(inquiry, message, files)
            audit.record(
                "inquiry.created",
                inquiry=inquiry,
                actor_kind="requester",
                channel=channel,
                lane=lane,
            )
            if data.send_confirmation:
                _queue_confirmation(inquiry, data)
            _publish(inquiry, "inquiry.created")
    except IntegrityError:
        # A concurrent twin with the same one-time key won the race.
        existing = _find_duplicate(submission_key, fingerprint)
        if existing is None:
            raise
        return _resubmitted(existing, files)
    return Submission(inquiry, True)


def _resubmitted(inquiry: Inquiry, files: Sequence[Any]) -> Submission:
    """A duplicate never loses a file: those whose SHA-256 is not on the inquiry yet are
    added to the requester's first message (nothing accepted is lost)."""
    if not files:
        return Submission(inquiry, False)
    with transaction.atomic():
        inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
        known = set(inquiry.attachments.values_list("sha256", flat=True))
        new = []
        for upload in files:
            digest = storage.sha256_of(upload)
            if digest not in known:
                known.add(digest)
                new.append(upload)
        if not new:
            return Submission(inquiry, False)
        first = inquiry.messages.filter(kind=MessageKind.REQUESTER).order_by("pk").first()
        _store_files(inquiry, first, new)
        _touch(inquiry)
        audit.record(
            "inquiry.files_added",
            inquiry=inquiry,
            actor_kind="requester",
            message=first.pk if first else None,
            count=len(new),
        )
        _publish(inquiry, "inquiry.files_added")
    return Submission(inquiry, False, len(new))


def _name(inquiry: Inquiry) -> None:
    """Give a new inquiry its reference and the Message-ID its thread hangs on."""
    for _attempt in range(5):
        inquiry.reference = new_reference()
        if not Inquiry.objects.filter(reference=inquiry.reference).exists():
            break
    inquiry.root_message_id = outbox.new_message_id(inquiry.reference)


def _queue_confirmation(inquiry: Inquiry, data: NewInquiry) -> None:
    key = "confirmation_sensitive" if inquiry.lane == Lane.SENSITIVE else "confirmation"
    lang = inquiry.lang
    subject, body = outbox.render(
        key,
        lang,
        {
            "reference": inquiry.reference,
            "name": inquiry.requester_name,
            "subject": inquiry.subject,
            "link": access.requester_url(inquiry),
            "expectation": _expectation(inquiry),
        },
    )
    # The thread's root id goes on the first confirmation only: a chat may continue by mail
    # again (another address), and Message-IDs are unique.
    first = not inquiry.outbound_mails.filter(message_id=inquiry.root_message_id).exists()
    queued = outbox.queue_mail(
        kind=key,
        to=inquiry.requester_email,
        subject=subject,
        body=body,
        inquiry=inquiry,
        message_id=inquiry.root_message_id if first else None,
        in_reply_to=data.mail_message_id,
        references=data.mail_message_id,
    )
    if queued is None:
        _record_withheld(inquiry, key)


def _record_withheld(inquiry: Inquiry, kind: str) -> None:
    """A requester-triggered mail over the recipient's hourly limit: staff see it on the
    inquiry (once), and every one is counted in the audit log."""
    notice = "mail_withheld"
    if not any(
        notice in (m.meta or {}).get("flags", ())
        for m in inquiry.messages.filter(kind=MessageKind.SYSTEM)
    ):
        _new_message(
            inquiry,
            kind=MessageKind.SYSTEM,
            # No text of its own: the flag's label says it, in the reader's language.
            body="",
            channel=inquiry.channel,
            meta={"flags": [notice]},
        )
    audit.record("mail.withheld", inquiry=inquiry, actor_kind="system", kind=kind, reason="limit")


def _expectation(inquiry: Inquiry) -> str:
    """When to expect an answer: the first-response target if a policy sets one."""
    lang = inquiry.lang
    due = sla.expected_answer_by(inquiry)
    if due is None:
        return EXPECTATION[lang]
    from madoguchi.hours import format_local

    when = format_local(due.astimezone(desk_zone()), lang)
    return Template(EXPECTATION_BY[lang]).safe_substitute(when=when)


def _find_duplicate(submission_key: str | None, fingerprint: str) -> Inquiry | None:
    if submission_key:
        found = Inquiry.objects.filter(submission_key=submission_key).first()
        if found is not None:
            return found
    window = now() - dt.timedelta(seconds=settings.DUPLICATE_WINDOW_SECONDS)
    return (
        Inquiry.objects.filter(fingerprint=fingerprint, created_at__gte=window)
        .order_by("-id")
        .first()
    )


# --- checks -------------------------------------------------------------------------------


def check_staff(user: Any, inquiry: Inquiry) -> None:
    if not access.can_see(user, inquiry):
        raise PermissionDenied(_("You cannot act on this inquiry."))


def check_faculty(user: Any, inquiry: Inquiry) -> None:
    check_staff(user, inquiry)
    if not sees_restricted(user):
        raise PermissionDenied(_("Only faculty staff can do this."))


# --- staff actions --------------------------------------------------------------------------


@transaction.atomic
def do_reply(
    inquiry: Inquiry, body: str, *, acting_user: Any, files: Sequence[Any] = ()
) -> Message:
    """Answer the requester: the reply is added to the thread and mailed."""
    check_staff(acting_user, inquiry)
    if not inquiry.requester_email:
        raise ValueError("the requester has no mail address")
    message = _new_message(
        inquiry,
        kind=MessageKind.REPLY,
        author=acting_user,
        author_name=str(acting_user),
        body=body,
        channel=Channel.MAIL,
    )
    _store_files(inquiry, message, files)
    fields = []
    if inquiry.first_response_at is None:
        inquiry.first_response_at = message.created_at
        fields.append("first_response_at")
    sla.on_staff_reply(inquiry)
    if inquiry.status == Status.NEW or inquiry.status == Status.OPEN:
        inquiry.status = Status.PENDING
        fields.append("status")
        sla.pause(inquiry)
    _touch(inquiry, *fields, *sla.SLA_FIELDS)
    _mail_requester(inquiry, "reply", body=body)
    audit.record("inquiry.replied", actor=acting_user, inquiry=inquiry, message=message.pk)
    _publish(inquiry, "message.created")
    publish_on_commit(
        {"kind": "message.created", "inquiry": inquiry.reference},
        audience=access.requester_audience(inquiry),
    )
    return message


@transaction.atomic
def do_add_note(inquiry: Inquiry, body: str, *, acting_user: Any) -> Message:
    """An internal note: never mailed, never shown to the requester."""
    check_staff(acting_user, inquiry)
    message = _new_message(
        inquiry,
        kind=MessageKind.NOTE,
        author=acting_user,
        author_name=str(acting_user),
        body=body,
    )
    _touch(inquiry)
    audit.record("inquiry.noted", actor=acting_user, inquiry=inquiry, message=message.pk)
    _publish(inquiry, "message.created")
    return message


@transaction.atomic
def do_assign(inquiry: Inquiry, assignee: Any | None, *, acting_user: Any) -> None:
    check_staff(acting_user, inquiry)
    if assignee is not None and not access.can_see(assignee, inquiry):
        raise PermissionDenied(_("This person cannot handle this inquiry."))
    if not access.can_assign(acting_user, inquiry, assignee):
        raise PermissionDenied(
            _(
                "Student staff can claim an unassigned inquiry and pass on only what is "
                "assigned to them."
            )
        )
    previous = inquiry.assignee_id
    inquiry.assignee = assignee
    fields = ["assignee"]
    if inquiry.status == Status.NEW and assignee is not None:
        inquiry.status = Status.OPEN
        fields.append("status")
    _touch(inquiry, *fields)
    audit.record(
        "inquiry.assigned",
        actor=acting_user,
        inquiry=inquiry,
        previous=previous,
        assignee=assignee.pk if assignee else None,
    )
    _publish(inquiry, "inquiry.updated")
    if assignee is not None and assignee.pk != acting_user.pk:
        publish_on_commit(
            {"kind": "inquiry.assigned_to_you", "inquiry": inquiry.reference},
            audience=[user_group(assignee.pk)],
        )


def do_claim(inquiry: Inquiry, *, acting_user: Any) -> None:
    do_assign(inquiry, acting_user, acting_user=acting_user)


@transaction.atomic
def do_change_status(inquiry: Inquiry, status: str, *, acting_user: Any) -> None:
    check_staff(acting_user, inquiry)
    if status not in Status.values:
        raise ValueError(status)
    previous = inquiry.status
    if previous == status:
        return
    inquiry.status = status
    inquiry.solved_at = now() if status in (Status.SOLVED, Status.CLOSED) else None
    if status in (Status.SOLVED, Status.CLOSED):
        sla.on_solved(inquiry)
    elif status == Status.PENDING:
        sla.pause(inquiry)
    elif previous == Status.PENDING:
        sla.resume(inquiry)
    else:
        sla.apply(inquiry)
    _touch(inquiry, "status", "solved_at", *sla.SLA_FIELDS)
    audit.record(
        "inquiry.status_changed",
        actor=acting_user,
        inquiry=inquiry,
        previous=previous,
        status=status,
    )
    _publish(inquiry, "inquiry.updated")


@transaction.atomic
def do_change_priority(inquiry: Inquiry, priority: int, *, acting_user: Any) -> None:
    check_staff(acting_user, inquiry)
    if priority not in Priority.values:
        raise ValueError(priority)
    previous = inquiry.priority
    if previous == priority:
        return
    inquiry.priority = priority
    sla.apply(inquiry)
    _touch(inquiry, "priority", *sla.SLA_FIELDS)
    audit.record(
        "inquiry.priority_changed",
        actor=acting_user,
        inquiry=inquiry,
        previous=previous,
        priority=priority,
    )
    _publish(inquiry, "inquiry.updated")


@transaction.atomic
def do_change_category(inquiry: Inquiry, category: Category | None, *, acting_user: Any) -> None:
    check_staff(acting_user, inquiry)
    previous = inquiry.category.slug if inquiry.category else None
    inquiry.category = category
    sla.apply(inquiry)
    _touch(inquiry, "category", *sla.SLA_FIELDS)
    audit.record(
        "inquiry.category_changed",
        actor=acting_user,
        inquiry=inquiry,
        previous=previous,
        category=category.slug if category else None,
    )
    _publish(inquiry, "inquiry.updated")


@transaction.atomic
def do_escalate(inquiry: Inquiry, reason: str, *, acting_user: Any) -> None:
    """Ask faculty staff to take over or advise; the inquiry stays in its lane."""
    check_staff(acting_user, inquiry)
    inquiry.escalated = True
    _touch(inquiry, "escalated")
    if reason.strip():
        _new_message(
            inquiry,
            kind=MessageKind.NOTE,
            author=acting_user,
            author_name=str(acting_user),
            body=_("Escalated to faculty: %(reason)s") % {"reason": reason},
        )
    audit.record("inquiry.escalated", actor=acting_user, inquiry=inquiry)
    _publish(inquiry, "inquiry.updated")


@transaction.atomic
def do_mark_sensitive(inquiry: Inquiry, reason: str, *, acting_user: Any) -> None:
    """Move an inquiry to the sensitive lane: from now on student staff cannot see it."""
    check_faculty(acting_user, inquiry)
    if inquiry.lane == Lane.SENSITIVE:
        return
    _restrict(inquiry, Lane.SENSITIVE, "inquiry.marked_sensitive", acting_user, reason=reason)


@transaction.atomic
def do_pass_to_faculty(inquiry: Inquiry, *, acting_user: Any, reason: str = "") -> None:
    """Pass an inquiry to faculty staff (a chat's "pass to faculty staff"): at once it is
    restricted like the sensitive lane, everywhere. Any staff member who may act on it may
    do this; an inquiry already restricted stays in its lane."""
    check_staff(acting_user, inquiry)
    if inquiry.is_restricted:
        return
    _restrict(inquiry, Lane.FACULTY, "inquiry.passed_to_faculty", acting_user, reason=reason)


def _restrict(inquiry: Inquiry, lane: str, verb: str, acting_user: Any, **data: Any) -> None:
    """Move an inquiry into a restricted lane: a student assignee loses it, student staff's
    screens drop it, the chat (if any) waits for faculty staff."""
    previous = inquiry.lane
    inquiry.lane = lane
    if inquiry.assignee is not None and not sees_restricted(inquiry.assignee):
        inquiry.assignee = None
    sla.apply(inquiry)
    _touch(inquiry, "lane", "assignee", *sla.SLA_FIELDS)
    audit.record(verb, actor=acting_user, inquiry=inquiry, previous=previous, **data)
    _publish(inquiry, "inquiry.updated")
    lane_changed.send(Inquiry, inquiry=inquiry, previous=previous)
    if previous == Lane.GENERAL:
        # Student staff's screens drop it at once; the event names only the reference
        # they could already see.
        publish_on_commit(
            {"kind": "inquiry.revoked", "inquiry": inquiry.reference},
            audience=access.revoked_audience(inquiry),
        )


# Lanes faculty may release to student staff directly: nobody asked for confidentiality
# (the sensitive lane needs the requester's consent: see do_propose_handback).
DIRECT_RELEASE_LANES = (Lane.TRIAGE, Lane.FACULTY)


@transaction.atomic
def do_release_to_general(inquiry: Inquiry, *, acting_user: Any, reason: str = "") -> None:
    """Faculty releases a triaged mail or an inquiry passed to faculty to student staff.
    What was written meanwhile stays for faculty staff (``Message.restricted``)."""
    check_faculty(acting_user, inquiry)
    if inquiry.lane not in DIRECT_RELEASE_LANES:
        raise PermissionDenied(
            _("Only inquiries in faculty triage or passed to faculty can be released directly.")
        )
    # Recorded while still restricted: the reason is for faculty staff.
    audit.record("inquiry.released", actor=acting_user, inquiry=inquiry, reason=reason)
    previous = inquiry.lane
    inquiry.lane = Lane.GENERAL
    sla.apply(inquiry)
    _touch(inquiry, "lane", *sla.SLA_FIELDS)
    _publish(inquiry, "inquiry.created")
    lane_changed.send(Inquiry, inquiry=inquiry, previous=previous)


@transaction.atomic
def do_propose_handback(inquiry: Inquiry, note: str, *, acting_user: Any) -> HandbackProposal:
    """Ask the requester whether a sensitive inquiry may go to student staff."""
    check_faculty(acting_user, inquiry)
    if inquiry.lane != Lane.SENSITIVE:
        raise PermissionDenied(_("Only sensitive inquiries can be handed back."))
    inquiry.handbacks.filter(status=HandbackStatus.PROPOSED).update(
        status=HandbackStatus.WITHDRAWN, decided_at=now()
    )
    proposal = HandbackProposal.objects.create(
        inquiry=inquiry, proposed_by=acting_user, note=note, token=new_token()
    )
    _touch(inquiry)
    from django.urls import reverse

    consent_link = settings.SITE_URL + reverse("handback-consent", args=[proposal.token])
    _mail_requester(inquiry, "handback", note=note, consent_link=consent_link)
    audit.record("handback.proposed", actor=acting_user, inquiry=inquiry, proposal=proposal.pk)
    _publish(inquiry, "inquiry.updated")
    return proposal


@transaction.atomic
def do_decide_handback(proposal: HandbackProposal, *, consent: bool) -> None:
    """The requester's answer, through the consent link. Only consent opens the inquiry
    to student staff; the decision is recorded either way."""
    proposal = (
        HandbackProposal.objects.select_for_update().select_related("inquiry").get(pk=proposal.pk)
    )
    if proposal.status != HandbackStatus.PROPOSED:
        raise PermissionDenied(_("This request has already been answered or withdrawn."))
    inquiry = proposal.inquiry
    proposal.status = HandbackStatus.CONSENTED if consent else HandbackStatus.DECLINED
    proposal.decided_at = now()
    proposal.save(update_fields=["status", "decided_at"])
    previous = inquiry.lane
    if consent and inquiry.lane == Lane.SENSITIVE:
        inquiry.lane = Lane.GENERAL
        sla.apply(inquiry)
        _touch(inquiry, "lane", *sla.SLA_FIELDS)
    else:
        _touch(inquiry)
    # Written after the lane changed: student staff taking it over see that it was agreed.
    _new_message(
        inquiry,
        kind=MessageKind.SYSTEM,
        author_name=inquiry.requester_name,
        body=(
            _("The requester agreed to hand this inquiry to student staff.")
            if consent
            else _("The requester did not agree to hand this inquiry to student staff.")
        ),
    )
    audit.record(
        "handback.consented" if consent else "handback.declined",
        inquiry=inquiry,
        actor_kind="requester",
        proposal=proposal.pk,
    )
    _publish(inquiry, "inquiry.created" if consent else "inquiry.updated")
    if inquiry.lane != previous:
        lane_changed.send(Inquiry, inquiry=inquiry, previous=previous)


# --- requester actions ------------------------------------------------------------------------


@transaction.atomic
def do_requester_reply(
    inquiry: Inquiry,
    body: str,
    *,
    files: Sequence[Any] = (),
    channel: str = Channel.FORM,
    mail_message_id: str = "",
    body_html: str = "",
    meta: dict[str, Any] | None = None,
) -> Message:
    """``meta`` carries warnings for staff on this entry (e.g. ``{"flags":
    ["unverified_sender"]}`` for a mail whose sender failed SPF/DMARC)."""
    message = _new_message(
        inquiry,
        kind=MessageKind.REQUESTER,
        author_name=inquiry.requester_name,
        body=body,
        body_html=body_html,
        channel=channel,
        mail_message_id=mail_message_id,
        meta=meta or {},
    )
    _store_files(inquiry, message, files)
    fields = []
    if inquiry.status in (Status.SOLVED, Status.CLOSED):
        inquiry.status = Status.OPEN
        inquiry.solved_at = None
        fields += ["status", "solved_at"]
        sla.apply(inquiry)
    elif inquiry.status == Status.PENDING:
        inquiry.status = Status.OPEN
        fields.append("status")
    sla.on_requester_message(inquiry)
    _touch(inquiry, *fields, *sla.SLA_FIELDS)
    audit.record(
        "inquiry.requester_replied", inquiry=inquiry, actor_kind="requester", message=message.pk
    )
    _publish(inquiry, "message.created")
    publish_on_commit(
        {"kind": "message.created", "inquiry": inquiry.reference},
        audience=access.requester_audience(inquiry),
    )
    return message


@transaction.atomic
def do_revoke_requester_link(inquiry: Inquiry, *, acting_user: Any) -> None:
    """The requester's link leaked (a forwarded mail, a shared PC): every link sent so far
    stops working, and pages and sockets opened with one are closed. The next mail to the
    requester carries the new link."""
    check_staff(acting_user, inquiry)
    inquiry.link_version += 1
    _touch(inquiry, "link_version")
    audit.record(
        "inquiry.link_revoked", actor=acting_user, inquiry=inquiry, version=inquiry.link_version
    )
    publish_on_commit(
        {"kind": "link.revoked", "inquiry": inquiry.reference, "version": inquiry.link_version},
        audience=access.requester_audience(inquiry),
    )


def do_set_legal_hold(inquiry: Inquiry, on: bool, *, reason: str = "", acting_user: Any) -> None:
    """Faculty staff place or release a legal hold: while it holds, retention neither
    anonymises the inquiry nor deletes its files, and an erasure request passes it by."""
    if not access.sees_restricted(acting_user) or not access.can_see(acting_user, inquiry):
        raise PermissionDenied(_("Only faculty staff can place or release a legal hold."))
    if on and not reason.strip():
        raise ValueError("a hold needs a reason")
    inquiry.legal_hold = on
    inquiry.legal_hold_reason = reason.strip()[:300] if on else ""
    _touch(inquiry, "legal_hold", "legal_hold_reason")
    audit.record(
        "inquiry.held" if on else "inquiry.hold_released", actor=acting_user, inquiry=inquiry
    )


def record_view(inquiry: Inquiry, *, acting_user: Any) -> None:
    """Viewing a restricted inquiry is audited."""
    if inquiry.is_restricted:
        audit.record("inquiry.viewed", actor=acting_user, inquiry=inquiry, lane=inquiry.lane)


@transaction.atomic
def do_record_automatic_mail(
    inquiry: Inquiry, body: str, *, kind: str, mail_message_id: str = ""
) -> Message:
    """An auto-reply (out of office, vacation, ...) about an inquiry: kept for staff as an
    internal entry; the inquiry is not reopened and nothing is sent."""
    message = _new_message(
        inquiry,
        kind=MessageKind.AUTO,
        author_name=inquiry.requester_name,
        body=body,
        channel=Channel.MAIL,
        mail_message_id=mail_message_id,
    )
    audit.record(
        "inquiry.auto_mail", inquiry=inquiry, actor_kind="system", kind=kind, message=message.pk
    )
    _publish(inquiry, "message.created")
    return message


@transaction.atomic
def do_record_bounce(
    inquiry: Inquiry, *, recipients: Sequence[str], permanent: bool, summary: str
) -> None:
    """A delivery failure of our mail: staff see it on the inquiry; a permanent one marks
    the requester's address as undeliverable."""
    _new_message(
        inquiry,
        kind=MessageKind.SYSTEM,
        author_name="",
        body=summary,
        channel=Channel.MAIL,
    )
    fields = []
    if permanent and "requester_address_bounces" not in inquiry.flags:
        inquiry.flags = sorted({*inquiry.flags, "requester_address_bounces"})
        fields.append("flags")
    _touch(inquiry, *fields)
    audit.record(
        "inquiry.bounced",
        inquiry=inquiry,
        actor_kind="system",
        permanent=permanent,
        recipients=list(recipients),
    )
    _publish(inquiry, "inquiry.updated")


# --- live channels --------------------------------------------------------------------------
# A live channel (the chat, the online call) makes its inquiry itself and writes its thread
# one entry at a time. While nobody but the bot talks, the inquiry is kept solved and
# flagged "bot", so it stays out of the working views; a hand-over opens it like any new
# inquiry. These are the public steps the channel apps call; nothing here knows a channel.


@transaction.atomic
def do_open_inquiry(inquiry: Inquiry, *, body: str, client_id: str = "") -> Message:
    """Save a channel's new (unsaved) ``inquiry`` with the requester's first message."""
    _name(inquiry)
    inquiry.save()
    message = _new_message(
        inquiry,
        kind=MessageKind.REQUESTER,
        author_name=inquiry.requester_name,
        body=body,
        channel=inquiry.channel,
        client_id=client_id,
    )
    audit.record(
        "inquiry.created",
        inquiry=inquiry,
        actor_kind="requester",
        channel=inquiry.channel,
        lane=inquiry.lane,
    )
    _publish(inquiry, "inquiry.created")
    return message


def do_append_message(
    inquiry: Inquiry,
    *,
    kind: str,
    body: str,
    client_id: str = "",
    author: Any | None = None,
    meta: dict[str, Any] | None = None,
    files: Sequence[Any] = (),
) -> tuple[Message, bool]:
    """One entry of a live channel's thread, with its SLA effect (a requester's message
    restarts the clock, a staff reply answers it). A ``client_id`` seen before returns the
    stored entry (a re-send after a reconnect), so an entry is never doubled. Returns
    (message, created)."""
    if client_id:
        existing = inquiry.messages.filter(client_id=client_id).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            message = _append(
                inquiry,
                kind=kind,
                body=body,
                client_id=client_id,
                author=author,
                meta=meta or {},
                files=files,
            )
    except IntegrityError:
        existing = inquiry.messages.filter(client_id=client_id).first() if client_id else None
        if existing is None:
            raise
        return existing, False
    return message, True


def _append(
    inquiry: Inquiry,
    *,
    kind: str,
    body: str,
    client_id: str,
    author: Any | None,
    meta: dict[str, Any],
    files: Sequence[Any],
) -> Message:
    if kind == MessageKind.REPLY:
        check_staff(author, inquiry)
    name = (
        inquiry.requester_name
        if kind == MessageKind.REQUESTER
        else (str(author) if author is not None else "")
    )
    message = _new_message(
        inquiry,
        kind=kind,
        author=author,
        author_name=name,
        body=body,
        channel=inquiry.channel,
        client_id=client_id,
        meta=meta,
    )
    _store_files(inquiry, message, files)
    fields: list[str] = []
    if inquiry.status != Status.SOLVED:
        if kind == MessageKind.REQUESTER:
            sla.on_requester_message(inquiry)
            fields += list(sla.SLA_FIELDS)
        elif kind == MessageKind.REPLY:
            if inquiry.first_response_at is None:
                inquiry.first_response_at = message.created_at
                fields.append("first_response_at")
            sla.on_staff_reply(inquiry)
            fields += list(sla.SLA_FIELDS)
    _touch(inquiry, *fields)
    if kind == MessageKind.REPLY:
        audit.record(
            "inquiry.replied",
            actor=author,
            inquiry=inquiry,
            message=message.pk,
            channel=inquiry.channel,
        )
    if "bot" not in inquiry.flags:
        # While only the bot talks nobody works on it: staff screens need no live update.
        publish_on_commit(
            {"kind": "message.created", "inquiry": inquiry.reference},
            audience=access.thread_audience(inquiry),
        )
    return message


@transaction.atomic
def do_annotate_message(message: Message, **values: Any) -> None:
    """Add facts to an entry's ``meta`` (a requester's answer to "did this solve it?")."""
    message.meta = {**message.meta, **values}
    message.save(update_fields=["meta"])
    _touch(message.inquiry)
    audit.record(
        "message.annotated",
        inquiry=message.inquiry,
        actor_kind="requester",
        message=message.pk,
        keys=sorted(values),
    )


@transaction.atomic
def do_withhold_message(message: Message, *, reason: str, subject: str = "") -> None:
    """An entry that may be sensitive (the bot recognised grades, health, ...) is for
    faculty staff only from now on; ``subject`` replaces a subject taken from it."""
    inquiry = message.inquiry
    message.restricted = True
    message.save(update_fields=["restricted"])
    fields = []
    if subject:
        inquiry.subject = subject
        fields.append("subject")
    _touch(inquiry, *fields)
    audit.record(
        "message.withheld",
        inquiry=inquiry,
        actor_kind="system",
        message=message.pk,
        reason=reason,
    )


@transaction.atomic
def do_open_for_staff(inquiry: Inquiry, *, verb: str, member_category: str = "") -> None:
    """The requester asked for a person: the inquiry opens like a new one (SLA and all);
    ``verb`` names the step in the audit log (``chat.handed_over``)."""
    inquiry.status = Status.NEW
    inquiry.solved_at = None
    inquiry.flags = sorted(set(inquiry.flags) - {"bot"})
    if member_category:
        inquiry.member_category = member_category
    sla.apply(inquiry)
    _touch(inquiry, "status", "solved_at", "flags", "member_category", *sla.SLA_FIELDS)
    audit.record(verb, inquiry=inquiry, actor_kind="requester")
    _publish(inquiry, "inquiry.created")


@transaction.atomic
def do_continue_by_mail(inquiry: Inquiry, *, email: str, name: str = "", verb: str) -> None:
    """A live conversation goes on by mail: the address is recorded and the usual
    confirmation (with the thread link) is sent; a solved inquiry opens again."""
    reopened = inquiry.status in (Status.SOLVED, Status.CLOSED)
    inquiry.requester_email = email
    if name:
        inquiry.requester_name = name
    if reopened:
        inquiry.status = Status.NEW
        inquiry.solved_at = None
        inquiry.flags = sorted(set(inquiry.flags) - {"bot"})
        sla.apply(inquiry)
    _touch(
        inquiry,
        "requester_email",
        "requester_name",
        "status",
        "solved_at",
        "flags",
        *sla.SLA_FIELDS,
    )
    audit.record(verb, inquiry=inquiry, actor_kind="requester")
    _queue_confirmation(
        inquiry,
        NewInquiry(
            name=inquiry.requester_name,
            email=email,
            subject=inquiry.subject,
            body="",
            lang=inquiry.lang,
        ),
    )
    _publish(inquiry, "inquiry.updated")


@transaction.atomic
def do_mark_solved(inquiry: Inquiry, *, acting_user: Any | None = None) -> None:
    """A live conversation ended: the inquiry is solved (one continued by mail, or closed
    already, is left as it is)."""
    if acting_user is not None:
        do_change_status(inquiry, Status.SOLVED, acting_user=acting_user)
        return
    if inquiry.status in (Status.SOLVED, Status.CLOSED):
        return
    previous = inquiry.status
    inquiry.status = Status.SOLVED
    inquiry.solved_at = now()
    sla.on_solved(inquiry)
    _touch(inquiry, "status", "solved_at", *sla.SLA_FIELDS)
    audit.record(
        "inquiry.status_changed",
        inquiry=inquiry,
        actor_kind="requester",
        previous=previous,
        status=Status.SOLVED,
    )
    _publish(inquiry, "inquiry.updated")
