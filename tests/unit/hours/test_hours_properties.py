"""Properties of the hour arithmetic, checked with hypothesis on random schedules."""

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.hours import (
    CountryHolidays,
    DateException,
    RecurringClosure,
    Schedule,
    TimeRange,
    add_business_minutes,
    business_minutes_between,
    closes_at,
    default_operator_schedule,
    is_open,
    next_open,
    open_intervals,
)

UTC = dt.UTC
ZONES = ["Asia/Tokyo", "Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe"]
EPSILON = dt.timedelta(microseconds=1)
# HOURS_EXAMPLES=5000 for a long search; the default keeps the suite at a few seconds.
PROPERTY = settings(
    max_examples=int(os.environ.get("HOURS_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# minutes-of-day that are likely to produce edge cases: midnight, DST hours, 8:25, 18:30
_EDGES = [0, 60, 120, 150, 180, 505, 720, 780, 1110, 1380, 1440]
minute_of_day = st.one_of(st.sampled_from(_EDGES), st.integers(0, 1440))


@st.composite
def day_ranges(draw):
    points = sorted(set(draw(st.lists(minute_of_day, max_size=6))))
    if len(points) % 2:
        points = points[:-1]
    ranges = [TimeRange(points[i], points[i + 1]) for i in range(0, len(points), 2)]
    last_end = points[-1] if points else 0
    if last_end < 1380 and draw(st.booleans()) and draw(st.booleans()):
        start = draw(st.integers(last_end, 1439))
        end = draw(st.integers(1, 1440))
        if end < start:
            ranges.append(TimeRange(start, end))
    return tuple(ranges)


instants = st.datetimes(
    min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2031, 1, 1), timezones=st.just(UTC)
)


@st.composite
def schedules_and_starts(draw):
    """A schedule with at least ~1 open hour a week, and an instant to start from."""
    start = draw(instants)
    tz = draw(st.sampled_from(ZONES))
    weekly = list(draw(st.lists(day_ranges(), min_size=7, max_size=7)))
    if sum(r.minutes for day in weekly for r in day) < 60:
        weekly[draw(st.integers(0, 6))] = (TimeRange(540, 1020),)
    holidays = draw(st.sampled_from([None, CountryHolidays("JP"), CountryHolidays("US")]))
    closures = draw(st.sampled_from([(), (RecurringClosure(12, 29, 1, 3),)]))
    exceptions = []
    local_start = start.astimezone(ZoneInfo(tz)).date()
    for offset in sorted(set(draw(st.lists(st.integers(-1, 20), max_size=4)))):
        day = local_start + dt.timedelta(days=offset)
        hours = draw(day_ranges())
        kind = "open" if hours or draw(st.booleans()) and weekly[day.weekday()] else "closed"
        exceptions.append(DateException(day, kind, hours))
    schedule = Schedule(
        tz=tz,
        weekly=tuple(weekly),
        holidays=holidays,
        closures=closures,
        exceptions=tuple(exceptions),
    )
    return schedule, start.astimezone(ZoneInfo(draw(st.sampled_from(ZONES))))


def instant(value):
    return value.astimezone(UTC)


def not_strictly_inside_closed(schedule, moment):
    return is_open(schedule, moment) or is_open(schedule, instant(moment) - EPSILON)


minutes = st.integers(1, 3000)


@PROPERTY
@given(schedules_and_starts(), st.integers(0, 3000))
def test_due_time_is_never_inside_a_closed_period(case, m):
    schedule, start = case
    due = add_business_minutes(schedule, start, m)
    assert instant(due) >= instant(start)
    assert not_strictly_inside_closed(schedule, due)
    assert due.tzinfo is schedule.zone
    assert business_minutes_between(schedule, start, due) == m
    if m > 0:  # earliest: just before the due time, fewer minutes have elapsed
        assert business_minutes_between(schedule, start, instant(due) - EPSILON) < m
    else:
        assert is_open(schedule, due)


@PROPERTY
@given(schedules_and_starts(), minutes, minutes)
def test_adding_a_then_b_equals_adding_a_plus_b(case, a, b):
    schedule, start = case
    stepwise = add_business_minutes(schedule, add_business_minutes(schedule, start, a), b)
    assert instant(stepwise) == instant(add_business_minutes(schedule, start, a + b))


@PROPERTY
@given(schedules_and_starts())
def test_status_functions_agree(case):
    schedule, at = case
    opened = next_open(schedule, at)
    assert opened is not None and instant(opened) >= instant(at)
    assert is_open(schedule, opened)
    if is_open(schedule, at):
        assert instant(opened) == instant(at)
        end = closes_at(schedule, at)
        assert end is not None and instant(end) > instant(at)
        assert not is_open(schedule, end)
        span = (instant(end) - instant(at)) / dt.timedelta(minutes=1)
        assert business_minutes_between(schedule, at, end) == span
    else:
        assert closes_at(schedule, at) is None
        assert business_minutes_between(schedule, at, opened) == 0


@PROPERTY
@given(schedules_and_starts(), st.integers(0, 20 * 24 * 60))
def test_open_intervals_are_disjoint_merged_and_sum_to_between(case, length):
    schedule, start = case
    end = instant(start) + dt.timedelta(minutes=length)
    intervals = list(open_intervals(schedule, start, end))
    total = sum((i.duration for i in intervals), dt.timedelta())
    assert total / dt.timedelta(minutes=1) == business_minutes_between(schedule, start, end)
    for i in intervals:
        assert instant(i.start) < instant(i.end)
        assert is_open(schedule, i.start)
    for first, second in zip(intervals, intervals[1:], strict=False):
        assert instant(first.end) < instant(second.start)  # merged: never touching
        assert not is_open(schedule, first.end)


@PROPERTY
@given(schedules_and_starts(), minutes)
def test_input_zone_does_not_matter(case, m):
    schedule, start = case
    results = {
        instant(add_business_minutes(schedule, start.astimezone(ZoneInfo(zone)), m))
        for zone in ZONES
    }
    assert len(results) == 1


def _fingerprint():
    ops = default_operator_schedule()
    berlin = Schedule.from_dict(
        {"tz": "Europe/Berlin", "weekly": {"sun": ["01:30-04:00"], "mon": ["08:00-17:00"]}}
    )
    out = []
    for schedule in (ops, berlin):
        for start in (
            dt.datetime(2024, 12, 27, 9, 0, tzinfo=UTC),
            dt.datetime(2024, 3, 30, 23, 0, tzinfo=UTC),
            dt.datetime(2024, 10, 26, 23, 45, tzinfo=UTC),
        ):
            due = add_business_minutes(schedule, start, 200)
            out.append((due.isoformat(), next_open(schedule, start).isoformat()))
            out.append(business_minutes_between(schedule, start, start + dt.timedelta(days=9)))
    return out


def test_results_do_not_depend_on_the_process_time_zone():
    saved = os.environ.get("TZ")
    results = []
    try:
        for tz in ("UTC", "Asia/Tokyo", "America/New_York", "Pacific/Chatham", "Europe/Berlin"):
            os.environ["TZ"] = tz
            time.tzset()
            # a fresh schedule each time, so nothing comes from a cache filled under another TZ
            results.append(_fingerprint())
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()
    assert all(r == results[0] for r in results)
