"""Schedules by name.  The Django layer installs a resolver that reads the database."""

from __future__ import annotations

import functools
from collections.abc import Callable

from ._errors import UnknownScheduleError
from ._schedule import Schedule, always_open, default_operator_schedule

DEFAULT_SCHEDULE = "operators"

#: Hook consulted before the built-in names; returns None to fall back to them.
ScheduleResolver = Callable[[str], Schedule | None]

_BUILTIN: dict[str, Callable[[], Schedule]] = {
    "operators": default_operator_schedule,
    "always": lambda: always_open("Asia/Tokyo"),
}
_resolver: ScheduleResolver | None = None


def set_schedule_resolver(resolver: ScheduleResolver | None) -> ScheduleResolver | None:
    """Install ``resolver`` (or remove it with None); returns the previous one."""
    global _resolver
    previous, _resolver = _resolver, resolver
    return previous


def resolve_schedule(name: str = DEFAULT_SCHEDULE) -> Schedule:
    """The schedule called ``name``: the installed resolver first, then the built-ins
    ``operators`` (the default) and ``always`` (24/7, Asia/Tokyo)."""
    if _resolver is not None:
        found = _resolver(name)
        if found is not None:
            return found
    if name not in _BUILTIN:
        known = ", ".join(sorted(_BUILTIN))
        raise UnknownScheduleError(f"unknown schedule {name!r} (built-in: {known})")
    return _builtin(name)


@functools.cache
def _builtin(name: str) -> Schedule:
    # Schedules are immutable; one instance per name keeps its day cache warm.
    return _BUILTIN[name]()
