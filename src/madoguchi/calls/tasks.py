from __future__ import annotations

from django_tasks import task


@task(queue_name="default")
def call_clock(call_id: int) -> dict[str, int]:
    """One call's warning or time limit, at its moment (``actions._schedule_clock``)."""
    from . import actions

    return actions.do_check_clock(call_id)
