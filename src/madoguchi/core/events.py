"""Realtime events: sent after commit, to an explicit audience of channel-layer groups.

Events carry identifiers and a kind, never protected content: a client that receives one
re-fetches what changed through an access-checked route. So a wrong audience can at most
leak that *something* changed, and the audience rules below keep even that from student
staff for restricted inquiries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

# Channel-layer groups. Every signed-in staff member joins the group of their tier.
GROUP_STUDENT_STAFF = "staff.student"
GROUP_FACULTY_STAFF = "staff.faculty"
# Requesters waiting in a chat queue (their widgets join while waiting).
GROUP_WAITING = "chat.queue"
# Requesters in the call waiting room.
GROUP_CALL_WAITING = "call.queue"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def inquiry_group(inquiry_id: int, tier: str) -> str:
    """Staff sockets of one tier (``student`` or ``faculty``) showing this inquiry, joined
    after an access check. Split by tier like the staff groups, so that an event sent
    after the inquiry was restricted never reaches a student socket that still watches."""
    return f"inquiry.{inquiry_id}.{tier}"


def call_group(call_id: int, side: str) -> str:
    """One side (``requester`` or ``operator``) of one call: signalling and the call's
    events go only there."""
    return f"call.{call_id}.{side}"


def requester_group(inquiry_id: int) -> str:
    return f"requester.{inquiry_id}"


def publish_on_commit(
    event: dict[str, Any] | Callable[[], dict[str, Any]], *, audience: Iterable[str]
) -> None:
    """Send ``event`` to each group in ``audience`` once the current transaction commits.
    A callable ``event`` is called then, for an event that describes the committed state
    (the queue's order after a move)."""
    groups = sorted(set(audience))
    if not groups:
        return

    async def send_all(payload: dict[str, Any]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group in groups:
            try:
                await layer.group_send(group, payload)
            except Exception:  # a lost live update must never fail the write
                log.exception("could not publish %s to %s", payload["event"].get("kind"), group)

    def send() -> None:
        body = event() if callable(event) else event
        async_to_sync(send_all)({"type": "desk.event", "event": body})  # one hop for all

    transaction.on_commit(send, robust=True)
