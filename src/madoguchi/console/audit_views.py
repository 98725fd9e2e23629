"""The audit log in the console (faculty staff and administrators): every recorded step,
filtered by inquiry, actor, verb and period, a page at a time, and the same selection as
a CSV download. Read-only: the log is append-only (privacy.models.AuditEvent)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from madoguchi.core.clock import desk_zone
from madoguchi.inquiries import access
from madoguchi.privacy.labels import VERB_LABELS, verb_label
from madoguchi.web.decorators import staff_required
from madoguchi.web.export import csv_response

PAGE_SIZE = 100


class AuditFilter(forms.Form):
    inquiry = forms.CharField(label=_("Inquiry (reference)"), required=False, max_length=20)
    actor = forms.CharField(label=_("Staff member (user name)"), required=False, max_length=150)
    verb = forms.ChoiceField(label=_("Step"), required=False)
    since = forms.DateField(
        label=pgettext_lazy("date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = sorted(((v, str(label)) for v, label in VERB_LABELS.items()), key=lambda c: c[1])
        verb = self.fields["verb"]
        assert isinstance(verb, forms.ChoiceField)
        verb.choices = [("", _("All")), *choices]


def _selection(request: HttpRequest) -> tuple[AuditFilter, QuerySet[Any]]:
    if not access.can_browse_audit(request.user):
        raise Http404
    form = AuditFilter(request.GET or None)
    events = access.visible_audit_events(request.user).select_related("actor", "inquiry")
    if form.is_valid():
        data = form.cleaned_data
        if data["inquiry"]:
            events = events.filter(inquiry__reference=data["inquiry"].strip().upper())
        if data["actor"]:
            events = events.filter(actor__username=data["actor"].strip())
        if data["verb"]:
            events = events.filter(verb=data["verb"])
        zone = desk_zone()
        if data["since"]:
            events = events.filter(at__gte=dt.datetime.combine(data["since"], dt.time(), zone))
        if data["until"]:
            end = dt.datetime.combine(data["until"] + dt.timedelta(days=1), dt.time(), zone)
            events = events.filter(at__lt=end)
    return form, events.order_by("-at", "-id")


@staff_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    form, events = _selection(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/audit.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _rows(events: QuerySet[Any]) -> Iterator[list[Any]]:
    zone = desk_zone()
    for event in events.iterator(chunk_size=1000):
        yield [
            event.at.astimezone(zone).isoformat(timespec="seconds"),
            event.verb,
            verb_label(event.verb),
            event.actor.username if event.actor else "",
            event.actor_kind,
            event.inquiry.reference if event.inquiry else "",
            "yes" if event.restricted else "",
            json.dumps(event.data, ensure_ascii=False, sort_keys=True) if event.data else "",
        ]


@staff_required
@require_GET
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, events = _selection(request)
    header = ["at", "verb", "label", "actor", "actor_kind", "inquiry", "restricted", "data"]
    return csv_response("madoguchi-audit.csv", header, _rows(events))
