"""The one clock. Everything that needs "now" calls :func:`now`; tests set it."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """An aware UTC datetime."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(dt.UTC)


def desk_zone() -> dt.tzinfo:
    """The desk's own time zone (``TIME_ZONE``): calendars, daily figures, "today"."""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    return ZoneInfo(settings.TIME_ZONE)


def today() -> dt.date:
    """Today's date where the desk is (not in UTC)."""
    return now().astimezone(desk_zone()).date()


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    global _frozen
    if at.tzinfo is None:
        raise ValueError("the clock only takes aware datetimes")
    previous, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = previous
