"""``madoguchi hours due|status``: due times and open/closed status from the shell.

Exit status 0 on success, 2 on bad input (message on stderr).  ISO 8601 input without
an offset is local time of the schedule's zone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import NoReturn

from ._calc import add_business_minutes, closes_at, is_open, next_open, resolve_local
from ._errors import NoOpenTimeError, ScheduleError, UnknownScheduleError
from ._registry import DEFAULT_SCHEDULE, resolve_schedule
from ._schedule import Schedule


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="madoguchi hours", description="Business-hours calculations.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    due = commands.add_parser("due", help="due time after N business minutes")
    due.add_argument("--start", required=True, help="ISO 8601 (no offset: schedule's zone)")
    due.add_argument("--minutes", required=True, help="business minutes, an integer >= 0")
    due.add_argument("--schedule", default=DEFAULT_SCHEDULE, help="schedule name")
    status = commands.add_parser("status", help="open now? closes at? next open?")
    status.add_argument("--at", required=True, help="ISO 8601 (no offset: schedule's zone)")
    status.add_argument("--schedule", default=DEFAULT_SCHEDULE, help="schedule name")
    return parser


def _parse_moment(text: str, schedule: Schedule, option: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _UsageError(f"{option}: not an ISO 8601 date-time: {text!r}") from None
    if value.tzinfo is None:
        return resolve_local(value, schedule.zone).astimezone(schedule.zone)
    return value


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _run(args: argparse.Namespace) -> str:
    schedule = resolve_schedule(args.schedule)
    if args.command == "due":
        try:
            minutes = int(args.minutes)
        except ValueError:
            raise _UsageError(f"--minutes: not an integer: {args.minutes!r}") from None
        if minutes < 0:
            raise _UsageError(f"--minutes: must be >= 0, got {minutes}")
        start = _parse_moment(args.start, schedule, "--start")
        return add_business_minutes(schedule, start, minutes).isoformat()
    at = _parse_moment(args.at, schedule, "--at")
    return json.dumps(
        {
            "open": is_open(schedule, at),
            "closes_at": _iso(closes_at(schedule, at)),
            "next_open": _iso(next_open(schedule, at)),
        }
    )


def main(argv: list[str]) -> int:
    """``argv`` are the words after ``madoguchi hours`` (a leading ``hours`` is skipped)."""
    if argv[:1] == ["hours"]:
        argv = argv[1:]
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        output = _run(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except (_UsageError, ScheduleError, UnknownScheduleError, NoOpenTimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(output)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
