"""Statistics releases: the console pages (faculty staff and administrators; student
staff get 404) and the public pages of published releases. Thin: parse, call one query or
action, render."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from madoguchi.core.i18n import desk_lang
from madoguchi.inquiries import access
from madoguchi.web.decorators import staff_required
from madoguchi.web.export import BOM

from . import actions, queries
from .export import wide_csv
from .forms import ReleaseForm
from .models import StatisticsRelease
from .tables import FIELD_LABELS, for_display


def _require_publisher(request: HttpRequest) -> None:
    if not access.can_publish_statistics(request.user):
        raise Http404


@staff_required
def releases(request: HttpRequest) -> HttpResponse:
    """The releases so far, and the form that builds a new one (a draft to preview)."""
    _require_publisher(request)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        release = actions.do_create_release(
            form.cleaned_data["period_from"],
            form.cleaned_data["period_to"],
            form.breakdowns(),
            acting_user=request.user,
        )
        return redirect("stats_console:release", release_id=release.pk)
    rows = [
        (r, " × ".join(str(FIELD_LABELS.get(f, f)) for f in r.breakdowns))
        for r in queries.visible_releases(request.user)[:200]
    ]
    return render(
        request,
        "stats/console_releases.html",
        {"form": form, "rows": rows, "min_cell": settings.STATS_MIN_CELL},
    )


@staff_required
def release(request: HttpRequest, release_id: int) -> HttpResponse:
    """The preview of a draft (computed now, suppressed exactly as it would be published)
    or the frozen table of a published release."""
    _require_publisher(request)
    found = queries.access_release(request.user, release_id)
    table = found.table if found.is_published else None
    if table is None:
        table = actions.compute_release_table(found, acting_user=request.user)
    return render(
        request,
        "stats/console_release.html",
        {"release": found, "table": _display(table)},
    )


@require_POST
@staff_required
def publish(request: HttpRequest, release_id: int) -> HttpResponse:
    _require_publisher(request)
    found = queries.access_release(request.user, release_id)
    if actions.do_publish_release(found, acting_user=request.user):
        messages.success(request, _("The release is published."))
    else:
        messages.info(request, _("This release was already published."))
    return redirect("stats_console:release", release_id=found.pk)


# --- public -------------------------------------------------------------------------------


def public_releases(request: HttpRequest) -> HttpResponse:
    rows = queries.published_releases()[:200]
    return render(request, "stats/public_releases.html", {"rows": rows})


def public_release(request: HttpRequest, release_id: int) -> HttpResponse:
    found = queries.access_published_release(release_id)
    assert found.table is not None  # published: frozen
    return render(
        request, "stats/public_release.html", {"release": found, "table": _display(found.table)}
    )


def _filename(found: StatisticsRelease, ext: str) -> str:
    return f"madoguchi-statistics-{found.pk}-{found.period_from}-{found.period_to}.{ext}"


def public_csv(request: HttpRequest, release_id: int) -> StreamingHttpResponse:
    """UTF-8 with a BOM (Japanese Excel), formulas neutralised, streamed."""
    found = queries.access_published_release(release_id)
    table = found.table
    assert table is not None  # published: frozen
    labels = {"total": _("Total"), "count": pgettext("statistics", "Inquiries")}

    def lines() -> Iterator[str]:
        yield BOM
        yield from wide_csv(table, desk_lang(), labels=labels)

    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in lines()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(found, "csv")}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def public_json(request: HttpRequest, release_id: int) -> HttpResponse:
    found = queries.access_published_release(release_id)
    body = {
        "id": found.pk,
        "published_at": found.published_at.isoformat() if found.published_at else None,
        **(found.table or {}),
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, indent=1), content_type="application/json"
    )
    response["Content-Disposition"] = f'inline; filename="{_filename(found, "json")}"'
    return response


def _display(table: dict[str, Any]) -> dict[str, Any]:
    return for_display(table, desk_lang())
