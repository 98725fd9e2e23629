"""The suppression engine on tables worked by hand, rounding, and the CSV writers."""

from __future__ import annotations

import pytest

from madoguchi.stats.export import long_csv
from madoguchi.stats.fields import parse_breakdowns, parse_day
from madoguchi.stats.suppression import (
    SHOWN,
    SMALL,
    WITHHELD,
    Entry,
    TableError,
    suppress_one_way,
    suppress_two_way,
)
from madoguchi.web.export import neutralise


def statuses(entries: list[Entry]) -> list[str]:
    return [e.status for e in entries]


def test_nothing_small_nothing_hidden() -> None:
    out = suppress_one_way([10, 0, 25], threshold=10)
    assert [e.value for e in out.cells] == [10, 0, 25]
    assert out.total == Entry(SHOWN, 35)


def test_one_small_cell_takes_the_smallest_other_with_it_and_zeros_stay() -> None:
    out = suppress_one_way([4, 0, 12, 30], threshold=10)
    assert statuses(out.cells) == [SMALL, SHOWN, WITHHELD, SHOWN]
    assert out.cells[1].value == 0 and out.cells[3].value == 30
    assert out.total == Entry(SHOWN, 46)  # 46 - 30 = 4 + 12: neither is known


def test_a_lone_small_cell_among_zeros_hides_the_total() -> None:
    out = suppress_one_way([5, 0, 0], threshold=10)
    assert statuses(out.cells) == [SMALL, SHOWN, SHOWN]
    assert out.total.status == SMALL


def test_two_ones_are_not_enough_when_their_sum_gives_them_away() -> None:
    # 1 + 1 = 32 - 30: both small cells would be 1. A third entry must go.
    out = suppress_one_way([1, 1, 30], threshold=10)
    assert statuses(out.cells) == [SMALL, SMALL, WITHHELD]
    assert out.total == Entry(SHOWN, 32)


def test_two_way_rows_and_columns_each_get_a_second_suppression() -> None:
    grid = [[3, 20, 25], [15, 30, 40], [12, 11, 50]]
    out = suppress_two_way(grid, threshold=10)
    shown = [[e.text(10) if e.status != SHOWN else e.value for e in row] for row in out.cells]
    # 3's row takes its smallest other (20), its column its smallest (12); 12's row then
    # needs a second one (11), and 20's and 11's column has two already. Totals stay.
    assert shown == [["< 10", "x", 25], [15, 30, 40], ["x", "x", 50]]
    assert all(e.status == SHOWN for e in (*out.row_totals, *out.column_totals, out.total))


def test_margins_below_the_threshold_are_small_too() -> None:
    out = suppress_two_way([[2, 0], [0, 30]], threshold=10)
    assert out.row_totals[0].status == SMALL
    assert out.column_totals[0].status == SMALL
    assert out.cells[1][1].status != SHOWN  # else 2 = total - 30
    assert out.cells[0][1] == Entry(SHOWN, 0) and out.cells[1][0] == Entry(SHOWN, 0)


def test_rounding_applies_to_shown_entries_on_their_true_values() -> None:
    out = suppress_one_way([12, 13, 0, 40], threshold=10, round_to=5)
    assert [e.value for e in out.cells] == [10, 15, 0, 40]
    assert out.total == Entry(SHOWN, 65)  # 65, not 10 + 15 + 40
    tiny = suppress_one_way([11], threshold=10, round_to=50)
    assert tiny.cells[0] == Entry(SHOWN, 50)  # a count is never rounded down to none


def test_texts_of_entries() -> None:
    assert Entry(SMALL).text(10) == "< 10"
    assert Entry(SMALL).text(10, compact=True) == "<10"
    assert Entry(WITHHELD).text(10) == "x"
    assert Entry(SHOWN, 7).text(10) == "7"


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        (lambda: suppress_one_way([], threshold=10), {}),
        (lambda: suppress_one_way([-1], threshold=10), {}),
        (lambda: suppress_one_way([1], threshold=0), {}),
        (lambda: suppress_one_way([1], threshold=10, round_to=0), {}),
        (lambda: suppress_two_way([[1], [1, 2]], threshold=10), {}),
        (lambda: suppress_two_way([], threshold=10), {}),
    ],
)
def test_bad_tables_are_refused(call, kwargs) -> None:
    with pytest.raises(TableError):
        call()


def test_threshold_one_suppresses_nothing() -> None:
    out = suppress_two_way([[1, 2], [0, 3]], threshold=1)
    assert all(e.status == SHOWN for row in out.cells for e in row)


def test_breakdown_and_day_parsing() -> None:
    assert parse_breakdowns("channel") == ("channel",)
    assert parse_breakdowns("weekday, hour") == ("weekday", "hour")
    for bad in ("", "nope", "channel,channel", "channel,lang,hour"):
        with pytest.raises(ValueError):
            parse_breakdowns(bad)
    assert str(parse_day("2026-04-01")) == "2026-04-01"
    for bad in ("2026-4-1x", "20260401", "2026/04/01", "2026-02-30"):
        with pytest.raises(ValueError):
            parse_day(bad)


def test_formula_starts_are_neutralised() -> None:
    assert neutralise("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    for start in "+-@\t\r":
        assert neutralise(start + "x").startswith("'")
    assert neutralise("<10") == "<10" and neutralise(12) == "12" and neutralise("x") == "x"


def test_long_csv_lists_every_entry_with_keys() -> None:
    table = {
        "breakdowns": ["channel", "lang"],
        "rows": [{"key": "form"}, {"key": "-chat"}],
        "columns": [{"key": "ja"}, {"key": "en"}],
        "cells": [[12, "<10"], ["x", 0]],
        "row_totals": ["x", "x"],
        "column_totals": [30, "x"],
        "total": 40,
    }
    assert "".join(long_csv(table)).splitlines() == [
        "channel,lang,count",
        "form,ja,12",
        "form,en,<10",
        "form,*,x",
        "'-chat,ja,x",
        "'-chat,en,0",
        "'-chat,*,x",
        "*,ja,30",
        "*,en,x",
        "*,*,40",
    ]


def test_an_empty_period_is_all_zeros_and_nothing_hidden() -> None:
    out = suppress_two_way([[0, 0], [0, 0]], threshold=10)
    assert all(e == Entry(SHOWN, 0) for row in out.cells for e in row)
    assert out.total == Entry(SHOWN, 0) and not out.withheld
