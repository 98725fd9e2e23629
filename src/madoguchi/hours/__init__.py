"""Business hours: when a desk is open, and arithmetic on its open time.

Pure Python, no Django: the ``hours`` Django layer stores a schedule as the JSON of
:meth:`Schedule.to_dict` and calls these functions.

Model
-----
A :class:`Schedule` is a frozen value:

- ``tz``: a zoneinfo key; all rules are in local wall-clock time of that zone.
- ``weekly``: seven tuples (Monday first) of :class:`TimeRange` with minute
  precision, several per day (08:25-12:00, 13:00-18:30).  A range may end at 24:00,
  and may cross midnight (22:00-02:00): it then belongs to the day it *starts* on
  (Friday's night shift runs into Saturday even if Saturday is a holiday).
- ``holidays``: a :class:`HolidaySource`, e.g. ``CountryHolidays("JP")`` (the
  ``holidays`` package: national, substitute 振替休日 and citizens' 国民の休日 holidays).
- ``closures``: :class:`RecurringClosure` month/day ranges, e.g. 12-29 through 01-03.
- ``exceptions``: :class:`DateException` per date: closed, open with the regular
  hours (a special open day such as 2024-05-03), or open with given hours.

Precedence for a local date: exception > (recurring closure, holiday) > weekly hours.
:func:`always_open` is calendar time (24/7).

Time
----
Functions take and return *aware* datetimes (naive input raises ValueError); results
are in the schedule's zone, computed on UTC instants, independent of the process
``TZ``.  Open periods are half-open ``[start, end)``: at 18:30 the desk is closed.
Adjacent periods merge (23:00-24:00 then 00:00-01:00 is one period).  A nonexistent
local time (DST gap) resolves to the end of the gap, an ambiguous one to its first
occurrence, so a range inside a gap is empty and a range across a fold is longer.

Due times
---------
``add_business_minutes(s, start, m)`` is the earliest instant by which ``m`` open
minutes have elapsed: it may be the end of an open period (18:30), never strictly
inside a closed one, and ``add(add(s, a), b) == add(s, a + b)`` for ``a, b > 0``.
Searches stop after :data:`HORIZON_DAYS` days without any open time:
:func:`next_open` and :func:`closes_at` return None, :func:`add_business_minutes`
raises :class:`NoOpenTimeError`.  Day pieces are cached per schedule instance, so
keep one instance per schedule (the registry does).

Errors
------
``ScheduleError(ValueError)``  invalid schedule data; ``.field`` names the bad field.
``NoOpenTimeError(LookupError)``  no open time within the horizon.
``UnknownScheduleError(LookupError)``  :func:`resolve_schedule` does not know the name.
"""

from ._calc import (
    HORIZON_DAYS,
    OpenInterval,
    add_business_minutes,
    business_minutes_between,
    closes_at,
    is_open,
    next_open,
    open_intervals,
)
from ._errors import NoOpenTimeError, ScheduleError, UnknownScheduleError
from ._format import describe_next_open, format_local
from ._holidays import CountryHolidays, HolidaySource
from ._registry import DEFAULT_SCHEDULE, resolve_schedule, set_schedule_resolver
from ._schedule import (
    DateException,
    RecurringClosure,
    Schedule,
    TimeRange,
    always_open,
    default_operator_schedule,
)

__all__ = [
    "DEFAULT_SCHEDULE",
    "HORIZON_DAYS",
    "CountryHolidays",
    "DateException",
    "HolidaySource",
    "NoOpenTimeError",
    "OpenInterval",
    "RecurringClosure",
    "Schedule",
    "ScheduleError",
    "TimeRange",
    "UnknownScheduleError",
    "add_business_minutes",
    "always_open",
    "business_minutes_between",
    "closes_at",
    "default_operator_schedule",
    "describe_next_open",
    "format_local",
    "is_open",
    "next_open",
    "open_intervals",
    "resolve_schedule",
    "set_schedule_resolver",
]
