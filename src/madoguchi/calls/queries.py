"""Reads for calls: finding a call by its secret, the terms in force, the call queue and a
place in it, whether operators take calls now, and the payloads the pages receive. Nothing
here writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from madoguchi.accounts.roles import is_desk_staff

# Operators on duty and the requester's secret work as for chat (one availability switch).
from madoguchi.chat.queries import operators_on_duty, secret_hash
from madoguchi.core.clock import desk_zone, now
from madoguchi.hours import format_local, is_open, next_open
from madoguchi.inquiries import access
from madoguchi.inquiries.models import PUBLIC_KINDS, Lane, Message, MessageKind
from madoguchi.sla.schedules import channel_schedule

from . import turn
from .models import Call, CallState, CallTerms, Consent, ConsentKind


def code_hash(code: str) -> str:
    """A connection code's keyed hash: six digits are guessed offline in a moment from a
    plain hash, not without the desk's key."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, b"call-code:" + code.encode(), hashlib.sha256).hexdigest()


def find(secret: Any) -> Call | None:
    """The call a requester's secret opens (None: unknown or malformed)."""
    if not secret or not isinstance(secret, str) or len(secret) > 100:
        return None
    return (
        Call.objects.select_related("inquiry", "operator", "terms")
        .filter(secret_hash=secret_hash(secret))
        .first()
    )


def get(pk: int) -> Call:
    return Call.objects.select_related("inquiry", "operator", "terms").get(pk=pk)


def current_terms() -> CallTerms:
    terms = CallTerms.objects.order_by("-version").first()
    if terms is None:  # the seed migration makes one; a flushed database may have none
        from .terms import default_terms

        terms = CallTerms.objects.create(version=1, **default_terms())
    return terms


# --- hours, operators, the queue ------------------------------------------------------------


def calls_open_now() -> bool:
    return is_open(channel_schedule("call"), now())


def next_open_at() -> dt.datetime | None:
    return next_open(channel_schedule("call"), now())


def queue(*, for_user: Any | None = None) -> list[Call]:
    """Waiting calls, oldest first; for a user, only those they may admit (a call invited
    by code waits for its operator only)."""
    qs = (
        Call.objects.filter(state=CallState.WAITING)
        .select_related("inquiry", "invited_by")
        .order_by("queued_at", "id")
    )
    if for_user is None:
        return list(qs)
    if not is_desk_staff(for_user):
        return []
    qs = qs.filter(inquiry__in=access.visible_inquiries(for_user))
    return [c for c in qs if c.invited_by_id in (None, for_user.pk)]


def console_queue(user: Any) -> dict[str, Any]:
    """The console's call queue: the waiting calls ``user`` may admit, and their own live
    calls."""
    return {
        "calls": queue(for_user=user),
        "mine": list(
            Call.objects.filter(operator=user, state=CallState.ACTIVE).select_related("inquiry")
        ),
    }


def inquiry_page_context(user: Any, inquiry: Any) -> dict[str, Any]:
    """What an inquiry's page shows about calls: its latest call, and whether ``user`` is
    that call's operator. The caller has checked that ``user`` may see ``inquiry``."""
    call = Call.objects.filter(inquiry=inquiry).order_by("-pk").select_related("operator").first()
    if call is None:
        return {"call": None, "call_operator": False}
    call.inquiry = inquiry
    return {"call": call, "call_operator": access.is_call_operator(user, call)}


@dataclass
class Place:
    position: int
    wait_minutes: int


def place_in_queue(call: Call) -> Place | None:
    if call.state != CallState.WAITING or call.invited_by_id is not None:
        return None
    ahead = Call.objects.filter(
        state=CallState.WAITING, invited_by__isnull=True, queued_at__lte=call.queued_at
    ).exclude(pk=call.pk)
    ahead = ahead.exclude(queued_at=call.queued_at, id__gt=call.pk)
    if call.faculty_only:
        ahead = ahead.exclude(inquiry__lane=Lane.GENERAL)
    position = ahead.count() + 1
    staff = max(1, operators_on_duty(faculty_only=call.faculty_only))
    per_call = settings.CALL_AVERAGE_MINUTES
    return Place(position, max(1, math.ceil(position * per_call / staff)))


@dataclass
class Availability:
    """``open``, ``closed_hours`` (with the next opening, formatted) or ``busy``."""

    status: str
    next_open: str = ""


def availability(lang: str) -> Availability:
    if not calls_open_now():
        when = next_open_at()
        text = format_local(when.astimezone(desk_zone()), lang) if when else ""
        return Availability("closed_hours", text)
    waiting = Call.objects.filter(state=CallState.WAITING, invited_by__isnull=True).count()
    if operators_on_duty() == 0 or waiting >= settings.CALL_MAX_QUEUE:
        return Availability("busy")
    return Availability("open")


def busy_text(lang: str) -> str:
    with translation.override(lang):
        return _(
            "All operators are busy. Please send your question by the email form, or try "
            "again later."
        )


# --- payloads -------------------------------------------------------------------------------


def transfer_targets(user: Any, call: Call) -> list[Any]:
    """Colleagues a call may be passed to: active desk staff who can see its inquiry."""
    from django.contrib.auth import get_user_model

    return [
        u
        for u in get_user_model()
        .objects.filter(is_active=True)
        .exclude(pk=user.pk)
        .order_by("username")
        if is_desk_staff(u) and access.can_see(u, call.inquiry)
    ]


def operates(user: Any, pk: int) -> bool:
    """Whether ``user`` is, now, the operator of call ``pk`` (checked on every relayed
    frame and event of the operator's socket)."""
    call = Call.objects.select_related("inquiry").filter(pk=pk).first()
    return call is not None and access.is_call_operator(user, call)


def is_active(pk: int) -> bool:
    return Call.objects.filter(pk=pk, state=CallState.ACTIVE).exists()


def state_payload(call: Call) -> dict[str, Any]:
    """The call's state as the requester's page shows it."""
    data: dict[str, Any] = {"state": call.state, "share": call.share}
    place = place_in_queue(call)
    if place is not None:
        data["position"] = place.position
        data["wait_minutes"] = place.wait_minutes
    if call.state == CallState.ACTIVE and call.operator is not None:
        data["operator"] = str(call.operator)
    if call.deadline_at is not None and call.state == CallState.ACTIVE:
        data["seconds_left"] = max(0, int((call.deadline_at - now()).total_seconds()))
    if call.ended_by:
        data["ended_by"] = call.ended_by
    if call.state == CallState.EMAIL:
        data["email_on_file"] = bool(call.inquiry.requester_email)
    return data


def operator_payload(call: Call) -> dict[str, Any]:
    """What the operator's call page shows besides the thread."""
    return {
        "reference": call.inquiry.reference,
        **state_payload(call),
        "requester": call.inquiry.requester_name,
        "lang": call.lang,
    }


def ice_servers(call: Call) -> list[dict[str, Any]]:
    """STUN/TURN for this call's two peers (TURN credentials minted for the call)."""
    return turn.ice_servers(label=f"call{call.pk}")


def message_payload(message: Message) -> dict[str, Any]:
    """A thread entry as the requester's call page receives it (public kinds only)."""
    assert message.kind in PUBLIC_KINDS
    return {
        "seq": message.pk,
        "cid": message.client_id,
        "kind": message.kind,
        "author": message.author_name if message.kind == MessageKind.REPLY else "",
        "body": message.body,
        "at": message.created_at.isoformat(),
        "meta": message.meta,
    }


TRANSCRIPT_MAX = 300


def transcript(call: Call) -> list[dict[str, Any]]:
    """The call's text chat and events so far (what a reloaded page shows again): the
    public entries of its inquiry since the call began, oldest first."""
    entries = (
        access.requester_messages(call.inquiry)
        .filter(pk__gt=call.thread_from)
        .order_by("pk")[:TRANSCRIPT_MAX]
    )
    return [message_payload(m) for m in entries]


def consent_ledger(inquiry: Any) -> list[Consent]:
    return list(inquiry.consents.order_by("created_at", "id"))


def pending_screenshot(call: Call) -> Consent | None:
    """A screenshot request the requester has not answered yet."""
    return (
        call.consents.filter(kind=ConsentKind.SCREENSHOT_ASKED, answered_at__isnull=True)
        .order_by("-pk")
        .first()
    )
