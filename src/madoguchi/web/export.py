"""Exports as files people open in a spreadsheet: CSV streamed row by row, UTF-8 with a
byte-order mark (Japanese Excel reads UTF-8 only with it), every cell that a spreadsheet
would take for a formula neutralised (a leading ``'``), and a download name that is safe
in a header. The caller has checked access; the rows come from an iterator, so a large
export is never held in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

BOM = "\ufeff"
# =, +, -, @ start a formula; tab and carriage return let one hide behind a cell's start.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([neutralise(h) for h in header])
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])


def _disposition(filename: str) -> str:
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return f'attachment; filename="{safe or "export"}"'


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = _disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def json_lines_response(filename: str, rows: Iterable[dict[str, Any]]) -> StreamingHttpResponse:
    """JSON Lines: one object per line, streamed (a JSON array could not be)."""
    lines = (json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = _disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def json_response(filename: str, data: Any) -> HttpResponse:
    """One JSON document (small: a report's figures), as a download with the same headers
    as the streamed exports."""
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=1, default=str),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = _disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
