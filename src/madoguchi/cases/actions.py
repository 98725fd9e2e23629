"""Every write to a case study: check, write, audit (in one transaction).

A case study is built from the public thread of a solved inquiry (what the requester
and staff wrote to each other: no internal notes, system entries, bot answers or
files; quoted history below a mail is left out, being a copy of earlier entries), the
redactor proposes, the reviewer accepts or undoes each redaction and edits, and an
approval is refused while the text still holds a mail address, phone number or ID.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.core.clock import now
from madoguchi.inquiries import access
from madoguchi.inquiries.models import Inquiry, MessageKind
from madoguchi.privacy import audit
from madoguchi.web.templatetags.desk import split_quoted

from . import redaction
from .models import CaseStatus, CaseStudy

THREAD_KINDS = (MessageKind.REQUESTER, MessageKind.REPLY)
HEADINGS = {
    "ja": {"subject": "件名：", MessageKind.REQUESTER: "【依頼者】", MessageKind.REPLY: "【窓口】"},
    "en": {
        "subject": "Subject: ",
        MessageKind.REQUESTER: "[Requester]",
        MessageKind.REPLY: "[Desk]",
    },
}


class Refused(Exception):
    """The text still holds what is certain to identify someone (``findings``)."""

    def __init__(self, findings: list[redaction.Redaction]) -> None:
        super().__init__(", ".join(sorted({f.kind for f in findings})))
        self.findings = findings


def _lang(inquiry: Inquiry) -> str:
    return "en" if (inquiry.lang or "").startswith("en") else "ja"


def build_source(inquiry: Inquiry) -> str:
    """The thread as one text, unredacted (the headings are the desk's, in its language)."""
    headings = HEADINGS[_lang(inquiry)]
    parts = [headings["subject"] + inquiry.subject]
    for message in inquiry.messages.filter(kind__in=THREAD_KINDS).order_by("created_at", "id"):
        body, _quoted = split_quoted(message.body or "")
        body = body.strip()
        if body:
            parts.append(f"{headings[message.kind]}\n{body}")
    return "\n\n".join(parts) + "\n"


def _user_names(user: Any) -> list[str]:
    if user is None:
        return []
    names = [getattr(user, "display_name", ""), user.get_full_name()]
    return [n for n in names if n and n.strip()]


def known_for(inquiry: Inquiry) -> redaction.Known:
    """What the desk knows of the people in this inquiry, for the redactor."""
    names = [inquiry.requester_name]
    names += redaction.names_from_address(inquiry.requester_email or "")
    for message in inquiry.messages.filter(kind__in=THREAD_KINDS).select_related("author"):
        if message.author_name:
            names.append(message.author_name)
        names += _user_names(message.author)
    names += _user_names(inquiry.assignee)
    details = inquiry.details or {}
    values: list[tuple[str, str]] = [(redaction.EMAIL, inquiry.requester_email or "")]
    if inquiry.common_id:
        values.append((redaction.ID, inquiry.common_id))
    if isinstance(details.get("zoom_signin_email"), str):
        values.append((redaction.EMAIL, details["zoom_signin_email"]))
    return redaction.Known(
        names=tuple(dict.fromkeys(n for n in names if n)),
        instructors=tuple(v for v in [details.get("class_instructor")] if isinstance(v, str) and v),
        classes=tuple(v for v in [details.get("class_subject")] if isinstance(v, str) and v),
        values=tuple(v for v in values if v[1]),
    )


def _as_rows(found: Iterable[redaction.Redaction]) -> list[dict[str, Any]]:
    return [
        {
            "start": r.start,
            "end": r.end,
            "kind": r.kind,
            "replacement": r.replacement,
            "rule": r.rule,
            "original": r.original,
            "accepted": True,
        }
        for r in found
    ]


def _apply_rows(source: str, rows: list[dict[str, Any]]) -> str:
    return redaction.apply(
        source,
        [
            redaction.Redaction(r["start"], r["end"], r["kind"], r["replacement"], r["rule"])
            for r in rows
            if r.get("accepted")
        ],
    )


def generated_text(case: CaseStudy) -> str:
    """The source with the accepted redactions: the text before any hand edit."""
    return _apply_rows(case.source_text, case.redactions)


def remaining(
    case: CaseStudy, text: str | None = None, title: str | None = None
) -> list[redaction.Redaction]:
    """What the redactor still finds in the reviewed text (all kinds)."""
    body = (
        (title if title is not None else case.title)
        + "\n"
        + (text if text is not None else case.text)
    )
    return redaction.propose(body, known_for(case.inquiry))


def check_publishable(case: CaseStudy, text: str | None = None, title: str | None = None) -> None:
    """Refused: the text or title holds a mail address, phone number or ID."""
    findings = [f for f in remaining(case, text, title) if f.kind in redaction.CERTAIN_KINDS]
    if findings:
        raise Refused(findings)


def _check_review(user: Any, case: CaseStudy) -> None:
    if not access.can_review_case_study(user, case):
        raise PermissionDenied(_("This case study can no longer be changed."))


@transaction.atomic
def do_start_case_study(inquiry: Inquiry, *, acting_user: Any) -> CaseStudy:
    if not access.can_write_case_study(acting_user, inquiry):
        raise PermissionDenied(
            _("Case studies are written from solved inquiries, by faculty staff.")
        )
    source = build_source(inquiry)
    known = known_for(inquiry)
    found = redaction.propose(source, known)
    proposed = redaction.apply(source, found)
    title = redaction.redact(inquiry.subject, known)
    case = CaseStudy.objects.create(
        inquiry=inquiry,
        title=title[:200],
        lang=_lang(inquiry),
        created_by=acting_user,
        source_text=source,
        proposed_text=proposed,
        text=proposed,
        redactions=_as_rows(found),
    )
    audit.record(
        "case_study.started",
        actor=acting_user,
        inquiry=inquiry,
        case_study=case.pk,
        redactions=len(found),
    )
    return case


@transaction.atomic
def do_choose_redactions(case: CaseStudy, accepted: set[int], *, acting_user: Any) -> None:
    """Accept the redactions numbered in ``accepted``, undo the others, and rebuild the
    text from them (hand edits are replaced; the page says so before)."""
    _check_review(acting_user, case)
    rows = [dict(r, accepted=i in accepted) for i, r in enumerate(case.redactions)]
    case.redactions = rows
    case.text = _apply_rows(case.source_text, rows)
    case.updated_at = now()
    case.save(update_fields=["redactions", "text", "updated_at"])
    audit.record(
        "case_study.redactions_chosen",
        actor=acting_user,
        inquiry=case.inquiry,
        case_study=case.pk,
        accepted=sum(1 for r in rows if r["accepted"]),
        undone=sum(1 for r in rows if not r["accepted"]),
    )


@transaction.atomic
def do_edit_case_study(case: CaseStudy, *, title: str, text: str, acting_user: Any) -> None:
    _check_review(acting_user, case)
    case.title = title[:200]
    case.text = text
    case.updated_at = now()
    case.save(update_fields=["title", "text", "updated_at"])
    audit.record("case_study.edited", actor=acting_user, inquiry=case.inquiry, case_study=case.pk)


@transaction.atomic
def do_approve_case_study(case: CaseStudy, *, title: str, text: str, acting_user: Any) -> None:
    """Approve the text as written. Refused (``Refused``) while it holds a mail address,
    phone number or ID. The unredacted source and original fragments are dropped."""
    _check_review(acting_user, case)
    check_publishable(case, text, title)
    case.title = title[:200]
    case.text = text
    case.status = CaseStatus.APPROVED
    case.approved_by = acting_user
    case.approved_at = now()
    case.updated_at = case.approved_at
    case.source_text = ""
    case.redactions = [
        {
            "kind": r["kind"],
            "replacement": r["replacement"],
            "rule": r["rule"],
            "accepted": r["accepted"],
        }
        for r in case.redactions
    ]
    case.save()
    audit.record(
        "case_study.approved",
        actor=acting_user,
        inquiry=case.inquiry,
        case_study=case.pk,
        redactions=sum(1 for r in case.redactions if r["accepted"]),
    )


def record_export(case: CaseStudy, fmt: str, *, acting_user: Any) -> None:
    """An approved case study leaves the desk: checked once more, audited either way (no
    transaction around it: a refusal is recorded although the export fails)."""
    if (
        not case.is_approved
        or not access.visible_case_studies(
            acting_user, CaseStudy.objects.filter(pk=case.pk)
        ).exists()
    ):
        raise PermissionDenied(_("Only an approved case study can be exported."))
    try:
        check_publishable(case)
    except Refused as exc:
        audit.record(
            "case_study.export_refused",
            actor=acting_user,
            inquiry=case.inquiry,
            case_study=case.pk,
            kinds=sorted({f.kind for f in exc.findings}),
        )
        raise
    audit.record(
        "case_study.exported",
        actor=acting_user,
        inquiry=case.inquiry,
        case_study=case.pk,
        format=fmt,
    )
