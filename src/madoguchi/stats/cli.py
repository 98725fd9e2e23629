"""``madoguchi stats``: the suppressed count table for scripts and cron.

    madoguchi stats [--from YYYY-MM-DD] [--to YYYY-MM-DD] --by FIELD[,FIELD] [--format csv|json]

The same engine as a release (``tables.build_table``), over every lane
(``inquiries.access.command_line_statistics_inquiries``), with the desk's threshold and
rounding. CSV is one line per entry (``export.long_csv``: the breakdowns' keys, ``*`` for
a total, suppressed entries as ``<N`` or ``x``), without a BOM; JSON is the dict a
release freezes. Bad arguments: a message on stderr and exit status 2 (argparse's).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .fields import FIELDS, parse_breakdowns, parse_day


def _argument(parse: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="start", type=_argument(parse_day), help="first day (YYYY-MM-DD)"
    )
    parser.add_argument("--to", dest="end", type=_argument(parse_day), help="last day, included")
    parser.add_argument(
        "--by",
        required=True,
        type=_argument(parse_breakdowns),
        help=f"one or two of {', '.join(FIELDS)}, comma-separated (rows, then columns)",
    )
    parser.add_argument("--format", choices=["csv", "json"], default="csv")


def check(args: argparse.Namespace) -> str | None:
    """What is wrong with arguments argparse cannot see alone (None: nothing)."""
    if args.start and args.end and args.start > args.end:
        return "--from must not be after --to"
    return None


def run(args: argparse.Namespace) -> int:
    """After Django is set up."""
    from django.conf import settings

    from madoguchi.inquiries import access

    from .export import long_csv
    from .tables import Period, build_table

    table = build_table(
        access.command_line_statistics_inquiries(),
        args.by,
        Period(args.start, args.end),
        threshold=settings.STATS_MIN_CELL,
        round_to=settings.STATS_ROUND_TO,
    )
    if args.format == "json":
        sys.stdout.write(json.dumps(table, ensure_ascii=False, indent=1) + "\n")
    else:
        for line in long_csv(table):
            sys.stdout.write(line)
    sys.stdout.flush()
    return 0
