"""Reading case studies, always through ``inquiries.access``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from madoguchi.inquiries import access

from .models import CaseStatus, CaseStudy


def visible(user: Any) -> QuerySet[CaseStudy]:
    return access.visible_case_studies(user, CaseStudy.objects.select_related("inquiry"))


def access_case_study(user: Any, pk: int, *, for_update: bool = False) -> CaseStudy:
    qs = visible(user).select_related("approved_by", "created_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=pk)
    except CaseStudy.DoesNotExist:
        raise Http404 from None


def approved(user: Any) -> QuerySet[CaseStudy]:
    return visible(user).filter(status=CaseStatus.APPROVED).order_by("-approved_at", "-id")


def drafts(user: Any) -> QuerySet[CaseStudy]:
    return visible(user).filter(status=CaseStatus.DRAFT).order_by("-created_at", "-id")


def of_inquiry(user: Any, inquiry: Any) -> QuerySet[CaseStudy]:
    return visible(user).filter(inquiry=inquiry)
