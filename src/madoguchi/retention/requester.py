"""A requester's data, for faculty staff: everything the desk holds about one address (or
identity-provider key) exported as one ZIP, and an erasure request carried out
(anonymisation of each of their inquiries, keeping the statistics). Both audited, per
inquiry, without the address itself in the log."""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet

from madoguchi.accounts.roles import sees_restricted
from madoguchi.inquiries import storage
from madoguchi.inquiries.models import Inquiry
from madoguchi.privacy import audit

from . import anonymise


def inquiries_of(user: Any, email: str = "", key: str = "") -> QuerySet[Inquiry]:
    """The inquiries of one requester, for a faculty member (every lane)."""
    if not sees_restricted(user):
        raise PermissionDenied
    email, key = email.strip(), key.strip()
    if not email and not key:
        return Inquiry.objects.none()
    mine = Q()
    if email:
        mine |= Q(requester_email__iexact=email)
    if key:
        mine |= Q(requester_key=key)
    return Inquiry.objects.filter(mine).order_by("created_at")


def _record(inquiry: Inquiry) -> dict[str, Any]:
    from madoguchi.calls.models import Consent

    return {
        "reference": inquiry.reference,
        "channel": inquiry.channel,
        "status": inquiry.status,
        "lane": inquiry.lane,
        "created_at": inquiry.created_at.isoformat(),
        "solved_at": inquiry.solved_at.isoformat() if inquiry.solved_at else None,
        "subject": inquiry.subject,
        "requester": {
            "name": inquiry.requester_name,
            "email": inquiry.requester_email,
            "common_id": inquiry.common_id,
            "affiliation": inquiry.affiliation,
            "member_category": inquiry.member_category,
            "member_category_other": inquiry.member_category_other,
            "year_or_title": inquiry.year_or_title,
        },
        "details": inquiry.details,
        "sensitive_part": inquiry.sensitive_part,
        "sensitive_reason": inquiry.sensitive_reason,
        "messages": [
            {
                "at": m.created_at.isoformat(),
                "kind": m.kind,
                "author": m.author_name,
                "body": m.body,
                "attachments": [a.original_name for a in m.attachments.all()],
            }
            for m in inquiry.messages.prefetch_related("attachments").order_by("created_at", "id")
        ],
        "consents": [
            {"at": c.created_at.isoformat(), "kind": c.kind, "detail": c.detail}
            for c in Consent.objects.filter(inquiry=inquiry).order_by("created_at", "id")
        ],
        "handbacks": [
            {
                "at": h.created_at.isoformat(),
                "status": h.status,
                "decided_at": h.decided_at.isoformat() if h.decided_at else None,
            }
            for h in inquiry.handbacks.order_by("created_at")
        ],
    }


def export_zip(user: Any, email: str = "", key: str = "") -> tuple[IO[bytes], int]:
    """A ZIP with ``data.json`` (every inquiry, thread, consent) and the attachments
    under ``files/<reference>/``, in a temporary file (past 8 MB on disk, not in memory)
    to be streamed; and the number of inquiries. Each inquiry's export is audited."""
    found = list(inquiries_of(user, email, key))
    buffer: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "data.json",
            json.dumps([_record(i) for i in found], ensure_ascii=False, indent=2, default=str),
        )
        for inquiry in found:
            for n, attachment in enumerate(inquiry.attachments.all(), 1):
                try:
                    data = storage.path_of(attachment.stored_name).read_bytes()
                except (OSError, ValueError):
                    continue
                safe = "".join(
                    c if c.isalnum() or c in "._-" else "_" for c in attachment.original_name
                )
                archive.writestr(f"files/{inquiry.reference}/{n}-{safe[:100]}", data)
            audit.record("inquiry.exported", actor=user, inquiry=inquiry)
    buffer.seek(0)
    return buffer, len(found)


def erase(user: Any, email: str = "", key: str = "") -> dict[str, int]:
    """Anonymise every inquiry of the requester, except those on legal hold."""
    done = {"anonymised": 0, "held": 0, "already": 0}
    for pk in list(inquiries_of(user, email, key).values_list("pk", flat=True)):
        with transaction.atomic():
            inquiry = Inquiry.objects.select_for_update().get(pk=pk)
            if inquiry.legal_hold:
                done["held"] += 1
            elif anonymise.anonymise(inquiry, reason="erasure", actor=user):
                done["anonymised"] += 1
            else:
                done["already"] += 1
    return done


def iter_summary(rows: list[Inquiry]) -> Iterator[dict[str, Any]]:
    for inquiry in rows:
        yield {"inquiry": inquiry, "files": inquiry.attachments.count()}
