"""An iCalendar (RFC 5545) feed of a schedule's closures and special days: every date in
the window whose hours differ from the regular week (holidays, the year end, one-off
closures, special open days, shortened hours)."""

from __future__ import annotations

import datetime as dt

from madoguchi.hours import Schedule

TEXT = {
    "ja": {"closed": "休業", "special": "特別対応", "changed": "対応時間の変更"},
    "en": {"closed": "Closed", "special": "Special opening", "changed": "Changed hours"},
}


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continuation lines start with a space."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return [out[0], *(" " + part for part in out[1:])]


def _label(schedule: Schedule, day: dt.date) -> str:
    for exc in schedule.exceptions:
        if exc.day == day:
            return exc.label
    for closure in schedule.closures:
        if closure.covers(day):
            return closure.label
    return ""


def _utc(day: dt.date, minute: int, schedule: Schedule) -> str:
    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return local.replace(tzinfo=schedule.zone).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(
    schedule: Schedule,
    *,
    name: str,
    title: str,
    start: dt.date,
    days: int,
    lang: str,
    domain: str,
    stamp: dt.datetime,
) -> str:
    words = TEXT["en" if lang.startswith("en") else "ja"]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//madoguchi//business hours//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(title)}",
        f"X-WR-TIMEZONE:{schedule.tz}",
    ]
    dtstamp = stamp.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        regular = schedule.weekly[day.weekday()]
        actual = schedule.hours_on(day)
        if actual == regular:
            continue
        label = _label(schedule, day)
        lines += ["BEGIN:VEVENT", f"UID:{name}-{day.isoformat()}@{domain}", f"DTSTAMP:{dtstamp}"]
        if not actual:
            end = day + dt.timedelta(days=1)
            lines += [
                f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{end:%Y%m%d}",
                f"SUMMARY:{_escape(words['closed'] + (': ' + label if label else ''))}",
                "TRANSP:TRANSPARENT",
            ]
        else:
            first, last = actual[0], actual[-1]
            closed_without_exception = (
                not regular
                or any(c.covers(day) for c in schedule.closures)
                or (schedule.holidays is not None and schedule.holidays.is_holiday(day))
            )
            kind = words["special"] if closed_without_exception else words["changed"]
            hours = ", ".join(str(r) for r in actual)
            lines += [
                f"DTSTART:{_utc(day, first.start, schedule)}",
                f"DTEND:{_utc(day, last.end, schedule)}",
                f"SUMMARY:{_escape(kind + (': ' + label if label else ''))}",
                f"DESCRIPTION:{_escape(hours)}",
                "TRANSP:TRANSPARENT",
            ]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    folded = [part for line in lines for part in _fold(line)]
    return "\r\n".join(folded) + "\r\n"
