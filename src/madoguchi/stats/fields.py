"""The breakdowns a table may have, and parsing them (pure: the command line parses its
arguments before Django is set up)."""

from __future__ import annotations

import datetime as dt

# weekday and hour are of ``created_at`` in the desk's time zone (core.clock.desk_zone);
# category is counted by its slug.
FIELDS = ("channel", "category", "member_category", "lang", "weekday", "hour")


def parse_breakdowns(text: str) -> tuple[str, ...]:
    """``"channel"`` or ``"channel,lang"``: one or two different FIELDS."""
    names = tuple(part.strip() for part in text.split(","))
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (choose from {', '.join(FIELDS)})")
    if not 1 <= len(names) <= 2:
        raise ValueError("one or two fields, separated by a comma")
    if len(set(names)) != len(names):
        raise ValueError("the two fields must differ")
    return names


def parse_day(text: str) -> dt.date:
    """YYYY-MM-DD, nothing else."""
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007 - a date only
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}") from None
