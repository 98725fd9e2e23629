"""Reads of statistics releases. Drafts are for faculty staff and administrators (the
rule is ``inquiries.access.can_publish_statistics``); published ones are public."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from madoguchi.inquiries import access

from .models import StatisticsRelease


def visible_releases(user: Any) -> QuerySet[StatisticsRelease]:
    """Every release, drafts included, for who may build them; none for anyone else."""
    if not access.can_publish_statistics(user):
        return StatisticsRelease.objects.none()
    return StatisticsRelease.objects.select_related("created_by", "published_by")


def access_release(user: Any, release_id: int, *, for_update: bool = False) -> StatisticsRelease:
    qs = visible_releases(user)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=release_id)
    except StatisticsRelease.DoesNotExist:
        raise Http404 from None


def published_releases() -> QuerySet[StatisticsRelease]:
    """What anyone may read: published releases (only their frozen tables are shown)."""
    return StatisticsRelease.objects.filter(published_at__isnull=False).order_by(
        "-published_at", "-id"
    )


def access_published_release(release_id: int) -> StatisticsRelease:
    try:
        return published_releases().get(pk=release_id)
    except StatisticsRelease.DoesNotExist:
        raise Http404 from None
