"""Small-cell suppression of count tables: pure, no Django.

What an attacker is assumed to know, and what this module guarantees
-------------------------------------------------------------------
A table is published with its margins (row totals, column totals, the grand total; a
one-way table has only its total). Every number in it, margins included, is an *entry*:

- ``0`` is shown as ``0`` (no inquiry of that kind; zeros are never suppressed);
- ``0 < v < N`` is **primarily suppressed** and shown as ``< N`` (``SMALL``);
- ``v >= N`` is shown, or **secondarily suppressed** (``WITHHELD``, shown ``x``) so that a
  small entry cannot be worked out from the others.

So a reader knows each shown entry exactly, that a ``SMALL`` entry lies in ``[1, N-1]``
and a ``WITHHELD`` one in ``[N, ∞)``, and the linear relations between entries (each
row and column adds up to its total). :func:`suppress_one_way` and
:func:`suppress_two_way` guarantee that for **every** suppressed entry there are two
completions of the table, with different values for that entry, that agree with
everything shown (tests/unit/stats/test_suppression_property.py checks it by search).

How: a table with its margins is a *circulation* — each row, each column, the row of
column totals and the column of row totals is a node, each entry an edge, and every node
balances (its members add up to its margin). An entry can change, keeping every shown
number, exactly when a cycle through it exists among the suppressed edges in the residual
graph (room to move up or down within their ranges); the constraint matrix is totally
unimodular, so a change by one is always possible in integers. :func:`determined` is
that test. :func:`_suppress` first applies the usual line rule (a row, column or margin
line with one suppressed entry gets a second, its smallest non-zero shown entry, or its
total when it has none), then adds entries until no suppressed entry is determined.
Should even that fail (every non-zero entry suppressed and still one is determined, a
corner the property test has not reached), the whole table is withheld: every entry,
zeros included, is ``x``.

Rounding (``round_to`` > 1) is applied to shown entries only, after suppression, on the
true values (totals are rounded totals, not sums of rounded cells); it only widens what a
reader can infer.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

SHOWN: Literal["shown"] = "shown"
SMALL: Literal["small"] = "small"
WITHHELD: Literal["withheld"] = "withheld"
Status = Literal["shown", "small", "withheld"]


@dataclass(frozen=True)
class Entry:
    """One published number: ``value`` is None unless ``status`` is ``shown``."""

    status: Status
    value: int | None = None

    def text(self, threshold: int, *, compact: bool = False) -> str:
        """``12``, ``< 10`` (``<10`` when compact) or ``x``."""
        if self.status == SMALL:
            return f"<{threshold}" if compact else f"< {threshold}"
        if self.status == WITHHELD:
            return "x"
        return str(self.value)


@dataclass(frozen=True)
class OneWay:
    cells: list[Entry]
    total: Entry
    withheld: bool = False


@dataclass(frozen=True)
class TwoWay:
    cells: list[list[Entry]]
    row_totals: list[Entry]
    column_totals: list[Entry]
    total: Entry
    withheld: bool = False


class TableError(ValueError):
    pass


# --- the circulation ---------------------------------------------------------------------


@dataclass
class _Edge:
    tail: str
    head: str
    value: int
    low: int = 0
    high: float = 0  # inf for WITHHELD
    suppressed: bool = False


@dataclass
class _Shape:
    """Entries (edges of the circulation, keyed) and lines (one per balance: members and
    the margin they add up to)."""

    edges: dict[tuple[int, int], _Edge]
    lines: list[tuple[list[tuple[int, int]], tuple[int, int]]]


def _one_way_shape(values: Sequence[int]) -> _Shape:
    # Cells go A -> B, the total B -> A; one line (the cells add up to the total).
    total = (-1, -1)
    edges = {(i, 0): _Edge("A", "B", v) for i, v in enumerate(values)}
    edges[total] = _Edge("B", "A", sum(values))
    return _Shape(edges, [([(i, 0) for i in range(len(values))], total)])


def _two_way_shape(grid: Sequence[Sequence[int]]) -> _Shape:
    # Nodes: r<i> rows, c<j> columns, "ct" the column of row totals, "rt" the row of
    # column totals. Index -1 is the margin: (i, -1) row total, (-1, j) column total.
    rows, cols = len(grid), len(grid[0])
    edges: dict[tuple[int, int], _Edge] = {}
    for i in range(rows):
        for j in range(cols):
            edges[i, j] = _Edge(f"r{i}", f"c{j}", grid[i][j])
        edges[i, -1] = _Edge("ct", f"r{i}", sum(grid[i]))
    for j in range(cols):
        edges[-1, j] = _Edge(f"c{j}", "rt", sum(grid[i][j] for i in range(rows)))
    edges[-1, -1] = _Edge("rt", "ct", sum(map(sum, grid)))
    lines = [([(i, j) for j in range(cols)], (i, -1)) for i in range(rows)]
    lines += [([(i, j) for i in range(rows)], (-1, j)) for j in range(cols)]
    lines.append(([(i, -1) for i in range(rows)], (-1, -1)))
    lines.append(([(-1, j) for j in range(cols)], (-1, -1)))
    return _Shape(edges, lines)


def _set_suppressed(edge: _Edge, threshold: int) -> None:
    edge.suppressed = True
    if edge.value < threshold:
        edge.low, edge.high = 1, threshold - 1
    else:
        edge.low, edge.high = threshold, float("inf")


def _reachable(shape: _Shape, start: str, goal: str, skip: tuple[int, int]) -> bool:
    """Is there a path start ⇝ goal in the residual graph of the suppressed edges but
    ``skip``? An edge a->b offers a->b while below its high, b->a while above its low."""
    arcs: dict[str, list[str]] = defaultdict(list)
    for key, e in shape.edges.items():
        if not e.suppressed or key == skip:
            continue
        if e.value < e.high:
            arcs[e.tail].append(e.head)
        if e.value > e.low:
            arcs[e.head].append(e.tail)
    seen, todo = {start}, deque([start])
    while todo:
        node = todo.popleft()
        if node == goal:
            return True
        for nxt in arcs[node]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _is_determined(shape: _Shape, key: tuple[int, int]) -> bool:
    e = shape.edges[key]
    can_rise = e.value < e.high and _reachable(shape, e.head, e.tail, key)
    can_fall = e.value > e.low and _reachable(shape, e.tail, e.head, key)
    return not (can_rise or can_fall)


def determined(shape: _Shape) -> list[tuple[int, int]]:
    """The suppressed entries whose value follows from what is shown."""
    return [k for k, e in shape.edges.items() if e.suppressed and _is_determined(shape, k)]


def _smallest(shape: _Shape, keys: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """The shown, non-zero entry of ``keys`` with the smallest value (first on ties)."""
    best = None
    for k in keys:
        e = shape.edges[k]
        if not e.suppressed and e.value > 0 and (best is None or e.value < shape.edges[best].value):
            best = k
    return best


def _suppress(shape: _Shape, threshold: int) -> bool:
    """Suppress in place; False when the table must be withheld whole."""
    for e in shape.edges.values():
        if 0 < e.value < threshold:
            _set_suppressed(e, threshold)
    # The line rule, to a fixed point: no line with exactly one suppressed entry.
    changed = True
    while changed:
        changed = False
        for members, margin in shape.lines:
            line = [*members, margin]
            if sum(shape.edges[k].suppressed for k in line) != 1:
                continue
            # The smallest shown member, else the total (not zero: it holds the member).
            pick = _smallest(shape, members)
            if pick is None and not shape.edges[margin].suppressed:
                pick = margin
            if pick is None:  # the total alone is suppressed and every member is 0: never
                continue
            _set_suppressed(shape.edges[pick], threshold)
            changed = True
    # The exact check, to a fixed point: complement each determined entry in its lines.
    while True:
        stuck = determined(shape)
        if not stuck:
            return True
        key = stuck[0]
        near = [
            k
            for members, margin in shape.lines
            if key in (*members, margin)
            for k in (*members, margin)
        ]
        pick = _smallest(shape, near)
        if pick is None:
            pick = _smallest(shape, list(shape.edges))
        if pick is None:
            return False
        _set_suppressed(shape.edges[pick], threshold)


def _rounded(value: int, round_to: int) -> int:
    if round_to <= 1 or value == 0:
        return value
    rounded = (value + round_to // 2) // round_to * round_to  # half up
    return max(rounded, round_to)  # a non-zero count never reads as 0


def _entry(edge: _Edge, threshold: int, round_to: int, withheld: bool) -> Entry:
    if withheld:  # zeros too: with every other entry hidden they could tell
        return Entry(WITHHELD)
    if not edge.suppressed:
        return Entry(SHOWN, _rounded(edge.value, round_to))
    return Entry(SMALL if edge.value < threshold else WITHHELD)


def _check(threshold: int, round_to: int) -> None:
    if threshold < 1:
        raise TableError("the threshold must be at least 1")
    if round_to < 1:
        raise TableError("rounding must be at least 1")


def suppress_one_way(values: Sequence[int], *, threshold: int, round_to: int = 1) -> OneWay:
    _check(threshold, round_to)
    if not values or any(v < 0 for v in values):
        raise TableError("a table needs at least one cell and no negative counts")
    shape = _one_way_shape(values)
    ok = _suppress(shape, threshold)
    cells = [_entry(shape.edges[i, 0], threshold, round_to, not ok) for i in range(len(values))]
    return OneWay(cells, _entry(shape.edges[-1, -1], threshold, round_to, not ok), not ok)


def suppress_two_way(grid: Sequence[Sequence[int]], *, threshold: int, round_to: int = 1) -> TwoWay:
    _check(threshold, round_to)
    if not grid or not grid[0] or any(len(row) != len(grid[0]) for row in grid):
        raise TableError("a two-way table needs rows of one length, at least 1×1")
    if any(v < 0 for row in grid for v in row):
        raise TableError("counts cannot be negative")
    shape = _two_way_shape(grid)
    ok = _suppress(shape, threshold)

    def entry(key: tuple[int, int]) -> Entry:
        return _entry(shape.edges[key], threshold, round_to, not ok)

    rows, cols = len(grid), len(grid[0])
    return TwoWay(
        cells=[[entry((i, j)) for j in range(cols)] for i in range(rows)],
        row_totals=[entry((i, -1)) for i in range(rows)],
        column_totals=[entry((-1, j)) for j in range(cols)],
        total=entry((-1, -1)),
        withheld=not ok,
    )
