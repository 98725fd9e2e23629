"""Applying service levels to inquiries: which policy, when each target is due, pausing
while the inquiry waits for the requester. Called by the inquiry actions inside their
transaction; the hour arithmetic is ``madoguchi.hours``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from madoguchi.core.clock import now
from madoguchi.hours import (
    NoOpenTimeError,
    Schedule,
    add_business_minutes,
    business_minutes_between,
    resolve_schedule,
)

from .models import SlaPolicy, SlaTarget

if TYPE_CHECKING:
    from madoguchi.inquiries.models import Inquiry

SLA_FIELDS = [
    "sla_policy",
    "first_response_due",
    "next_response_due",
    "resolution_due",
    "sla_paused_at",
    "due_at",
    "sla_warned",
    "sla_breached",
    "first_response_met",
    "resolution_met",
]


_POLICY_CACHE_SECONDS = 15.0
_policies: tuple[float, list[SlaPolicy]] | None = None


def active_policies() -> list[SlaPolicy]:
    """Active policies with their targets, cached briefly in the process (a change is also
    applied to open inquiries by the recompute task; see signals)."""
    global _policies
    import time

    current = time.monotonic()
    if _policies is None or current - _policies[0] > _POLICY_CACHE_SECONDS:
        policies = list(
            SlaPolicy.objects.filter(active=True)
            .select_related("schedule")
            .prefetch_related("targets")
        )
        _policies = (current, policies)
    return _policies[1]


def forget_policies() -> None:
    global _policies
    _policies = None


def policy_for(inquiry: Inquiry) -> SlaPolicy | None:
    for policy in active_policies():
        if policy.channels and inquiry.channel not in policy.channels:
            continue
        if policy.lanes and inquiry.lane not in policy.lanes:
            continue
        if policy.categories and (
            inquiry.category is None or inquiry.category.slug not in policy.categories
        ):
            continue
        if policy.member_categories and inquiry.member_category not in policy.member_categories:
            continue
        return policy
    return None


def schedule_of(policy: SlaPolicy) -> Schedule | None:
    return resolve_schedule(policy.schedule.name) if policy.schedule is not None else None


def add_minutes(schedule: Schedule | None, start: dt.datetime, minutes: float) -> dt.datetime:
    if schedule is None:
        return start + dt.timedelta(minutes=minutes)
    try:
        return add_business_minutes(schedule, start, minutes)
    except NoOpenTimeError:
        return start + dt.timedelta(minutes=minutes)


def minutes_between(schedule: Schedule | None, a: dt.datetime, b: dt.datetime) -> float:
    if schedule is None:
        return (b - a).total_seconds() / 60
    return business_minutes_between(schedule, a, b)


def _target(policy: SlaPolicy | None, priority: int) -> SlaTarget | None:
    if policy is None:
        return None
    return next((t for t in policy.targets.all() if t.priority == priority), None)


def _refresh_due_at(inquiry: Inquiry) -> None:
    candidates = [
        d
        for d in (inquiry.first_response_due, inquiry.next_response_due, inquiry.resolution_due)
        if d
    ]
    due_at = None if inquiry.sla_paused_at else (min(candidates) if candidates else None)
    if due_at != inquiry.due_at:
        # A new nearest target: warn and report breach for it afresh.
        inquiry.sla_warned = inquiry.sla_breached = False
    inquiry.due_at = due_at


def apply(inquiry: Inquiry) -> None:
    """(Re)compute the targets from the inquiry's start, as if just received. Keeps targets
    already met (first response sent, solved) cleared."""
    policy = policy_for(inquiry)
    inquiry.sla_policy = policy
    target = _target(policy, inquiry.priority)
    schedule = schedule_of(policy) if policy else None
    start = inquiry.created_at
    if target is None:
        inquiry.first_response_due = inquiry.next_response_due = inquiry.resolution_due = None
    else:
        inquiry.first_response_due = (
            None
            if inquiry.first_response_at
            else add_minutes(schedule, start, target.first_response_minutes)
        )
        inquiry.resolution_due = (
            add_minutes(schedule, start, target.resolution_minutes)
            if target.resolution_minutes and not inquiry.solved_at
            else None
        )
        if inquiry.next_response_due and not target.next_response_minutes:
            inquiry.next_response_due = None
    _refresh_due_at(inquiry)


def reapply(inquiry: Inquiry) -> None:
    """Recompute after a schedule or policy change, keeping a running pause."""
    paused = inquiry.sla_paused_at
    apply(inquiry)
    inquiry.sla_paused_at = paused
    _refresh_due_at(inquiry)


def on_staff_reply(inquiry: Inquiry) -> None:
    if inquiry.first_response_due is not None:
        inquiry.first_response_met = now() <= inquiry.first_response_due
    inquiry.first_response_due = None
    inquiry.next_response_due = None
    _refresh_due_at(inquiry)


def on_requester_message(inquiry: Inquiry) -> None:
    """The requester wrote again: the clock runs again and a next response is due."""
    resume(inquiry)
    target = _target(inquiry.sla_policy, inquiry.priority)
    if target and target.next_response_minutes and inquiry.first_response_at:
        schedule = schedule_of(inquiry.sla_policy) if inquiry.sla_policy else None
        inquiry.next_response_due = add_minutes(schedule, now(), target.next_response_minutes)
    _refresh_due_at(inquiry)


def pause(inquiry: Inquiry) -> None:
    if inquiry.sla_paused_at is None:
        inquiry.sla_paused_at = now()
    _refresh_due_at(inquiry)


def resume(inquiry: Inquiry) -> None:
    """Shift every open target by the (business) time spent waiting for the requester."""
    paused_at = inquiry.sla_paused_at
    if paused_at is None:
        return
    schedule = schedule_of(inquiry.sla_policy) if inquiry.sla_policy else None
    current = now()
    for field in ("first_response_due", "next_response_due", "resolution_due"):
        due = getattr(inquiry, field)
        if due is None:
            continue
        remaining = max(0.0, minutes_between(schedule, paused_at, due))
        setattr(inquiry, field, add_minutes(schedule, current, remaining))
    inquiry.sla_paused_at = None
    _refresh_due_at(inquiry)


def on_solved(inquiry: Inquiry) -> None:
    if inquiry.resolution_due is not None:
        inquiry.resolution_met = now() <= inquiry.resolution_due
    inquiry.first_response_due = inquiry.next_response_due = inquiry.resolution_due = None
    inquiry.sla_paused_at = None
    _refresh_due_at(inquiry)


def expected_answer_by(inquiry: Inquiry) -> dt.datetime | None:
    return inquiry.first_response_due


def warn_threshold(inquiry: Inquiry) -> dt.timedelta | None:
    """How long before the nearest due time to warn: the policy's fraction of the target."""
    policy = inquiry.sla_policy
    target = _target(policy, inquiry.priority)
    if policy is None or target is None or inquiry.due_at is None:
        return None
    if inquiry.first_response_due and inquiry.due_at == inquiry.first_response_due:
        minutes = target.first_response_minutes
    elif inquiry.next_response_due and inquiry.due_at == inquiry.next_response_due:
        minutes = target.next_response_minutes or target.first_response_minutes
    else:
        minutes = target.resolution_minutes or target.first_response_minutes
    schedule = schedule_of(policy)
    lead = minutes * policy.warn_at_fraction
    if schedule is None:
        return dt.timedelta(minutes=lead)
    # Business time before the due time: walk back by comparing business minutes.
    return (
        dt.timedelta(minutes=lead) if lead <= 0 else _business_lead(schedule, inquiry.due_at, lead)
    )


def _business_lead(schedule: Schedule, due: dt.datetime, lead_minutes: float) -> dt.timedelta:
    """The wall-clock span before ``due`` that holds ``lead_minutes`` of open time."""
    low, high = dt.timedelta(0), dt.timedelta(minutes=lead_minutes)
    while business_minutes_between(
        schedule, due - high, due
    ) < lead_minutes and high < dt.timedelta(days=60):
        high *= 2
    for _ in range(30):  # bisection to about a minute
        mid = (low + high) / 2
        if business_minutes_between(schedule, due - mid, due) < lead_minutes:
            low = mid
        else:
            high = mid
        if high - low < dt.timedelta(minutes=1):
            break
    return high
