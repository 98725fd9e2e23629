"""The schedule data model: frozen, hashable, convertible to and from plain JSON dicts."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import ScheduleError
from ._holidays import CountryHolidays, HolidaySource, holiday_source_from_dict

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_MMDD = re.compile(r"^(\d{2})-(\d{2})$")


def _parse_hhmm(text: str) -> int:
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"expected HH:MM, got {text!r}")
    hours, minutes = int(m.group(1)), int(m.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"not a time of day: {text!r}")
    return hours * 60 + minutes


def _format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, order=True)
class TimeRange:
    """Local wall-clock hours ``[start, end)`` in minutes after midnight.

    ``end`` may be 1440 (24:00).  ``end < start`` means the range crosses midnight
    (22:00–02:00): it belongs to the day it starts on, and runs into the next day.
    An end of 00:00 is stored as 24:00.  Empty ranges (``start == end``) are rejected.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ScheduleError(name, f"expected minutes as an int, got {value!r}")
        if not 0 <= self.start < MINUTES_PER_DAY:
            raise ScheduleError("start", f"must be within 00:00–23:59, got {self.start}")
        if not 0 <= self.end <= MINUTES_PER_DAY:
            raise ScheduleError("end", f"must be within 00:00–24:00, got {self.end}")
        if self.end == 0:
            object.__setattr__(self, "end", MINUTES_PER_DAY)
        if self.start == self.end:
            raise ScheduleError("", f"empty range {self}")

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """``"08:25-12:00"``, ``"13:00-24:00"``, ``"22:00-02:00"`` (crosses midnight)."""
        if not isinstance(text, str) or text.count("-") != 1:
            raise ScheduleError("", f'expected "HH:MM-HH:MM", got {text!r}')
        start, end = text.split("-")
        try:
            return cls(_parse_hhmm(start), _parse_hhmm(end))
        except ScheduleError as exc:
            raise ScheduleError("", f"{exc.message} in {text!r}") from None
        except ValueError as exc:
            raise ScheduleError("", str(exc)) from None

    @property
    def overnight(self) -> bool:
        return self.end < self.start

    @property
    def minutes(self) -> int:
        return (self.end - self.start) % MINUTES_PER_DAY or MINUTES_PER_DAY

    def __str__(self) -> str:
        return f"{_format_hhmm(self.start)}-{_format_hhmm(self.end)}"


def _check_day(ranges: tuple[TimeRange, ...]) -> None:
    """Ranges of one day must not overlap (touching is fine: 12:00-13:00, 13:00-14:00)."""
    for i, r in enumerate(ranges):
        if not isinstance(r, TimeRange):
            raise ScheduleError(f"[{i}]", f"expected a TimeRange, got {r!r}")
    spans = sorted(
        (r.start, MINUTES_PER_DAY if r.overnight else r.end, i) for i, r in enumerate(ranges)
    )
    for (_, prev_end, j), (start, _, i) in zip(spans, spans[1:], strict=False):
        if start < prev_end:
            raise ScheduleError(f"[{i}]", f"{ranges[i]} overlaps {ranges[j]}")


def _parse_ranges(data: Any, where: str) -> tuple[TimeRange, ...]:
    if not isinstance(data, list | tuple):
        raise ScheduleError(where, 'expected a list of "HH:MM-HH:MM" strings')
    out = []
    for i, item in enumerate(data):
        try:
            out.append(TimeRange.parse(item))
        except ScheduleError as exc:
            raise exc.under(f"{where}[{i}]") from None
    ranges = tuple(out)
    try:
        _check_day(ranges)
    except ScheduleError as exc:
        raise exc.under(where) from None
    return ranges


@dataclass(frozen=True)
class RecurringClosure:
    """Closed every year from (start_month, start_day) through (end_month, end_day), inclusive.

    A range may span the year boundary (12-29 through 01-03).  02-29 is allowed and
    simply matches nothing in common years.
    """

    start_month: int
    start_day: int
    end_month: int
    end_day: int
    label: str = ""

    def __post_init__(self) -> None:
        for prefix, (month, day) in (
            ("from", (self.start_month, self.start_day)),
            ("to", (self.end_month, self.end_day)),
        ):
            try:
                dt.date(2000, month, day)  # a leap year, so that 02-29 is valid
            except (TypeError, ValueError):
                raise ScheduleError(prefix, f"not a month/day: {month!r}/{day!r}") from None
        if not isinstance(self.label, str):
            raise ScheduleError("label", "expected a string")

    def covers(self, day: dt.date) -> bool:
        key = (day.month, day.day)
        start = (self.start_month, self.start_day)
        end = (self.end_month, self.end_day)
        if start <= end:
            return start <= key <= end
        return key >= start or key <= end

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": f"{self.start_month:02d}-{self.start_day:02d}",
            "to": f"{self.end_month:02d}-{self.end_day:02d}",
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: Any) -> RecurringClosure:
        if not isinstance(data, dict):
            raise ScheduleError("", 'expected an object {"from": "MM-DD", "to": "MM-DD"}')
        _reject_unknown(data, {"from", "to", "label"})
        parts = []
        for key in ("from", "to"):
            value = data.get(key)
            m = _MMDD.match(value) if isinstance(value, str) else None
            if not m:
                raise ScheduleError(key, f'expected "MM-DD", got {value!r}')
            parts += [int(m.group(1)), int(m.group(2))]
        return cls(parts[0], parts[1], parts[2], parts[3], label=data.get("label", ""))


@dataclass(frozen=True)
class DateException:
    """Overrides one local calendar date, before holidays, closures and weekly hours.

    - ``kind="closed"``: closed all day (a closure on a normal day).
    - ``kind="open"`` with ``hours``: open exactly these hours (changed or shortened
      hours, or a special open day on a holiday or weekend).
    - ``kind="open"`` without ``hours``: open the regular weekly hours of that weekday
      even though it is a holiday or a recurring closure (the desk's 2024-05-03).
    """

    day: dt.date
    kind: Literal["closed", "open"]
    hours: tuple[TimeRange, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.day, dt.date) or isinstance(self.day, dt.datetime):
            raise ScheduleError("date", f"expected a date, got {self.day!r}")
        if self.kind not in ("closed", "open"):
            raise ScheduleError("kind", f'expected "closed" or "open", got {self.kind!r}')
        if not isinstance(self.hours, tuple):
            raise ScheduleError("hours", "expected a tuple of TimeRange")
        if self.kind == "closed" and self.hours:
            raise ScheduleError("hours", "a closed day has no hours")
        try:
            _check_day(self.hours)
        except ScheduleError as exc:
            raise exc.under("hours") from None
        if not isinstance(self.label, str):
            raise ScheduleError("label", "expected a string")

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "kind": self.kind,
            "hours": [str(r) for r in self.hours],
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: Any) -> DateException:
        if not isinstance(data, dict):
            raise ScheduleError("", 'expected an object {"date": ..., "kind": ...}')
        _reject_unknown(data, {"date", "kind", "hours", "label"})
        raw = data.get("date")
        try:
            day = dt.date.fromisoformat(raw)  # type: ignore[arg-type]  # not a str: TypeError below
        except (TypeError, ValueError):
            raise ScheduleError("date", f"expected YYYY-MM-DD, got {raw!r}") from None
        if "kind" not in data:
            raise ScheduleError("kind", 'required ("closed" or "open")')
        hours = _parse_ranges(data.get("hours", []), "hours")
        return cls(day=day, kind=data["kind"], hours=hours, label=data.get("label", ""))


def _reject_unknown(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed, key=str)
    if unknown:
        raise ScheduleError(
            str(unknown[0]), f"unknown field (allowed: {', '.join(sorted(allowed))})"
        )


@dataclass(frozen=True)
class Schedule:
    """When a desk is open.  Precedence: dated exceptions > (holidays, recurring
    closures) > weekly hours.  ``weekly`` has seven entries, Monday first.

    Local times resolve in ``tz`` (a zoneinfo key).  A local time that does not exist
    (DST gap) means the first instant after the gap; an ambiguous one (DST fold) means
    its first occurrence.
    """

    tz: str
    weekly: tuple[tuple[TimeRange, ...], ...]
    holidays: HolidaySource | None = None
    closures: tuple[RecurringClosure, ...] = ()
    exceptions: tuple[DateException, ...] = ()
    _zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _by_date: dict[dt.date, DateException] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _cache: dict[Any, Any] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        try:
            zone = zoneinfo.ZoneInfo(self.tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise ScheduleError("tz", f"unknown time zone {self.tz!r}") from None
        object.__setattr__(self, "_zone", zone)
        if not isinstance(self.weekly, tuple) or len(self.weekly) != 7:
            raise ScheduleError("weekly", "expected a tuple of 7 days, Monday first")
        for key, day in zip(DAY_KEYS, self.weekly, strict=True):
            if not isinstance(day, tuple):
                raise ScheduleError(f"weekly.{key}", "expected a tuple of TimeRange")
            try:
                _check_day(day)
            except ScheduleError as err:
                raise err.under(f"weekly.{key}") from None
        if self.holidays is not None and not isinstance(self.holidays, HolidaySource):
            raise ScheduleError("holidays", "expected a holiday source or None")
        for name, kind in (("closures", RecurringClosure), ("exceptions", DateException)):
            items = getattr(self, name)
            if not isinstance(items, tuple):
                raise ScheduleError(name, "expected a tuple")
            for i, item in enumerate(items):
                if not isinstance(item, kind):
                    raise ScheduleError(f"{name}[{i}]", f"expected a {kind.__name__}")
        by_date: dict[dt.date, DateException] = {}
        for i, exc in enumerate(self.exceptions):
            if exc.day in by_date:
                raise ScheduleError(f"exceptions[{i}].date", f"duplicate date {exc.day}")
            if exc.kind == "open" and not exc.hours and not self.weekly[exc.day.weekday()]:
                raise ScheduleError(
                    f"exceptions[{i}].hours",
                    f"{exc.day} has no regular hours ({DAY_KEYS[exc.day.weekday()]}); give hours",
                )
            by_date[exc.day] = exc
        object.__setattr__(self, "_by_date", by_date)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return self._zone

    def hours_on(self, day: dt.date) -> tuple[TimeRange, ...]:
        """The ranges that start on local date ``day`` after all rules are applied."""
        exc = self._by_date.get(day)
        if exc is not None:
            if exc.kind == "closed":
                return ()
            return exc.hours or self.weekly[day.weekday()]
        if any(c.covers(day) for c in self.closures):
            return ()
        if self.holidays is not None and self.holidays.is_holiday(day):
            return ()
        return self.weekly[day.weekday()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tz": self.tz,
            "weekly": {
                k: [str(r) for r in day] for k, day in zip(DAY_KEYS, self.weekly, strict=True)
            },
            "holidays": None if self.holidays is None else self.holidays.to_dict(),
            "closures": [c.to_dict() for c in self.closures],
            "exceptions": [e.to_dict() for e in self.exceptions],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Schedule:
        """Build from the JSON form of :meth:`to_dict`; missing weekdays are closed.

        Raises :class:`ScheduleError` naming the bad field, e.g. ``weekly.mon[1]``.
        """
        if not isinstance(data, dict):
            raise ScheduleError("", "expected an object")
        _reject_unknown(data, {"tz", "weekly", "holidays", "closures", "exceptions"})
        if "tz" not in data:
            raise ScheduleError("tz", 'required, e.g. "Asia/Tokyo"')
        raw_weekly = data.get("weekly", {})
        if not isinstance(raw_weekly, dict):
            raise ScheduleError("weekly", "expected an object keyed mon..sun")
        for key in raw_weekly:
            if key not in DAY_KEYS:
                raise ScheduleError(f"weekly.{key}", "unknown day (use mon, tue, ..., sun)")
        weekly = tuple(_parse_ranges(raw_weekly.get(k, []), f"weekly.{k}") for k in DAY_KEYS)
        try:
            holidays = holiday_source_from_dict(data.get("holidays"))
        except ScheduleError as exc:
            raise exc.under("holidays") from None
        parsed: dict[str, list[Any]] = {}
        for name, kind in (("closures", RecurringClosure), ("exceptions", DateException)):
            items = data.get(name, [])
            if not isinstance(items, list | tuple):
                raise ScheduleError(name, "expected a list")
            parsed[name] = []
            for i, item in enumerate(items):
                try:
                    parsed[name].append(kind.from_dict(item))
                except ScheduleError as exc:
                    raise exc.under(f"{name}[{i}]") from None
        return cls(
            tz=data["tz"],
            weekly=weekly,
            holidays=holidays,
            closures=tuple(parsed["closures"]),
            exceptions=tuple(parsed["exceptions"]),
        )


def always_open(tz: str) -> Schedule:
    """24/7: business time equals calendar time."""
    full = (TimeRange(0, MINUTES_PER_DAY),)
    return Schedule(tz=tz, weekly=(full,) * 7)


def default_operator_schedule() -> Schedule:
    """The human operators of the desk: weekdays 8:25–18:30 Asia/Tokyo, closed on
    Japanese national holidays and Dec 29 – Jan 3, open on 2024-05-03 (Constitution Day)."""
    weekday = (TimeRange(8 * 60 + 25, 18 * 60 + 30),)
    return Schedule(
        tz="Asia/Tokyo",
        weekly=(weekday,) * 5 + ((), ()),
        holidays=CountryHolidays("JP"),
        closures=(RecurringClosure(12, 29, 1, 3, label="年末年始"),),
        exceptions=(DateException(dt.date(2024, 5, 3), "open", label="特別対応日"),),
    )
