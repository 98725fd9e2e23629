import pytest


@pytest.fixture(autouse=True)
def _builtin_schedules_only():
    """These tests are of the pure module: the database resolver that the Django layer
    installs (madoguchi.sla) is set aside while they run."""
    from madoguchi.hours import set_schedule_resolver

    previous = set_schedule_resolver(None)
    yield
    set_schedule_resolver(previous)
