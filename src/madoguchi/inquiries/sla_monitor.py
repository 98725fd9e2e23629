"""Warnings before a target is missed and breach notices to faculty supervisors.

Run by the housekeeping loop (every minute): finds open inquiries whose nearest due time
is close or past, records it once per due time, and tells the right people after commit.
"""

from __future__ import annotations

from django.db import transaction

from madoguchi.core.clock import now
from madoguchi.core.events import GROUP_FACULTY_STAFF, publish_on_commit, user_group
from madoguchi.privacy import audit
from madoguchi.sla import service

from . import access
from .models import OPEN_STATUSES, Inquiry


def check_due_times(limit: int = 500) -> dict[str, int]:
    current = now()
    counts = {"warned": 0, "breached": 0}
    candidates = (
        Inquiry.objects.filter(status__in=OPEN_STATUSES, due_at__isnull=False, sla_breached=False)
        .select_related("sla_policy")
        .order_by("due_at")[:limit]
    )
    for inquiry in candidates:
        assert inquiry.due_at is not None  # filtered on due_at__isnull=False
        if inquiry.due_at <= current:
            with transaction.atomic():
                locked = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
                if locked.sla_breached or locked.due_at != inquiry.due_at or locked.due_at is None:
                    continue
                locked.sla_breached = locked.sla_warned = True
                locked.save(update_fields=["sla_breached", "sla_warned"])
                audit.record(
                    "sla.breached",
                    inquiry=locked,
                    actor_kind="system",
                    due=locked.due_at.isoformat(),
                )
                # Supervisors (faculty) hear of every breach; the assignee too.
                audience = [GROUP_FACULTY_STAFF] + (
                    [user_group(locked.assignee_id)] if locked.assignee_id else []
                )
                if locked.assignee_id and not access.can_see(locked.assignee, locked):
                    audience = [GROUP_FACULTY_STAFF]
                publish_on_commit(
                    {"kind": "sla.breached", "inquiry": locked.reference}, audience=audience
                )
            counts["breached"] += 1
            continue
        if inquiry.sla_warned:
            continue
        lead = service.warn_threshold(inquiry)
        if lead is not None and inquiry.due_at - lead <= current:
            with transaction.atomic():
                locked = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
                if locked.sla_warned or locked.due_at != inquiry.due_at or locked.due_at is None:
                    continue
                locked.sla_warned = True
                locked.save(update_fields=["sla_warned"])
                audit.record(
                    "sla.warned", inquiry=locked, actor_kind="system", due=locked.due_at.isoformat()
                )
                publish_on_commit(
                    {"kind": "sla.warning", "inquiry": locked.reference},
                    audience=access.inquiry_audience(locked),
                )
            counts["warned"] += 1
    return counts
