"""A frozen table as CSV (streamed line by line) and JSON.

- ``wide_csv``: the table as it reads on the page (labels in the reader's language, a
  total column and row), for spreadsheets; the web download puts a BOM first so that
  Japanese Excel reads it as UTF-8.
- ``long_csv``: one line per entry with the breakdowns' keys (slugs, numbers), ``*``
  for a total, for scripts (``madoguchi stats``).

Every text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return)
is neutralised with a leading ``'`` so that a spreadsheet does not read it as a formula
(a category could be named ``=HYPERLINK(…)``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from madoguchi.web.export import neutralise

from .tables import for_display

TOTAL_KEY = "*"


class _Line:
    """A file-like that hands back what ``csv.writer`` wrote, one line at a time."""

    def write(self, text: str) -> str:
        return text


def _lines(rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line(), lineterminator="\r\n")
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])


def wide_csv(table: dict[str, Any], lang: str, *, labels: dict[str, str]) -> Iterator[str]:
    """``labels``: the translated words ``total`` and ``count``."""
    shown = for_display(table, lang, compact=True)

    def rows() -> Iterator[list[Any]]:
        if shown["two_way"]:
            corner = f"{shown['row_field']} \\ {shown['column_field']}"
            yield [corner, *shown["columns"], labels["total"]]
        else:
            yield [shown["row_field"], labels["count"]]
        for row in shown["rows"]:
            yield [row["label"], *(text for text, _kind in row["cells"])]
        yield [labels["total"], *(text for text, _kind in shown["footer"])]

    return _lines(rows())


def long_csv(table: dict[str, Any]) -> Iterator[str]:
    """Breakdown keys then ``count``; suppressed entries as ``<N`` or ``x``."""

    def rows() -> Iterator[list[Any]]:
        yield [*table["breakdowns"], "count"]
        keys = [r["key"] for r in table["rows"]]
        if not table["columns"]:
            for key, value in zip(keys, table["cells"], strict=True):
                yield [key, value]
            yield [TOTAL_KEY, table["total"]]
            return
        columns = [c["key"] for c in table["columns"]]
        for i, key in enumerate(keys):
            for j, column in enumerate(columns):
                yield [key, column, table["cells"][i][j]]
            yield [key, TOTAL_KEY, table["row_totals"][i]]
        for j, column in enumerate(columns):
            yield [TOTAL_KEY, column, table["column_totals"][j]]
        yield [TOTAL_KEY, TOTAL_KEY, table["total"]]

    return _lines(rows())
