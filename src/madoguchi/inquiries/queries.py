"""Read-side helpers for lists and search. Every query starts from access.visible_inquiries."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from . import access
from .models import OPEN_STATUSES, Category, Inquiry, Lane, Status

VIEWS = (
    "due",
    "unassigned",
    "mine",
    "open",
    "pending",
    "sensitive",
    "triage",
    "faculty",
    "solved",
    "all",
)
PAGE_SIZE = 25


def category_field_map() -> dict[str, list[str]]:
    return {c.slug: list(c.extra_fields) for c in Category.objects.filter(active=True)}


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def inbox(user: Any, view: str) -> QuerySet[Inquiry]:
    qs = access.visible_inquiries(user)
    if view == "due":
        qs = qs.filter(status__in=OPEN_STATUSES, due_at__isnull=False)
    elif view == "unassigned":
        qs = qs.filter(status__in=OPEN_STATUSES, assignee__isnull=True)
    elif view == "mine":
        qs = qs.filter(status__in=OPEN_STATUSES, assignee=user)
    elif view == "open":
        qs = qs.filter(status__in=(Status.NEW, Status.OPEN))
    elif view == "pending":
        qs = qs.filter(status=Status.PENDING)
    elif view == "sensitive":
        qs = qs.filter(lane=Lane.SENSITIVE, status__in=OPEN_STATUSES)
    elif view == "triage":
        qs = qs.filter(lane=Lane.TRIAGE, status__in=OPEN_STATUSES)
    elif view == "faculty":
        qs = qs.filter(lane=Lane.FACULTY, status__in=OPEN_STATUSES)
    elif view == "solved":
        qs = qs.filter(status__in=(Status.SOLVED, Status.CLOSED))
    return qs


@dataclass
class Filters:
    q: str = ""
    status: str = ""
    priority: str = ""
    category: str = ""
    channel: str = ""


def apply_filters(qs: QuerySet[Inquiry], f: Filters, *, user: Any) -> QuerySet[Inquiry]:
    """Narrow ``qs`` (from ``inbox``); the text search matches only thread entries
    ``user`` may read (never a withheld or restricted entry)."""
    if f.status in Status.values:
        qs = qs.filter(status=f.status)
    if f.priority.isdigit() and f.priority.isascii():
        qs = qs.filter(priority=int(f.priority))
    if f.category:
        qs = qs.filter(category__slug=f.category)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    q = f.q.strip()[:200]
    if q:
        # Django escapes LIKE wildcards in icontains; the text is a parameter, never SQL.
        # A reference or a common ID: exact lookups on indexes, before any text scan.
        if re.fullmatch(r"[A-Za-z]{1,5}-[0-9A-Za-z-]{4,20}", q):
            by_reference = qs.filter(reference=q.upper())
            if by_reference.exists():
                return by_reference
        if re.fullmatch(r"[0-9]{10}", q):
            by_common_id = qs.filter(common_id=q)
            if by_common_id.exists():
                return by_common_id
        readable = access.searchable_messages(user).filter(body__icontains=q)
        cond = (
            Q(subject__icontains=q)
            | Q(requester_email__icontains=q)
            | Q(requester_name__icontains=q)
            | Q(pk__in=readable.values("inquiry_id"))
        )
        qs = qs.filter(cond)
    return qs


def by_urgency(qs: QuerySet[Inquiry], limit: int = 100) -> list[Inquiry]:
    """The most urgent first (earliest due time); one page, no cursor."""
    return list(qs.select_related("category", "assignee").order_by("due_at", "id")[:limit])


def page(qs: QuerySet[Inquiry], before: str = "") -> tuple[list[Inquiry], str]:
    """Keyset pagination on (updated_at, id), newest first. No COUNT over everything."""
    qs = qs.select_related("category", "assignee").order_by("-updated_at", "-id")
    if before:
        try:
            stamp, _, ident = before.partition("~")
            at = dt.datetime.fromisoformat(stamp)
            pk = int(ident)
            if at.tzinfo is None:
                raise ValueError
            qs = qs.filter(Q(updated_at__lt=at) | Q(updated_at=at, id__lt=pk))
        except ValueError:
            pass
    rows = list(qs[: PAGE_SIZE + 1])
    cursor = ""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        cursor = f"{last.updated_at.isoformat()}~{last.pk}"
    return rows, cursor


def view_counts(user: Any, views: tuple[str, ...]) -> dict[str, int]:
    """Counts for the sidebar, capped so that a huge table never costs a full COUNT."""
    cap = 1000
    return {v: inbox(user, v).order_by()[:cap].count() for v in views}
