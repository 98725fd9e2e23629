"""Count tables of inquiries, computed in the database, suppressed, frozen as JSON.

``count_table`` runs one aggregate query (``values(...).annotate(Count)``) over the
inquiries it is given (always a QuerySet from the access module), by one or two
breakdowns, over a period of days in the desk's time zone; no row is loaded.
``build_table`` adds the suppression (``suppression``) and returns the JSON-ready dict
that a release freezes at publication and that the pages, CSV, JSON and the command
line all render. Only counts and the labels of the breakdowns' values (channel names,
category names, …) are in it: never a text or an identifier of an inquiry or a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay
from django.utils import translation
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.clock import desk_zone
from madoguchi.core.i18n import LANG_CHOICES
from madoguchi.inquiries.models import Category, Channel, Inquiry, MemberCategory

from . import suppression
from .fields import FIELDS

FORMAT_VERSION = 1

FIELD_LABELS: dict[str, Any] = {
    "channel": _("Channel"),
    "category": _("Category"),
    "member_category": _("Member category"),
    "lang": _("Language"),
    "weekday": pgettext_lazy("statistics", "Weekday"),
    "hour": pgettext_lazy("statistics", "Hour of the day"),
}
NOT_GIVEN = pgettext_lazy("statistics", "Not given")


@dataclass(frozen=True)
class Period:
    """Days in the desk's time zone, both ends included; None: open-ended."""

    start: dt.date | None = None
    end: dt.date | None = None

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        zone = desk_zone()
        low = dt.datetime.combine(self.start, dt.time(), zone) if self.start else None
        high = (
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), zone)
            if self.end
            else None
        )
        return low, high


def _key_expression(field: str) -> Any:
    if field == "category":
        return F("category__slug")
    if field == "weekday":
        return ExtractIsoWeekDay("created_at", tzinfo=desk_zone())
    if field == "hour":
        return ExtractHour("created_at", tzinfo=desk_zone())
    return F(field)


def count_table(
    inquiries: QuerySet[Inquiry], by: Sequence[str], period: Period
) -> dict[tuple[Any, ...], int]:
    """``{(key, ...): count}`` for the keys present: one aggregate query."""
    if not 1 <= len(by) <= 2 or len(set(by)) != len(by) or any(f not in FIELDS for f in by):
        raise ValueError(f"breakdowns must be one or two different of {', '.join(FIELDS)}")
    low, high = period.bounds()
    qs = inquiries
    if low is not None:
        qs = qs.filter(created_at__gte=low)
    if high is not None:
        qs = qs.filter(created_at__lt=high)
    names = [f"k{i}" for i in range(len(by))]
    rows = (
        qs.order_by()
        .values(**{n: _key_expression(f) for n, f in zip(names, by, strict=True)})
        .annotate(n=Count("id"))
        .values_list(*names, "n")
    )
    return {tuple("" if k is None else k for k in row[:-1]): row[-1] for row in rows}


def _labels(label: Any) -> dict[str, str]:
    out = {}
    for code, _name in LANG_CHOICES:
        with translation.override(code):
            out[code] = str(label)
    return out


def _domain(field: str, seen: set[Any]) -> list[dict[str, Any]]:
    """Every value of a breakdown, with its labels in each language: the known values
    (shown even at zero, so that a table's shape does not depend on its data), then any
    other value that occurs."""
    known: list[tuple[Any, dict[str, str]]]
    if field == "channel":
        known = [(value, _labels(label)) for value, label in Channel.choices]
    elif field == "category":
        known = [
            (c.slug, {"ja": c.name_ja, "en": c.name_en or c.name_ja})
            for c in Category.objects.order_by("sort_order", "slug")
        ]
        known.append(("", _labels(NOT_GIVEN)))
    elif field == "member_category":
        known = [(value, _labels(label)) for value, label in MemberCategory.choices]
        known.append(("", _labels(NOT_GIVEN)))
    elif field == "lang":
        known = [(code, {"ja": name, "en": name}) for code, name in LANG_CHOICES]
    elif field == "weekday":
        # ISO weekdays 1 (Monday) to 7; Django's own translated names.
        known = [(i + 1, _labels(WEEKDAYS[i])) for i in range(7)]
    else:  # hour
        known = [(h, {"ja": f"{h}時", "en": f"{h:02d}:00"}) for h in range(24)]
    keys = {k for k, _labels_ in known}
    extra = sorted((k for k in seen if k not in keys), key=str)
    known += [(k, {"ja": str(k) or "—", "en": str(k) or "—"}) for k in extra]
    return [{"key": k, "label": labels} for k, labels in known]


def _cell(entry: suppression.Entry, threshold: int) -> int | str:
    """A frozen entry: the count, ``"<N"`` (primary suppression) or ``"x"`` (secondary)."""
    return entry.value if entry.value is not None else entry.text(threshold, compact=True)


def build_table(
    inquiries: QuerySet[Inquiry],
    by: Sequence[str],
    period: Period,
    *,
    threshold: int,
    round_to: int = 1,
) -> dict[str, Any]:
    """The suppressed table as a JSON-ready dict (what a release freezes)."""
    counts = count_table(inquiries, by, period)
    rows = _domain(by[0], {k[0] for k in counts})
    head: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "period": {
            "from": period.start.isoformat() if period.start else None,
            "to": period.end.isoformat() if period.end else None,
        },
        "breakdowns": list(by),
        "breakdown_labels": [_labels(FIELD_LABELS[f]) for f in by],
        "threshold": threshold,
        "rounding": round_to,
        "rows": rows,
    }
    if len(by) == 1:
        one = suppression.suppress_one_way(
            [counts.get((r["key"],), 0) for r in rows], threshold=threshold, round_to=round_to
        )
        return {
            **head,
            "columns": [],
            "cells": [_cell(e, threshold) for e in one.cells],
            "total": _cell(one.total, threshold),
            "withheld": one.withheld,
        }
    columns = _domain(by[1], {k[1] for k in counts})
    grid = [[counts.get((r["key"], c["key"]), 0) for c in columns] for r in rows]
    two = suppression.suppress_two_way(grid, threshold=threshold, round_to=round_to)
    return {
        **head,
        "columns": columns,
        "cells": [[_cell(e, threshold) for e in row] for row in two.cells],
        "row_totals": [_cell(e, threshold) for e in two.row_totals],
        "column_totals": [_cell(e, threshold) for e in two.column_totals],
        "total": _cell(two.total, threshold),
        "withheld": two.withheld,
    }


# --- reading a frozen table --------------------------------------------------------------


def shown(value: int | str, threshold: int, *, compact: bool = False) -> str:
    """How an entry reads: ``12``, ``< 10`` (``<10`` when compact), ``x``."""
    if isinstance(value, int):
        return str(value)
    if value.startswith("<"):
        return f"<{threshold}" if compact else f"< {threshold}"
    return value


def for_display(table: dict[str, Any], lang: str, *, compact: bool = False) -> dict[str, Any]:
    """The frozen table in the reader's language, rows ready for a template: each cell a
    ``(text, kind)`` with kind ``""``, ``"small"`` or ``"withheld"``."""
    threshold = table["threshold"]

    def cell(value: int | str) -> tuple[str, str]:
        kind = "" if isinstance(value, int) else ("small" if value.startswith("<") else "withheld")
        return shown(value, threshold, compact=compact), kind

    def label(item: dict[str, Any]) -> str:
        return str(item["label"].get(lang) or item["label"].get("ja") or item["key"])

    two = bool(table["columns"])
    rows = []
    for i, item in enumerate(table["rows"]):
        if two:
            cells = [cell(v) for v in table["cells"][i]] + [cell(table["row_totals"][i])]
        else:
            cells = [cell(table["cells"][i])]
        rows.append({"label": label(item), "cells": cells})
    footer = (
        [cell(v) for v in table["column_totals"]] + [cell(table["total"])]
        if two
        else [cell(table["total"])]
    )
    names = [str(n.get(lang) or n.get("ja")) for n in table["breakdown_labels"]]
    return {
        "two_way": two,
        "row_field": names[0],
        "column_field": names[1] if two else "",
        "columns": [label(c) for c in table["columns"]],
        "rows": rows,
        "footer": footer,
        "threshold": threshold,
        "rounding": table["rounding"],
        "withheld": table["withheld"],
    }
