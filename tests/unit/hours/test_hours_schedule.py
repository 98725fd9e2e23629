"""The schedule data model: ranges, precedence, dict round trips, validation."""

import datetime as dt
import json

import pytest

from madoguchi.hours import (
    CountryHolidays,
    DateException,
    RecurringClosure,
    Schedule,
    ScheduleError,
    TimeRange,
    always_open,
    default_operator_schedule,
)


def test_time_range_parse_and_str():
    assert TimeRange.parse("08:25-12:00") == TimeRange(505, 720)
    assert str(TimeRange.parse("8:25-18:30")) == "08:25-18:30"
    assert TimeRange.parse("13:00-24:00").end == 1440
    overnight = TimeRange.parse("22:00-02:00")
    assert overnight.overnight and overnight.minutes == 240
    # an end of 00:00 is midnight at the end of the day
    assert TimeRange.parse("22:00-00:00") == TimeRange(1320, 1440)
    assert not TimeRange.parse("22:00-00:00").overnight


@pytest.mark.parametrize(
    "text", ["08:25", "8-9", "08:25-25:00", "24:00-01:00", "08:60-09:00", "09:00-09:00", 5, "a-b"]
)
def test_time_range_rejects(text):
    with pytest.raises(ScheduleError):
        TimeRange.parse(text)


def test_recurring_closure_spans_year_end():
    year_end = RecurringClosure(12, 29, 1, 3)
    covered = [
        dt.date(2024, 12, 29),
        dt.date(2024, 12, 31),
        dt.date(2025, 1, 1),
        dt.date(2025, 1, 3),
    ]
    assert all(year_end.covers(d) for d in covered)
    assert not year_end.covers(dt.date(2024, 12, 28))
    assert not year_end.covers(dt.date(2025, 1, 4))
    summer = RecurringClosure(8, 13, 8, 16)
    assert summer.covers(dt.date(2025, 8, 13)) and not summer.covers(dt.date(2025, 8, 17))
    leap = RecurringClosure(2, 29, 2, 29)
    assert leap.covers(dt.date(2028, 2, 29)) and not leap.covers(dt.date(2027, 2, 28))


def test_precedence_exception_over_holiday_and_closure_over_weekly():
    s = default_operator_schedule()
    weekday = (TimeRange(505, 1110),)
    assert s.hours_on(dt.date(2024, 5, 2)) == weekday  # Thursday
    assert s.hours_on(dt.date(2024, 5, 3)) == weekday  # Constitution Day, special open day
    assert s.hours_on(dt.date(2025, 5, 5)) == ()  # Children's Day
    assert s.hours_on(dt.date(2024, 12, 30)) == ()  # Monday, year-end closure
    assert s.hours_on(dt.date(2024, 5, 4)) == ()  # Saturday
    shortened = Schedule.from_dict(
        {
            **s.to_dict(),
            "exceptions": [
                {"date": "2024-12-30", "kind": "open", "hours": ["09:00-12:00"]},
                {"date": "2024-12-27", "kind": "closed"},
            ],
        }
    )
    assert shortened.hours_on(dt.date(2024, 12, 30)) == (TimeRange(540, 720),)
    assert shortened.hours_on(dt.date(2024, 12, 27)) == ()


def test_dict_round_trip_through_json():
    data = {
        "tz": "Europe/Berlin",
        "weekly": {
            "mon": ["08:25-12:00", "13:00-18:30"],
            "fri": ["22:00-02:00"],
            "sun": ["00:00-24:00"],
        },
        "holidays": {"country": "DE", "subdiv": "BY"},
        "closures": [{"from": "12-24", "to": "12-26", "label": "Weihnachten"}],
        "exceptions": [
            {"date": "2024-05-03", "kind": "open", "hours": ["10:00-12:00"], "label": "special"},
            {"date": "2024-05-06", "kind": "closed"},
        ],
    }
    schedule = Schedule.from_dict(data)
    again = Schedule.from_dict(json.loads(json.dumps(schedule.to_dict())))
    assert again == schedule
    assert hash(again) == hash(schedule)
    assert schedule.weekly[4] == (TimeRange(1320, 120),)
    for s in (default_operator_schedule(), always_open("UTC")):
        assert Schedule.from_dict(json.loads(json.dumps(s.to_dict()))) == s


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": None}, "tz"),
        ({"weekly": {"mon": ["08:25-12:00", "11:00-13:00"]}}, "weekly.mon[1]"),
        ({"weekly": {"mon": ["08:25-12:00", "bad"]}}, "weekly.mon[1]"),
        ({"weekly": {"mon": "08:25-12:00"}}, "weekly.mon"),
        ({"weekly": {"monday": []}}, "weekly.monday"),
        ({"weekly": []}, "weekly"),
        ({"holidays": {"country": "XX"}}, "holidays.country"),
        ({"holidays": {"country": "JP", "subdiv": "99"}}, "holidays.subdiv"),
        ({"holidays": {"land": "JP"}}, "holidays.land"),
        ({"closures": [{"from": "12-32", "to": "01-03"}]}, "closures[0].from"),
        ({"closures": [{"from": "12-29"}]}, "closures[0].to"),
        ({"exceptions": [{"date": "2024-13-01", "kind": "closed"}]}, "exceptions[0].date"),
        ({"exceptions": [{"date": "2024-05-03", "kind": "maybe"}]}, "exceptions[0].kind"),
        ({"exceptions": [{"date": "2024-05-03"}]}, "exceptions[0].kind"),
        (
            {"exceptions": [{"date": "2024-05-03", "kind": "closed", "hours": ["09:00-10:00"]}]},
            "exceptions[0].hours",
        ),
        (
            {"exceptions": [{"date": "2024-05-03", "kind": "open", "hours": ["9:00-10:00", "x"]}]},
            "exceptions[0].hours[1]",
        ),
        (
            {"exceptions": [{"date": "2024-05-04", "kind": "open"}]},  # Saturday, no regular hours
            "exceptions[0].hours",
        ),
        (
            {
                "exceptions": [
                    {"date": "2024-05-03", "kind": "closed"},
                    {"date": "2024-05-03", "kind": "open"},
                ]
            },
            "exceptions[1].date",
        ),
        ({"colour": "red"}, "colour"),
    ],
)
def test_from_dict_errors_name_the_field(patch, field):
    data = {**default_operator_schedule().to_dict(), **patch}
    with pytest.raises(ScheduleError) as info:
        Schedule.from_dict(data)
    assert info.value.field == field
    assert str(info.value).startswith(field + ": ")
    assert isinstance(info.value, ValueError)


def test_minimal_dict_and_missing_tz():
    s = Schedule.from_dict({"tz": "UTC"})
    assert s.weekly == ((),) * 7 and s.holidays is None
    with pytest.raises(ScheduleError, match="^tz: required"):
        Schedule.from_dict({"weekly": {}})


def test_direct_construction_is_validated():
    with pytest.raises(ScheduleError, match="weekly"):
        Schedule(tz="UTC", weekly=((),) * 6)
    with pytest.raises(ScheduleError, match="end"):
        TimeRange(0, 1441)
    with pytest.raises(ScheduleError, match="date"):
        DateException(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "closed")
    with pytest.raises(ScheduleError, match="country"):
        CountryHolidays("ZZ")


def test_japanese_holidays_include_substitute_and_citizens_holidays():
    jp = CountryHolidays("JP")
    assert jp.is_holiday(dt.date(2024, 2, 12))  # substitute for Foundation Day on a Sunday
    assert jp.is_holiday(dt.date(2024, 5, 6))  # substitute for Children's Day on a Sunday
    assert jp.is_holiday(dt.date(2026, 9, 22))  # citizens' holiday between two holidays
    assert jp.is_holiday(dt.date(2030, 5, 6))
    assert not jp.is_holiday(dt.date(2024, 5, 2))
