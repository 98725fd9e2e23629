"""No published table lets a reader recover a suppressed entry (issue 15).

For random one- and two-way tables (small, so that the search is quick), every entry the
engine suppressed — cell or total — takes at least two different values over the integer
completions of the table that agree with everything published: each shown number
exactly, ``< N`` entries in ``[1, N-1]``, ``x`` entries in ``[N, ∞)``, every row and
column adding up to its total. The completions are found by brute force over the
suppressed cells (totals follow from the cells), independently of the engine's own
circulation argument; the search looks within ±1 of the true values, which is where the
engine's argument says a second completion must be (so a failure here is a real one, or
the argument is wrong — either way a bug).

``STATS_EXAMPLES=5000`` for a long search.
"""

from __future__ import annotations

import itertools
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from madoguchi.stats.suppression import (
    SHOWN,
    SMALL,
    WITHHELD,
    Entry,
    suppress_one_way,
    suppress_two_way,
)

PROPERTY = settings(
    max_examples=int(os.environ.get("STATS_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Counts around the threshold are where the trouble is: 0, 1, N-1, N, N+1, and a few big.
THRESHOLDS = st.sampled_from([3, 5, 10])


def counts(threshold: int) -> st.SearchStrategy[int]:
    near = [0, 1, 2, threshold - 1, threshold, threshold + 1, 2 * threshold]
    return st.one_of(st.sampled_from(near), st.integers(0, 3 * threshold))


@st.composite
def one_way_tables(draw: st.DrawFn) -> tuple[list[int], int]:
    threshold = draw(THRESHOLDS)
    values = draw(st.lists(counts(threshold), min_size=1, max_size=7))
    return values, threshold


@st.composite
def two_way_tables(draw: st.DrawFn) -> tuple[list[list[int]], int]:
    threshold = draw(THRESHOLDS)
    rows = draw(st.integers(1, 3))
    cols = draw(st.integers(1, 3))
    grid = [[draw(counts(threshold)) for _ in range(cols)] for _ in range(rows)]
    return grid, threshold


def consistent(entry: Entry, value: int, threshold: int) -> bool:
    """Would a reader of ``entry`` accept ``value``?"""
    if entry.status == SHOWN:
        return value == entry.value
    if entry.status == SMALL:
        return 1 <= value <= threshold - 1
    return value >= threshold


def check_primary_rule(pairs: list[tuple[int, Entry]], threshold: int) -> None:
    for value, entry in pairs:
        if entry.status == SHOWN:
            assert entry.value == value  # no rounding here
            assert value == 0 or value >= threshold
        elif entry.status == SMALL:
            assert 0 < value < threshold
        else:
            assert entry.status == WITHHELD and value >= threshold


def values_taken(
    true_cells: list[int],
    suppressed: list[int],
    derive: callable,  # type: ignore[valid-type]
    entries: list[Entry],
    threshold: int,
) -> list[set[int]]:
    """For each entry (cells then totals, as ``derive`` lists them), the values it takes
    over the consistent completions found."""
    seen: list[set[int]] = [set() for _ in entries]
    ranges = [range(max(0, true_cells[k] - 1), true_cells[k] + 2) for k in suppressed]
    for choice in itertools.product(*ranges):
        cells = list(true_cells)
        for k, v in zip(suppressed, choice, strict=True):
            cells[k] = v
        values = derive(cells)
        if all(consistent(e, v, threshold) for e, v in zip(entries, values, strict=True)):
            for s, v in zip(seen, values, strict=True):
                s.add(v)
    return seen


@PROPERTY
@given(one_way_tables())
@example(([1, 1, 30], 10))
@example(([9], 10))
@example(([5, 0, 0], 10))
@example(([9, 9, 10], 10))
def test_one_way_tables_hide_every_suppressed_entry(table: tuple[list[int], int]) -> None:
    values, threshold = table
    out = suppress_one_way(values, threshold=threshold)
    entries = [*out.cells, out.total]
    if out.withheld:
        assert all(e.status == WITHHELD for e in entries)
        return
    check_primary_rule(list(zip([*values, sum(values)], entries, strict=True)), threshold)
    suppressed = [i for i, e in enumerate(out.cells) if e.status != SHOWN]
    seen = values_taken(values, suppressed, lambda cells: [*cells, sum(cells)], entries, threshold)
    assert sum(values) in seen[-1]  # the truth is one completion
    for entry, taken in zip(entries, seen, strict=True):
        if entry.status != SHOWN:
            assert len(taken) >= 2, (values, threshold, out)


def _derive_two_way(rows: int, cols: int):
    def derive(flat: list[int]) -> list[int]:
        grid = [flat[i * cols : (i + 1) * cols] for i in range(rows)]
        row_totals = [sum(r) for r in grid]
        col_totals = [sum(grid[i][j] for i in range(rows)) for j in range(cols)]
        return [*flat, *row_totals, *col_totals, sum(row_totals)]

    return derive


@PROPERTY
@given(two_way_tables())
@example(([[1, 1, 30], [20, 20, 20]], 10))
@example(([[5]], 10))
@example(([[1, 0], [0, 1]], 10))
@example(([[9, 9], [9, 9]], 10))
@example(([[10, 1], [10, 30]], 10))
def test_two_way_tables_hide_every_suppressed_entry(table: tuple[list[list[int]], int]) -> None:
    grid, threshold = table
    rows, cols = len(grid), len(grid[0])
    out = suppress_two_way(grid, threshold=threshold)
    entries = [*itertools.chain(*out.cells), *out.row_totals, *out.column_totals, out.total]
    if out.withheld:
        assert all(e.status == WITHHELD for e in entries)
        return
    flat = list(itertools.chain(*grid))
    derive = _derive_two_way(rows, cols)
    check_primary_rule(list(zip(derive(flat), entries, strict=True)), threshold)
    suppressed = [k for k, e in enumerate(entries[: len(flat)]) if e.status != SHOWN]
    seen = values_taken(flat, suppressed, derive, entries, threshold)
    for entry, taken, truth in zip(entries, seen, derive(flat), strict=True):
        assert truth in taken
        if entry.status != SHOWN:
            assert len(taken) >= 2, (grid, threshold, out)
