"""Aggregates the reports need that Django does not ship, on SQLite and PostgreSQL alike.

- ``Seconds(end, start)``: the seconds between two datetimes, as a float (NULL when
  either is NULL). PostgreSQL: ``EXTRACT(EPOCH FROM end - start)``; SQLite: the
  difference of ``julianday()`` values.
- ``Percentile(expression, fraction)``: the continuous percentile (linear interpolation,
  as PostgreSQL's ``percentile_cont``) of the non-NULL values of a group. PostgreSQL runs
  its own ordered-set aggregate; SQLite has none in the builds Debian ships, so the
  desk's SQLite connection registers ``mg_percentile`` (``register_sqlite``), an
  aggregate SQLite calls once per row inside the query, as Django itself does for
  ``STDDEV_POP`` on SQLite. Either way the rows never come back to the application:
  one number per group does.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import Aggregate, FloatField, Func


class Seconds(Func):
    output_field = FloatField()
    arity = 2

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores aware datetimes on SQLite as UTC text, which julianday() reads.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


class Percentile(Aggregate):
    """``Percentile("wait", 0.5)``: the median of ``wait`` in each group."""

    name = "Percentile"
    output_field = FloatField()
    allow_distinct = False

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function="percentile_cont",
            template=f"%(function)s({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function="mg_percentile",
            template=f"%(function)s(%(expressions)s, {self.fraction!r})",
            **extra,
        )


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont`` over ``values`` (any order)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _SqlitePercentile:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: Any, fraction: Any) -> None:
        self.fraction = float(fraction)
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return percentile_cont(self.values, self.fraction)


def register_sqlite(connection: Any) -> None:
    """Add ``mg_percentile`` to a new sqlite3 connection."""
    connection.create_aggregate("mg_percentile", 2, _SqlitePercentile)
