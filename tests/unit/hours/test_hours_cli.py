"""``madoguchi hours due|status`` on the operators' schedule, 2024-2030."""

import json

import pytest

from madoguchi.hours import Schedule, set_schedule_resolver
from madoguchi.hours.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        # plain weekday, and landing exactly on the closing time
        ("2024-12-02T10:00", 60, "2024-12-02T11:00:00+09:00"),
        ("2024-12-02T18:00", 30, "2024-12-02T18:30:00+09:00"),
        ("2024-12-02T18:00", 31, "2024-12-03T08:26:00+09:00"),
        # over New Year (Dec 29 - Jan 3 closed), every year
        ("2024-12-27T18:00", 60, "2025-01-06T08:55:00+09:00"),
        ("2025-12-26T18:00", 60, "2026-01-05T08:55:00+09:00"),
        ("2026-12-28T18:00", 60, "2027-01-04T08:55:00+09:00"),
        ("2027-12-28T18:00", 60, "2028-01-04T08:55:00+09:00"),
        ("2028-12-28T18:00", 60, "2029-01-04T08:55:00+09:00"),
        ("2029-12-28T18:00", 60, "2030-01-04T08:55:00+09:00"),
        # Golden Week; 2024-05-03 is the special open day
        ("2024-05-02T18:00", 60, "2024-05-03T08:55:00+09:00"),
        ("2024-05-03T18:00", 60, "2024-05-07T08:55:00+09:00"),
        ("2025-05-02T18:00", 60, "2025-05-07T08:55:00+09:00"),
        ("2030-05-02T18:00", 60, "2030-05-07T08:55:00+09:00"),
        # substitute holiday 2024-02-12, citizens' holiday 2026-09-22
        ("2024-02-09T18:00", 60, "2024-02-13T08:55:00+09:00"),
        ("2026-09-18T18:00", 60, "2026-09-24T08:55:00+09:00"),
        # input with an offset; output in Asia/Tokyo
        ("2024-12-27T09:00:00Z", 60, "2025-01-06T08:55:00+09:00"),
        ("2024-12-27T10:00:00+01:00", 60, "2025-01-06T08:55:00+09:00"),
        # zero minutes: the next opening
        ("2024-12-28T12:00", 0, "2025-01-06T08:25:00+09:00"),
        # two weeks of business time: 10 days of 605 minutes
        ("2024-06-03T08:25", 6050, "2024-06-14T18:30:00+09:00"),
    ],
)
def test_due(capsys, start, minutes, due):
    assert run(capsys, "due", "--start", start, "--minutes", str(minutes)) == (0, due, "")


def test_due_on_the_always_schedule(capsys):
    code, out, _ = run(
        capsys,
        "due",
        "--start",
        "2024-12-31T23:30+09:00",
        "--minutes",
        "60",
        "--schedule",
        "always",
    )
    assert (code, out) == (0, "2025-01-01T00:30:00+09:00")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (
            "2024-05-03T12:00",
            {
                "open": True,
                "closes_at": "2024-05-03T18:30:00+09:00",
                "next_open": "2024-05-03T12:00:00+09:00",
            },
        ),
        (
            "2025-05-03T12:00",
            {"open": False, "closes_at": None, "next_open": "2025-05-07T08:25:00+09:00"},
        ),
        (
            "2024-12-27T18:30",
            {"open": False, "closes_at": None, "next_open": "2025-01-06T08:25:00+09:00"},
        ),
        (
            "2030-01-04T08:25",
            {
                "open": True,
                "closes_at": "2030-01-04T18:30:00+09:00",
                "next_open": "2030-01-04T08:25:00+09:00",
            },
        ),
        (
            "2024-12-02T00:00:00Z",
            {
                "open": True,
                "closes_at": "2024-12-02T18:30:00+09:00",
                "next_open": "2024-12-02T09:00:00+09:00",
            },
        ),
    ],
)
def test_status(capsys, at, expected):
    code, out, err = run(capsys, "status", "--at", at)
    assert (code, err) == (0, "")
    assert json.loads(out) == expected


def test_status_always_open_never_closes(capsys):
    code, out, _ = run(
        capsys, "hours", "status", "--at", "2025-01-01T00:00", "--schedule", "always"
    )
    assert code == 0
    assert json.loads(out) == {
        "open": True,
        "closes_at": None,
        "next_open": "2025-01-01T00:00:00+09:00",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["due", "--start", "tomorrow", "--minutes", "5"], "--start"),
        (["due", "--start", "2024-12-02T10:00", "--minutes", "-5"], "--minutes"),
        (["due", "--start", "2024-12-02T10:00", "--minutes", "5.5"], "--minutes"),
        (["due", "--start", "2024-12-02T10:00"], "--minutes"),
        (["status", "--at", "2024-12-02T10:00", "--schedule", "nope"], "nope"),
        (["status"], "--at"),
        (["frobnicate"], "frobnicate"),
        ([], "command"),
    ],
)
def test_errors_exit_2_with_a_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err


def test_help_exits_0(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "due" in out


def test_resolver_hook_is_consulted_first(capsys):
    faculty = Schedule.from_dict({"tz": "Asia/Tokyo", "weekly": {"sat": ["10:00-12:00"]}})
    previous = set_schedule_resolver(lambda name: faculty if name == "faculty" else None)
    try:
        code, out, _ = run(
            capsys, "due", "--start", "2024-12-02T10:00", "--minutes", "30", "--schedule", "faculty"
        )
        assert (code, out) == (0, "2024-12-07T10:30:00+09:00")
        # names the hook does not know fall back to the built-ins
        code, out, _ = run(capsys, "due", "--start", "2024-12-02T10:00", "--minutes", "30")
        assert (code, out) == (0, "2024-12-02T10:30:00+09:00")
    finally:
        set_schedule_resolver(previous)
