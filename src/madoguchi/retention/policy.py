"""Applying the retention rules: which solved inquiries are due for anonymisation, which
for the deletion of their files, in batches, each batch in its own transaction, never an
inquiry on legal hold. A dry run counts what a run would do and changes nothing; every run
is recorded (RetentionRun) and audited. Housekeeping calls ``scheduled`` every minute; it
runs the rules once every ``RETENTION_INTERVAL_HOURS``."""

from __future__ import annotations

import datetime as dt
from itertools import product
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from madoguchi.core.clock import now
from madoguchi.inquiries.models import Attachment, Channel, Inquiry, Lane, Status
from madoguchi.privacy import audit

from . import anonymise
from .models import RetentionRule, RetentionRun

CLOSED = (Status.SOLVED, Status.CLOSED)


def _effective(rules: list[RetentionRule], channel: str, lane: str) -> RetentionRule | None:
    """The most specific rule for one channel and lane."""
    best: tuple[int, RetentionRule] | None = None
    for rule in rules:
        if rule.channel not in ("", channel) or rule.lane not in ("", lane):
            continue
        rank = (rule.channel == channel) * 2 + (rule.lane == lane)
        if best is None or rank > best[0]:
            best = (rank, rule)
    return best[1] if best else None


def _scopes(at: dt.datetime, field: str) -> Q | None:
    """Inquiries (by channel and lane) solved before their rule's ``field`` days."""
    rules = list(RetentionRule.objects.all())
    due = Q()
    found = False
    for channel, lane in product(Channel.values, Lane.values):
        rule = _effective(rules, channel, lane)
        days = getattr(rule, field, None) if rule else None
        if days is None and field == "files_after_days" and rule is not None:
            days = rule.anonymise_after_days  # files go with the inquiry at the latest
        if days is None:
            continue
        due |= Q(channel=channel, lane=lane, solved_at__lte=at - dt.timedelta(days=days))
        found = True
    return due if found else None


def _closed() -> QuerySet[Inquiry]:
    return Inquiry.objects.filter(status__in=CLOSED, solved_at__isnull=False)


def due_for_anonymisation(at: dt.datetime | None = None) -> QuerySet[Inquiry]:
    scope = _scopes(at or now(), "anonymise_after_days")
    if scope is None:
        return Inquiry.objects.none()
    return _closed().filter(scope, anonymised_at__isnull=True)


def due_for_file_deletion(at: dt.datetime | None = None) -> QuerySet[Inquiry]:
    scope = _scopes(at or now(), "files_after_days")
    if scope is None:
        return Inquiry.objects.none()
    with_files = Attachment.objects.values("inquiry_id")
    return _closed().filter(scope, pk__in=with_files, anonymised_at__isnull=True)


def plan(at: dt.datetime | None = None) -> dict[str, int]:
    """What a run would do now (counts only)."""
    anonymise_due = due_for_anonymisation(at)
    files_due = due_for_file_deletion(at)
    return {
        "anonymise": anonymise_due.filter(legal_hold=False).count(),
        "delete_files": files_due.filter(legal_hold=False).exclude(pk__in=anonymise_due).count(),
        "held": anonymise_due.filter(legal_hold=True).count()
        + files_due.filter(legal_hold=True).exclude(pk__in=anonymise_due).count(),
    }


def _in_batches(qs: QuerySet[Inquiry], batch: int, work: Any) -> int:
    """``work(inquiry)`` for each inquiry of ``qs`` not on hold, ``batch`` per
    transaction, each locked and checked again inside it."""
    done = 0
    while True:
        ids = list(qs.filter(legal_hold=False).values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        with transaction.atomic():
            for inquiry in Inquiry.objects.select_for_update().filter(pk__in=ids, legal_hold=False):
                if work(inquiry):
                    done += 1
        if len(ids) < batch:
            return done


def run(*, dry_run: bool = False, by: Any = None, batch: int | None = None) -> RetentionRun:
    at = now()
    record = RetentionRun.objects.create(started_at=at, dry_run=dry_run, by=by)
    counts = plan(at)
    if not dry_run:
        size = batch or settings.RETENTION_BATCH
        anonymised = _in_batches(
            due_for_anonymisation(at),
            size,
            lambda inquiry: anonymise.anonymise(inquiry, reason="retention"),
        )

        def files(inquiry: Inquiry) -> bool:
            deleted = anonymise.delete_files(inquiry)
            if deleted:
                audit.record(
                    "inquiry.files_deleted",
                    inquiry=inquiry,
                    actor_kind="system",
                    reason="retention",
                    files=deleted,
                )
            return bool(deleted)

        counts = {**counts, "anonymised": anonymised}
        counts["files_deleted_for"] = _in_batches(due_for_file_deletion(at), size, files)
    record.counts = counts
    record.finished_at = now()
    record.save(update_fields=["counts", "finished_at"])
    verb = "retention.dry_run" if dry_run else "retention.run"
    if by is not None:
        audit.record(verb, actor=by, run=record.pk)
    else:
        audit.record(verb, actor_kind="system", run=record.pk)
    return record


def scheduled() -> int:
    """Housekeeping: a run when none has run for ``RETENTION_INTERVAL_HOURS``."""
    if not RetentionRule.objects.exists():
        return 0
    since = now() - dt.timedelta(hours=settings.RETENTION_INTERVAL_HOURS)
    if RetentionRun.objects.filter(dry_run=False, started_at__gte=since).exists():
        return 0
    return run().counts.get("anonymised", 0)
