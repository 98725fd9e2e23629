"""Human-readable "next available" strings (ja, en) without gettext or locale state."""

from __future__ import annotations

import datetime as dt

from ._calc import next_open
from ._schedule import Schedule

_JA_WEEKDAYS = "月火水木金土日"
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_local(moment: dt.datetime, lang: str, *, today: dt.date | None = None) -> str:
    """``"1月5日（月）8:25"`` / ``"Mon 5 Jan 8:25"``; the year is shown only when it
    differs from ``today``'s.  Languages other than Japanese fall back to English."""
    clock = f"{moment.hour}:{moment.minute:02d}"
    show_year = today is not None and today.year != moment.year
    if lang.lower().split("-")[0].split("_")[0] == "ja":
        year = f"{moment.year}年" if show_year else ""
        weekday = _JA_WEEKDAYS[moment.weekday()]
        return f"{year}{moment.month}月{moment.day}日（{weekday}）{clock}"
    year = f" {moment.year}" if show_year else ""
    weekday = _EN_WEEKDAYS[moment.weekday()]
    return f"{weekday} {moment.day} {_EN_MONTHS[moment.month - 1]}{year} {clock}"


def describe_next_open(schedule: Schedule, at: dt.datetime, lang: str = "ja") -> str | None:
    """When the desk is next available, in its local time; ``None`` if never (horizon).

    When open at ``at`` this describes ``at`` itself: callers show "available now"
    based on :func:`is_open` first.
    """
    moment = next_open(schedule, at)
    if moment is None:
        return None
    return format_local(moment, lang, today=at.astimezone(schedule.zone).date())
