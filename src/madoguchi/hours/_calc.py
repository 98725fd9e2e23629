"""Arithmetic on a schedule's open time.

Everything runs on UTC instants internally (aware-datetime subtraction within one
zoneinfo tz is wall-clock arithmetic and wrong across DST).  A local day is turned
into disjoint UTC *pieces* once and cached on the schedule; pieces of consecutive
days may touch (24:00 = 00:00) but never overlap.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Iterator
from typing import NamedTuple

from ._errors import NoOpenTimeError
from ._schedule import MINUTES_PER_DAY, Schedule

UTC = dt.UTC
#: Give up after this many consecutive days without any open time.
HORIZON_DAYS = 3 * 366
_HORIZON = dt.timedelta(days=HORIZON_DAYS)
_ONE_DAY = dt.timedelta(days=1)
_CACHE_LIMIT = 8192
# Keep a margin from date.min/date.max so that offsets and +1 day never overflow.
_FIRST_DAY = dt.date(1, 1, 3)
_LAST_DAY = dt.date(9999, 12, 29)

Piece = tuple[dt.datetime, dt.datetime]


class OpenInterval(NamedTuple):
    """An open period ``[start, end)``, both aware, in the schedule's time zone.

    Use :attr:`duration`: ``end - start`` on two datetimes of one zoneinfo zone is
    wall-clock arithmetic and off by the DST shift across a transition.
    """

    start: dt.datetime
    end: dt.datetime

    @property
    def duration(self) -> dt.timedelta:
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)


def _as_utc(value: dt.datetime, name: str = "at") -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {value.isoformat()}; pass an aware datetime")
    return value.astimezone(UTC)


def resolve_local(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first UTC instant at which the wall clock in ``zone`` reads ``naive`` or later.

    Ambiguous times (DST fold) give their first occurrence; nonexistent times (DST
    gap) give the instant the gap ends (02:30 on a spring-forward night → 03:00).
    """
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(first, other), max(first, other)
    # In the gap: the wall clock is < naive before the transition and > naive after it.
    low, high = 0, int((hi - lo).total_seconds())
    while low < high:
        mid = (low + high) // 2
        if (lo + dt.timedelta(seconds=mid)).astimezone(zone).replace(tzinfo=None) >= naive:
            high = mid
        else:
            low = mid + 1
    return lo + dt.timedelta(seconds=low)


def _local_minutes(schedule: Schedule, day: dt.date) -> list[tuple[int, int]]:
    """Open minutes of local ``day`` as disjoint, non-touching ranges within [0, 1440]."""
    spans = [(r.start, MINUTES_PER_DAY if r.overnight else r.end) for r in schedule.hours_on(day)]
    spans += [(0, r.end) for r in schedule.hours_on(day - _ONE_DAY) if r.overnight]
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _day_pieces(schedule: Schedule, day: dt.date) -> tuple[Piece, ...]:
    cache = schedule._cache
    pieces = cache.get(day)
    if pieces is None:
        zone = schedule.zone
        midnight = dt.datetime.combine(day, dt.time())
        out = []
        for start, end in _local_minutes(schedule, day):
            s = resolve_local(midnight + dt.timedelta(minutes=start), zone)
            e = resolve_local(midnight + dt.timedelta(minutes=end), zone)
            if s < e:  # a range entirely inside a DST gap is empty
                out.append((s, e))
        pieces = tuple(out)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[day] = pieces
    return pieces


def _pieces(
    schedule: Schedule, after: dt.datetime, until: dt.datetime | None = None
) -> Iterator[Piece]:
    """Pieces (UTC) that end after ``after``, in order.

    With ``until``: stops once pieces start at or after ``until``.  Without: stops
    after :data:`HORIZON_DAYS` consecutive local days without open time.
    """
    zone = schedule.zone
    day = max(after.astimezone(zone).date(), _FIRST_DAY) - _ONE_DAY
    last_day = _LAST_DAY
    if until is not None:
        last_day = min(last_day, until.astimezone(zone).date() + _ONE_DAY)
    last_open = day
    while day <= last_day:
        for piece in _day_pieces(schedule, day):
            if until is not None and piece[0] >= until:
                return
            if piece[1] > after:
                last_open = day
                yield piece
        if until is None and (day - last_open).days > HORIZON_DAYS:
            return
        day += _ONE_DAY


def is_open(schedule: Schedule, at: dt.datetime) -> bool:
    """Whether ``at`` lies inside an open period (periods are half-open ``[start, end)``)."""
    at_utc = _as_utc(at)
    for start, _end in _pieces(schedule, at_utc):
        return start <= at_utc
    return False


def closes_at(schedule: Schedule, at: dt.datetime) -> dt.datetime | None:
    """End of the open period containing ``at``, adjacent periods merged.

    ``None`` when closed at ``at`` or when the period does not end within the search
    horizon (24/7).
    """
    at_utc = _as_utc(at)
    limit = at_utc + _HORIZON
    pieces = _pieces(schedule, at_utc)
    first = next(pieces, None)
    if first is None or first[0] > at_utc:
        return None
    end = first[1]
    for start, piece_end in pieces:
        if start != end or end > limit:
            break
        end = piece_end
    if end > limit:
        return None
    return end.astimezone(schedule.zone)


def next_open(schedule: Schedule, at: dt.datetime) -> dt.datetime | None:
    """``at`` (in the schedule's zone) if open, else the start of the next open period;
    ``None`` if nothing opens within the search horizon."""
    at_utc = _as_utc(at)
    for start, _end in _pieces(schedule, at_utc):
        return max(start, at_utc).astimezone(schedule.zone)
    return None


def _as_timedelta(minutes: float) -> dt.timedelta:
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise TypeError(f"minutes: expected a number, got {type(minutes).__name__}")
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"minutes: expected a finite number >= 0, got {minutes!r}")
    return dt.timedelta(minutes=minutes)


def add_business_minutes(schedule: Schedule, start: dt.datetime, minutes: float) -> dt.datetime:
    """The earliest instant by which ``minutes`` of open time have elapsed since ``start``.

    Landing exactly on the end of an open period returns that end (not the next
    opening), which makes ``add(add(s, a), b) == add(s, a + b)`` for ``a, b > 0``.
    ``minutes == 0`` returns :func:`next_open` (``start`` itself when open).  The result
    is never strictly inside a closed period.  Raises :class:`NoOpenTimeError` when
    the schedule runs out of open time (search horizon).
    """
    start_utc = _as_utc(start, "start")
    remaining = _as_timedelta(minutes)
    for piece_start, piece_end in _pieces(schedule, start_utc):
        begin = max(piece_start, start_utc)
        available = piece_end - begin
        if remaining <= available:
            return (begin + remaining).astimezone(schedule.zone)
        remaining -= available
    raise NoOpenTimeError(
        f"no open time within {HORIZON_DAYS} days after {start.isoformat()} on this schedule"
    )


def business_minutes_between(schedule: Schedule, a: dt.datetime, b: dt.datetime) -> float:
    """Open minutes in ``[a, b)``; negative when ``b < a``."""
    a_utc, b_utc = _as_utc(a, "a"), _as_utc(b, "b")
    if b_utc < a_utc:
        return -business_minutes_between(schedule, b, a)
    total = dt.timedelta()
    for start, end in _pieces(schedule, a_utc, b_utc):
        total += min(end, b_utc) - max(start, a_utc)
    return total / dt.timedelta(minutes=1)


def open_intervals(
    schedule: Schedule, start: dt.datetime, end: dt.datetime
) -> Iterator[OpenInterval]:
    """Open periods within ``[start, end)``, clipped to it, adjacent periods merged."""
    start_utc, end_utc = _as_utc(start, "start"), _as_utc(end, "end")
    if end_utc <= start_utc:
        return
    zone = schedule.zone
    current: Piece | None = None
    for piece_start, piece_end in _pieces(schedule, start_utc, end_utc):
        s, e = max(piece_start, start_utc), min(piece_end, end_utc)
        if current is not None and s == current[1]:
            current = (current[0], e)
            continue
        if current is not None:
            yield OpenInterval(current[0].astimezone(zone), current[1].astimezone(zone))
        current = (s, e)
    if current is not None:
        yield OpenInterval(current[0].astimezone(zone), current[1].astimezone(zone))
