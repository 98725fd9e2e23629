"""Exceptions raised by :mod:`madoguchi.hours`."""

from __future__ import annotations


class ScheduleError(ValueError):
    """A schedule (or one of its parts) is invalid; ``field`` names the bad part.

    ``field`` is a dotted path into the dict form, e.g. ``"exceptions[2].date"``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)

    def under(self, prefix: str) -> ScheduleError:
        """The same error, with ``prefix`` prepended to the field path."""
        if not self.field:
            path = prefix
        elif self.field.startswith("["):
            path = prefix + self.field
        else:
            path = f"{prefix}.{self.field}"
        return ScheduleError(path, self.message)


class NoOpenTimeError(LookupError):
    """The schedule has no open time within the search horizon (about three years)."""


class UnknownScheduleError(LookupError):
    """No schedule is registered under the requested name."""
