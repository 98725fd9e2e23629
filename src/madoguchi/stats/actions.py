"""Every write of a statistics release: create a draft, publish it (audited)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.core.clock import now
from madoguchi.inquiries import access
from madoguchi.privacy import audit

from .fields import parse_breakdowns
from .models import StatisticsRelease
from .tables import Period, build_table


def _check(user: Any) -> None:
    if not access.can_publish_statistics(user):
        raise PermissionDenied(_("Only faculty staff can do this."))


def compute_release_table(release: StatisticsRelease, *, acting_user: Any) -> dict[str, Any]:
    """The suppressed table of a release as it would be published by ``acting_user`` (the
    preview of a draft; the frozen table of a published release is its ``table``)."""
    _check(acting_user)
    return build_table(
        access.statistics_inquiries(acting_user),
        release.breakdowns,
        Period(release.period_from, release.period_to),
        threshold=release.threshold,
        round_to=release.rounding,
    )


@transaction.atomic
def do_create_release(
    period_from: dt.date, period_to: dt.date, breakdowns: Sequence[str], *, acting_user: Any
) -> StatisticsRelease:
    """A draft with the desk's current threshold and rounding (they stay the release's)."""
    _check(acting_user)
    by = parse_breakdowns(",".join(breakdowns))
    if period_from > period_to:
        raise ValueError("the period ends before it starts")
    release = StatisticsRelease.objects.create(
        period_from=period_from,
        period_to=period_to,
        breakdowns=list(by),
        threshold=settings.STATS_MIN_CELL,
        rounding=settings.STATS_ROUND_TO,
        created_by=acting_user,
    )
    audit.record(
        "stats.release_created",
        actor=acting_user,
        release=release.pk,
        period=[period_from.isoformat(), period_to.isoformat()],
        breakdowns=list(by),
    )
    return release


@transaction.atomic
def do_publish_release(release: StatisticsRelease, *, acting_user: Any) -> bool:
    """Freeze the suppressed table and publish it. False when it was already published
    (by someone else meanwhile): a release is published once and never changes."""
    _check(acting_user)
    table = compute_release_table(release, acting_user=acting_user)
    at = now()
    done = StatisticsRelease.objects.filter(pk=release.pk, published_at__isnull=True).update(
        table=table, published_at=at, published_by=acting_user
    )
    if not done:
        return False
    release.refresh_from_db()
    audit.record(
        "stats.release_published",
        actor=acting_user,
        release=release.pk,
        period=[release.period_from.isoformat(), release.period_to.isoformat()],
        breakdowns=list(release.breakdowns),
        threshold=release.threshold,
        rounding=release.rounding,
    )
    return True
