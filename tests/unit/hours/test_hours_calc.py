"""Explicit cases: interval edges, midnight, holidays, year end, special days, DST."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from madoguchi.hours import (
    NoOpenTimeError,
    OpenInterval,
    Schedule,
    add_business_minutes,
    always_open,
    business_minutes_between,
    closes_at,
    default_operator_schedule,
    describe_next_open,
    is_open,
    next_open,
    open_intervals,
)
from madoguchi.hours._calc import resolve_local

TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
OPS = default_operator_schedule()


def jst(*args):
    return dt.datetime(*args, tzinfo=TOKYO)


def same_instant(a, b):
    return a is not None and b is not None and a.astimezone(UTC) == b.astimezone(UTC)


def schedule(weekly, tz="Asia/Tokyo", **extra):
    return Schedule.from_dict({"tz": tz, "weekly": weekly, **extra})


# --- interval edges ---------------------------------------------------------------


def test_open_period_is_half_open():
    assert not is_open(OPS, jst(2024, 12, 2, 8, 24, 59))
    assert is_open(OPS, jst(2024, 12, 2, 8, 25))
    assert is_open(OPS, jst(2024, 12, 2, 18, 29, 59, 999999))
    assert not is_open(OPS, jst(2024, 12, 2, 18, 30))


def test_closes_at_and_next_open_on_a_weekday():
    assert closes_at(OPS, jst(2024, 12, 2, 10, 0)) == jst(2024, 12, 2, 18, 30)
    assert closes_at(OPS, jst(2024, 12, 2, 18, 30)) is None
    assert next_open(OPS, jst(2024, 12, 2, 7, 0)) == jst(2024, 12, 2, 8, 25)
    assert next_open(OPS, jst(2024, 12, 2, 10, 0)) == jst(2024, 12, 2, 10, 0)
    # Friday evening -> Monday morning
    assert next_open(OPS, jst(2024, 12, 6, 18, 30)) == jst(2024, 12, 9, 8, 25)


def test_due_time_landing_on_interval_end_is_the_interval_end():
    assert add_business_minutes(OPS, jst(2024, 12, 6, 18, 25), 5) == jst(2024, 12, 6, 18, 30)
    assert add_business_minutes(OPS, jst(2024, 12, 6, 18, 25), 6) == jst(2024, 12, 9, 8, 26)
    # a whole day's worth from the opening ends at the closing, not next morning
    assert add_business_minutes(OPS, jst(2024, 12, 2, 8, 25), 605) == jst(2024, 12, 2, 18, 30)


def test_zero_minutes_is_next_open():
    assert add_business_minutes(OPS, jst(2024, 12, 2, 10, 0), 0) == jst(2024, 12, 2, 10, 0)
    assert add_business_minutes(OPS, jst(2024, 12, 6, 18, 30), 0) == jst(2024, 12, 9, 8, 25)
    assert add_business_minutes(OPS, jst(2024, 12, 7, 12, 0), 0) == jst(2024, 12, 9, 8, 25)


def test_start_in_closed_time_counts_from_the_next_opening():
    assert add_business_minutes(OPS, jst(2024, 12, 7, 3, 0), 60) == jst(2024, 12, 9, 9, 25)
    assert add_business_minutes(OPS, jst(2024, 12, 2, 6, 0), 1) == jst(2024, 12, 2, 8, 26)


def test_several_intervals_per_day_skip_the_lunch_break():
    lunch = schedule(
        {d: ["08:25-12:00", "13:00-18:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    assert add_business_minutes(lunch, jst(2024, 12, 2, 11, 30), 30) == jst(2024, 12, 2, 12, 0)
    assert add_business_minutes(lunch, jst(2024, 12, 2, 11, 30), 31) == jst(2024, 12, 2, 13, 1)
    assert not is_open(lunch, jst(2024, 12, 2, 12, 30))
    assert next_open(lunch, jst(2024, 12, 2, 12, 30)) == jst(2024, 12, 2, 13, 0)
    assert closes_at(lunch, jst(2024, 12, 2, 9, 0)) == jst(2024, 12, 2, 12, 0)
    assert business_minutes_between(lunch, jst(2024, 12, 2, 0, 0), jst(2024, 12, 3, 0, 0)) == 545


def test_touching_intervals_merge():
    touching = schedule({"mon": ["09:00-12:00", "12:00-13:00"]})
    assert closes_at(touching, jst(2024, 12, 2, 10, 0)) == jst(2024, 12, 2, 13, 0)
    assert list(open_intervals(touching, jst(2024, 12, 2), jst(2024, 12, 3))) == [
        OpenInterval(jst(2024, 12, 2, 9, 0), jst(2024, 12, 2, 13, 0))
    ]


# --- midnight -----------------------------------------------------------------------


def test_intervals_merge_across_midnight():
    late = schedule({"mon": ["23:00-24:00"], "tue": ["00:00-01:00"]})
    assert closes_at(late, jst(2024, 12, 2, 23, 30)) == jst(2024, 12, 3, 1, 0)
    assert is_open(late, jst(2024, 12, 3, 0, 0))
    assert add_business_minutes(late, jst(2024, 12, 2, 23, 0), 60) == jst(2024, 12, 3, 0, 0)
    assert add_business_minutes(late, jst(2024, 12, 2, 23, 0), 61) == jst(2024, 12, 3, 0, 1)
    assert list(open_intervals(late, jst(2024, 12, 2), jst(2024, 12, 4))) == [
        OpenInterval(jst(2024, 12, 2, 23, 0), jst(2024, 12, 3, 1, 0))
    ]


def test_overnight_range_belongs_to_the_day_it_starts():
    night = schedule(
        {"fri": ["22:00-02:00"], "sat": ["01:00-03:00"]},
        exceptions=[{"date": "2024-12-14", "kind": "closed"}],  # a Saturday
    )
    # Friday 22:00 to Saturday 02:00 merged with Saturday's own 01:00-03:00
    assert closes_at(night, jst(2024, 12, 6, 23, 0)) == jst(2024, 12, 7, 3, 0)
    assert business_minutes_between(night, jst(2024, 12, 6), jst(2024, 12, 8)) == 300
    # the spill from Friday 13th still runs into the closed Saturday 14th
    assert is_open(night, jst(2024, 12, 14, 1, 30))
    assert closes_at(night, jst(2024, 12, 14, 1, 30)) == jst(2024, 12, 14, 2, 0)
    assert not is_open(night, jst(2024, 12, 14, 2, 30))
    assert add_business_minutes(night, jst(2024, 12, 13, 21, 0), 240) == jst(2024, 12, 14, 2, 0)
    assert add_business_minutes(night, jst(2024, 12, 13, 21, 0), 241) == jst(2024, 12, 20, 22, 1)


# --- holidays, year end, special days ------------------------------------------------


def test_substitute_holiday_after_a_sunday_holiday_is_closed():
    # 2024-02-11 Foundation Day is a Sunday, so Monday the 12th is a substitute holiday
    assert not is_open(OPS, jst(2024, 2, 12, 10, 0))
    assert next_open(OPS, jst(2024, 2, 9, 18, 30)) == jst(2024, 2, 13, 8, 25)
    # 2026-09-22 is a citizens' holiday between Respect for the Aged and Equinox Day
    assert next_open(OPS, jst(2026, 9, 18, 19, 0)) == jst(2026, 9, 24, 8, 25)


def test_year_end_closure():
    assert add_business_minutes(OPS, jst(2024, 12, 27, 18, 0), 60) == jst(2025, 1, 6, 8, 55)
    assert add_business_minutes(OPS, jst(2026, 12, 28, 18, 0), 60) == jst(2027, 1, 4, 8, 55)
    assert not is_open(OPS, jst(2025, 1, 3, 10, 0))  # Friday, still closed
    assert business_minutes_between(OPS, jst(2024, 12, 28), jst(2025, 1, 6)) == 0


def test_special_open_day_on_a_holiday():
    assert is_open(OPS, jst(2024, 5, 3, 10, 0))  # Constitution Day 2024, open by exception
    assert add_business_minutes(OPS, jst(2024, 5, 2, 18, 0), 60) == jst(2024, 5, 3, 8, 55)
    assert add_business_minutes(OPS, jst(2024, 5, 3, 18, 0), 60) == jst(2024, 5, 7, 8, 55)
    assert not is_open(OPS, jst(2025, 5, 3, 10, 0))  # a Saturday; the exception was 2024 only
    assert add_business_minutes(OPS, jst(2025, 5, 2, 18, 0), 60) == jst(2025, 5, 7, 8, 55)


def test_special_open_weekend_and_shortened_hours():
    data = OPS.to_dict()
    data["exceptions"] = [
        {"date": "2024-12-07", "kind": "open", "hours": ["10:00-15:00"]},  # a Saturday
        {"date": "2024-12-06", "kind": "open", "hours": ["08:25-12:00"]},  # shortened Friday
        {"date": "2024-12-05", "kind": "closed"},
    ]
    s = Schedule.from_dict(data)
    assert not is_open(s, jst(2024, 12, 5, 10, 0))
    assert closes_at(s, jst(2024, 12, 6, 9, 0)) == jst(2024, 12, 6, 12, 0)
    assert next_open(s, jst(2024, 12, 6, 12, 0)) == jst(2024, 12, 7, 10, 0)
    # 60 minutes on Friday + 300 on Saturday ends exactly at Saturday's closing
    assert add_business_minutes(s, jst(2024, 12, 6, 11, 0), 360) == jst(2024, 12, 7, 15, 0)
    assert add_business_minutes(s, jst(2024, 12, 6, 11, 0), 361) == jst(2024, 12, 9, 8, 26)


# --- 24/7, never open, bounded search -----------------------------------------------


def test_always_open_is_calendar_time():
    s = always_open("Asia/Tokyo")
    at = jst(2024, 12, 31, 23, 30)
    assert is_open(s, at) and next_open(s, at) == at
    assert closes_at(s, at) is None  # never closes within the horizon
    assert add_business_minutes(s, at, 60) == jst(2025, 1, 1, 0, 30)
    assert add_business_minutes(s, at, 10_000) == at + dt.timedelta(minutes=10_000)
    assert business_minutes_between(s, at, at + dt.timedelta(days=3)) == 3 * 1440
    assert list(open_intervals(s, at, at + dt.timedelta(days=3))) == [
        OpenInterval(at, at + dt.timedelta(days=3))
    ]


def test_schedule_without_open_time_gives_up():
    never = schedule({})
    at = jst(2024, 1, 1)
    assert not is_open(never, at)
    assert next_open(never, at) is None
    assert closes_at(never, at) is None
    assert describe_next_open(never, at) is None
    with pytest.raises(NoOpenTimeError):
        add_business_minutes(never, at, 1)


def test_horizon_is_about_three_years():
    lone = schedule(
        {}, exceptions=[{"date": "2026-06-01", "kind": "open", "hours": ["09:00-10:00"]}]
    )
    assert next_open(lone, jst(2024, 1, 1)) == jst(2026, 6, 1, 9, 0)
    assert next_open(lone, jst(2022, 1, 1)) is None
    # the horizon is measured from the last open time, so long due times still work
    assert add_business_minutes(OPS, jst(2024, 1, 4), 605 * 2000) > jst(2031, 1, 1)


def test_business_minutes_between():
    assert business_minutes_between(OPS, jst(2024, 12, 6, 18, 0), jst(2024, 12, 9, 9, 0)) == 65
    assert business_minutes_between(OPS, jst(2024, 12, 9, 9, 0), jst(2024, 12, 6, 18, 0)) == -65
    assert (
        business_minutes_between(OPS, jst(2024, 12, 2, 10, 0, 30), jst(2024, 12, 2, 10, 1)) == 0.5
    )
    assert business_minutes_between(OPS, jst(2024, 12, 2, 10), jst(2024, 12, 2, 10)) == 0


def test_open_intervals_over_golden_week_2024():
    got = list(open_intervals(OPS, jst(2024, 5, 1, 12, 0), jst(2024, 5, 7, 9, 0)))
    assert got == [
        OpenInterval(jst(2024, 5, 1, 12, 0), jst(2024, 5, 1, 18, 30)),
        OpenInterval(jst(2024, 5, 2, 8, 25), jst(2024, 5, 2, 18, 30)),
        OpenInterval(jst(2024, 5, 3, 8, 25), jst(2024, 5, 3, 18, 30)),
        OpenInterval(jst(2024, 5, 7, 8, 25), jst(2024, 5, 7, 9, 0)),
    ]
    assert list(open_intervals(OPS, jst(2024, 5, 7), jst(2024, 5, 1))) == []


def test_results_are_in_the_schedule_zone_for_any_input_zone():
    start = dt.datetime(2024, 12, 6, 9, 25, tzinfo=UTC)  # 18:25 JST
    due = add_business_minutes(OPS, start, 6)
    assert due.tzinfo is TOKYO and due == jst(2024, 12, 9, 8, 26)
    assert next_open(OPS, dt.datetime(2024, 12, 6, 12, 0, tzinfo=NEW_YORK)).tzinfo is TOKYO


@pytest.mark.parametrize(
    "call",
    [
        lambda at: is_open(OPS, at),
        lambda at: closes_at(OPS, at),
        lambda at: next_open(OPS, at),
        lambda at: add_business_minutes(OPS, at, 5),
        lambda at: business_minutes_between(OPS, at, jst(2024, 1, 1)),
        lambda at: list(open_intervals(OPS, jst(2024, 1, 1), at)),
        lambda at: describe_next_open(OPS, at, "ja"),
    ],
)
def test_naive_datetimes_are_rejected(call):
    with pytest.raises(ValueError, match="naive"):
        call(dt.datetime(2024, 1, 2, 10, 0))


@pytest.mark.parametrize("minutes", [-1, float("nan"), float("inf")])
def test_bad_minutes_are_rejected(minutes):
    with pytest.raises(ValueError, match="minutes"):
        add_business_minutes(OPS, jst(2024, 1, 4), minutes)


def test_fractional_minutes():
    assert add_business_minutes(OPS, jst(2024, 12, 2, 10, 0), 0.5) == jst(2024, 12, 2, 10, 0, 30)


# --- describe -------------------------------------------------------------------------


def test_describe_next_open():
    at = jst(2026, 1, 2, 12, 0)  # year-end closure; Jan 3-4 are Saturday and Sunday
    assert describe_next_open(OPS, at, "ja") == "1月5日（月）8:25"
    assert describe_next_open(OPS, at, "en") == "Mon 5 Jan 8:25"
    assert describe_next_open(OPS, at, "en-GB") == "Mon 5 Jan 8:25"
    assert describe_next_open(OPS, jst(2025, 12, 30), "ja") == "2026年1月5日（月）8:25"
    assert describe_next_open(OPS, jst(2025, 12, 30), "en") == "Mon 5 Jan 2026 8:25"
    # given in UTC, described in the desk's zone
    assert (
        describe_next_open(OPS, dt.datetime(2024, 12, 6, 9, 31, tzinfo=UTC), "ja")
        == "12月9日（月）8:25"
    )
    assert describe_next_open(OPS, jst(2024, 12, 2, 10, 3, 27), "en") == "Mon 2 Dec 10:03"


# --- daylight saving time ---------------------------------------------------------------


def test_resolve_local_in_gap_and_fold():
    gap = dt.datetime(2024, 3, 31, 2, 30)  # Berlin springs forward 02:00 -> 03:00
    assert resolve_local(gap, BERLIN) == dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    fold = dt.datetime(2024, 10, 27, 2, 30)  # Berlin falls back 03:00 -> 02:00
    assert resolve_local(fold, BERLIN) == dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    plain = dt.datetime(2024, 7, 1, 12, 0)
    assert resolve_local(plain, BERLIN) == dt.datetime(2024, 7, 1, 10, 0, tzinfo=UTC)
    ny_gap = dt.datetime(2024, 3, 10, 2, 15)
    assert resolve_local(ny_gap, NEW_YORK) == dt.datetime(2024, 3, 10, 7, 0, tzinfo=UTC)


def test_dst_days_in_berlin():
    night = schedule({d: ["01:30-04:00"] for d in ("sun",)}, tz="Europe/Berlin")
    spring, autumn, normal = dt.date(2024, 3, 31), dt.date(2024, 10, 27), dt.date(2024, 7, 7)

    def minutes_on(day):
        start = dt.datetime.combine(day, dt.time(), tzinfo=BERLIN)
        return business_minutes_between(night, start, start + dt.timedelta(days=1))

    assert minutes_on(normal) == 150
    assert minutes_on(spring) == 90  # 02:00-03:00 does not exist
    assert minutes_on(autumn) == 210  # 02:00-03:00 happens twice
    (period,) = open_intervals(
        night, *(dt.datetime.combine(autumn, t, tzinfo=BERLIN) for t in (dt.time(0), dt.time(12)))
    )
    assert period.duration == dt.timedelta(minutes=210)
    # due times are real elapsed minutes
    start = dt.datetime(2024, 10, 27, 1, 30, tzinfo=BERLIN)
    due = add_business_minutes(night, start, 120)
    assert same_instant(due, dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC))
    assert due.fold == 1 and due.hour == 2 and due.minute == 30  # the second 02:30
    assert same_instant(closes_at(night, start), dt.datetime(2024, 10, 27, 3, 0, tzinfo=UTC))


def test_range_inside_a_dst_gap_is_empty():
    gap_only = schedule({"sun": ["02:15-02:45"]}, tz="Europe/Berlin")
    spring = dt.datetime(2024, 3, 31, tzinfo=BERLIN)
    assert business_minutes_between(gap_only, spring, spring + dt.timedelta(days=1)) == 0
    assert next_open(gap_only, spring) == dt.datetime(2024, 4, 7, 2, 15, tzinfo=BERLIN)


def test_new_york_opening_inside_the_gap_opens_when_the_gap_ends():
    s = schedule({"sun": ["02:30-05:00"]}, tz="America/New_York")
    at = dt.datetime(2024, 3, 10, 0, 0, tzinfo=NEW_YORK)
    opened = next_open(s, at)
    assert same_instant(opened, dt.datetime(2024, 3, 10, 3, 0, tzinfo=NEW_YORK))
    assert opened.hour == 3 and opened.utcoffset() == dt.timedelta(hours=-4)
