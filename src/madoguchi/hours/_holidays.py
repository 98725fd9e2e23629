"""Holiday sources: which calendar dates are public holidays.

A source is anything with ``is_holiday(day) -> bool`` and ``to_dict()``.
:class:`CountryHolidays` wraps the ``holidays`` package (maintained, covers
substitute holidays 振替休日 and citizens' holidays 国民の休日 for Japan, and
~150 other countries).  Lookups are cached per (country, subdivision, year).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._errors import ScheduleError


@runtime_checkable
class HolidaySource(Protocol):
    """Decides whether a local calendar date is a holiday.  Must be hashable."""

    def is_holiday(self, day: dt.date) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


@functools.cache
def _supported() -> dict[str, list[str]]:
    import holidays

    return holidays.list_supported_countries()


@functools.lru_cache(maxsize=512)
def _holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[dt.date]:
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())


@dataclass(frozen=True)
class CountryHolidays:
    """Public holidays of ``country`` (ISO 3166-1 alpha-2), optionally of a subdivision.

    Dates outside the library's range for the country (for Japan: after 2099)
    have no holidays.
    """

    country: str
    subdiv: str | None = None

    def __post_init__(self) -> None:
        supported = _supported()
        if not isinstance(self.country, str) or self.country not in supported:
            raise ScheduleError("country", f"unsupported country code {self.country!r}")
        if self.subdiv is not None and self.subdiv not in supported[self.country]:
            raise ScheduleError("subdiv", f"unknown subdivision {self.subdiv!r} of {self.country}")

    def is_holiday(self, day: dt.date) -> bool:
        return day in _holiday_dates(self.country, self.subdiv, day.year)

    def to_dict(self) -> dict[str, Any]:
        return {"country": self.country, "subdiv": self.subdiv}


def holiday_source_from_dict(data: Any) -> HolidaySource | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ScheduleError("", 'expected an object like {"country": "JP"} or null')
    unknown = set(data) - {"country", "subdiv"}
    if unknown:
        raise ScheduleError(sorted(unknown)[0], "unknown field")
    if "country" not in data:
        raise ScheduleError("country", "required")
    return CountryHolidays(country=data["country"], subdiv=data.get("subdiv"))
