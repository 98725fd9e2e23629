"""Reports: the page (charts with their tables), each section as CSV, the whole as JSON.

Thin: parse the period, check ``access.can_view_reports``, compute (``console.reports``),
render or export. What each figure counts is decided in access (``report_inquiries``).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from madoguchi.accounts.roles import sees_restricted
from madoguchi.inquiries import access
from madoguchi.web import charts
from madoguchi.web.decorators import staff_required
from madoguchi.web.export import csv_response, json_response

from .reports import SECTIONS, Period, Section, compute_report


def _period(request: HttpRequest) -> Period:
    return Period.parse(request.GET.get("from"), request.GET.get("to"))


def _check(request: HttpRequest) -> None:
    if not access.can_view_reports(request.user):
        raise Http404


def _scope(user: Any) -> str:
    return (
        _("All lanes (including sensitive, triage and faculty-only inquiries).")
        if sees_restricted(user)
        else _(
            "General lane only: sensitive and restricted inquiries are counted for faculty staff only."
        )
    )


def _chart(section: Section) -> str:
    items = section.chart_items()
    chart_id = f"chart-{section.key}"
    title = str(section.title)
    desc = _("The same figures as the table beside the chart.")
    if section.chart == "bar":
        return mark_safe(charts.bar_chart(items, chart_id=chart_id, title=title, desc=desc))  # noqa: S308 - the renderer escapes
    if section.chart == "line":
        return mark_safe(charts.line_chart(items, chart_id=chart_id, title=title, desc=desc))  # noqa: S308 - the renderer escapes
    return ""


@staff_required
def reports(request: HttpRequest) -> HttpResponse:
    _check(request)
    period = _period(request)
    sections = compute_report(request.user, period)
    shown = [
        {
            "section": s,
            "chart": _chart(s),
            "columns": s.columns[1:],  # the code column is for the exports
            "rows": [[row.get(k) for k, _label in s.columns[1:]] for row in s.rows],
        }
        for s in sections
    ]
    return render(
        request,
        "console/reports.html",
        {
            "period": period,
            "sections": shown,
            "scope": _scope(request.user),
            "query": f"from={period.first.isoformat()}&to={period.last.isoformat()}",
        },
    )


def _filename(period: Period, name: str, ext: str) -> str:
    return f"madoguchi-{name}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.{ext}"


@staff_required
def report_csv(request: HttpRequest, section: str) -> StreamingHttpResponse:
    """One section as CSV: the column labels (in the page's language) as header, then
    its rows; the first column is the value's code (channel, category slug, day…)."""
    _check(request)
    if section not in SECTIONS:
        raise Http404
    period = _period(request)
    (computed,) = compute_report(request.user, period, only=[section])
    header = [str(label) or section for _key, label in computed.columns]
    rows = ([row.get(k) for k, _label in computed.columns] for row in computed.rows)
    return csv_response(_filename(period, section, "csv"), header, rows)


@staff_required
def report_json(request: HttpRequest) -> HttpResponse:
    _check(request)
    period = _period(request)
    sections = compute_report(request.user, period)
    data = {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "time_zone": str(period.start.tzinfo),
        "lanes": "all" if sees_restricted(request.user) else "general",
        "sections": {s.key: s.as_dict() for s in sections},
    }
    return json_response(_filename(period, "report", "json"), data)
