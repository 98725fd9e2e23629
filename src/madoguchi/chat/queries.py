"""Reads of the chat: conversations, the queue and a place in it, whether a person can
take a chat now, and the payloads the widget and the console show. Nothing here writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from madoguchi.accounts.roles import is_desk_staff, sees_restricted
from madoguchi.core.clock import desk_zone, now
from madoguchi.hours import format_local, is_open, next_open
from madoguchi.inquiries import access
from madoguchi.inquiries.models import (
    PUBLIC_KINDS,
    Attachment,
    Channel,
    Inquiry,
    Lane,
    Message,
    MessageKind,
)
from madoguchi.kb import search
from madoguchi.sla.schedules import channel_schedule

from .models import CannedReply, ChatState, Conversation, OperatorStatus

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class _OperatorLoad(TypedDict):
        active: int  # the operator's live chats


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def find(secret: str | None) -> Conversation | None:
    """The conversation a requester's secret opens (None: unknown or malformed)."""
    if not secret or not isinstance(secret, str) or len(secret) > 100:
        return None
    return (
        Conversation.objects.select_related("inquiry", "operator")
        .filter(secret_hash=secret_hash(secret))
        .first()
    )


def get(pk: int) -> Conversation:
    return Conversation.objects.select_related("inquiry", "operator").get(pk=pk)


def visitor_name(lang: str) -> str:
    with translation.override(lang):
        return pgettext("chat requester", "Chat visitor")


# --- availability, queue, estimates ---------------------------------------------------------


def chat_open_now() -> bool:
    return is_open(channel_schedule("chat"), now())


def next_open_at() -> dt.datetime | None:
    return next_open(channel_schedule("chat"), now())


def available_operators(
    *, faculty_only: bool = False
) -> list[WithAnnotations[OperatorStatus, _OperatorLoad]]:
    """Operators marked available who still have room for another chat."""
    rows = (
        OperatorStatus.objects.filter(available=True, user__is_active=True)
        .select_related("user")
        .annotate(active=Count("user__chats", filter=Q(user__chats__state=ChatState.ACTIVE)))
    )
    out = [r for r in rows if is_desk_staff(r.user) and r.active < r.max_chats]
    if faculty_only:
        out = [r for r in out if sees_restricted(r.user)]
    return out


def operators_on_duty(*, faculty_only: bool = False) -> int:
    rows = OperatorStatus.objects.filter(available=True, user__is_active=True).select_related(
        "user"
    )
    return sum(
        1 for r in rows if is_desk_staff(r.user) and (not faculty_only or sees_restricted(r.user))
    )


def queue(*, for_user: Any | None = None) -> list[Conversation]:
    """Waiting conversations, oldest first; for a user, only those they may take."""
    qs = (
        Conversation.objects.filter(state=ChatState.QUEUED)
        .select_related("inquiry")
        .order_by("queued_at", "id")
    )
    if for_user is not None:
        if not is_desk_staff(for_user):
            return []
        qs = qs.filter(inquiry__in=access.visible_inquiries(for_user))
    return list(qs)


def average_wait_minutes() -> float:
    """Median minutes from queue to operator over the last day's chats (2 when unknown);
    cached for half a minute, since every waiting requester asks for it."""
    return cast(float, cache.get_or_set("chat:median-wait", _median_wait, 30))


def _median_wait() -> float:
    since = now() - dt.timedelta(hours=24)
    waits = sorted(
        (c.accepted_at - c.queued_at).total_seconds() / 60
        for c in Conversation.objects.filter(accepted_at__gte=since, queued_at__isnull=False).only(
            "accepted_at", "queued_at"
        )[:500]
        if c.accepted_at is not None and c.queued_at is not None
    )
    if not waits:
        return 2.0
    return max(0.5, waits[len(waits) // 2])


@dataclass
class Place:
    position: int
    wait_minutes: int


def place_in_queue(conversation: Conversation) -> Place | None:
    if conversation.state != ChatState.QUEUED or conversation.queued_at is None:
        return None
    ahead = Conversation.objects.filter(state=ChatState.QUEUED).filter(
        Q(queued_at__lt=conversation.queued_at)
        | Q(queued_at=conversation.queued_at, id__lt=conversation.pk)
    )
    if conversation.faculty_only:
        ahead = ahead.exclude(inquiry__lane=Lane.GENERAL)
    position = ahead.count() + 1
    return Place(position, estimate(position, faculty_only=conversation.faculty_only))


def queue_snapshot() -> dict[str, Any]:
    """The queue as every waiting widget needs it, read once per move instead of once per
    waiting widget: who waits in which order (conversation id, and whether its lane is
    general), the recent median wait and the operators on duty for each kind of waiter.
    For the waiting widgets' group only (never sent on to a browser or to staff)."""
    rows = (
        Conversation.objects.filter(state=ChatState.QUEUED)
        .order_by("queued_at", "id")
        .values_list("id", "inquiry__lane")[:SNAPSHOT_MAX]
    )
    return {
        "order": [[pk, lane == Lane.GENERAL] for pk, lane in rows],
        "average": average_wait_minutes(),
        "staff": {
            "general": max(1, operators_on_duty()),
            "faculty": max(1, operators_on_duty(faculty_only=True)),
        },
    }


SNAPSHOT_MAX = 1000  # waiters beyond that ask the database for their place


def place_from_snapshot(snapshot: dict[str, Any], pk: int) -> Place | None:
    """Conversation ``pk``'s place in ``snapshot``: what ``place_in_queue`` says at that
    moment (a waiter in a restricted lane counts only restricted waiters ahead). None when
    it is not in the snapshot."""
    order = snapshot["order"]
    for i, (entry_pk, general) in enumerate(order):
        if entry_pk != pk:
            continue
        if general:
            position = i + 1
        else:
            position = 1 + sum(1 for _pk, other_general in order[:i] if not other_general)
        staff = snapshot["staff"]["general" if general else "faculty"]
        return Place(position, max(1, math.ceil(position * snapshot["average"] / staff)))
    return None


def estimate(position: int, *, faculty_only: bool = False) -> int:
    """Minutes until the ``position``-th waiter is taken, from the recent median wait."""
    staff = max(1, operators_on_duty(faculty_only=faculty_only))
    return max(1, math.ceil(position * average_wait_minutes() / staff))


@dataclass
class Availability:
    """Whether a person can take a chat now: ``open``, ``closed_hours`` (with the next
    opening, formatted for the chat's language) or ``busy`` (nobody on duty, or the queue is
    longer than the desk lets requesters wait)."""

    status: str
    next_open: str = ""


def person_availability(lang: str) -> Availability:
    if not chat_open_now():
        when = next_open_at()
        text = format_local(when.astimezone(desk_zone()), lang) if when else ""
        return Availability("closed_hours", text)
    waiting = Conversation.objects.filter(state=ChatState.QUEUED).count()
    if (
        operators_on_duty() == 0
        or waiting >= settings.CHAT_MAX_QUEUE
        or estimate(waiting + 1) > settings.CHAT_MAX_WAIT_MINUTES
    ):
        return Availability("busy")
    return Availability("open")


def busy_text() -> str:
    """Nobody can take a chat now (in hours): the bot's answer, the widget's notice."""
    return _(
        "No operator can take a chat now. Please send your question by the email form, or "
        "leave your mail address and we will answer by mail."
    )


# --- what the widget shows -----------------------------------------------------------------


def message_payload(
    message: Message, *, attachments: Sequence[Attachment] | None = None
) -> dict[str, Any]:
    """A thread entry as the requester's widget receives it (public kinds only);
    ``attachments`` when the caller knows them already (none, for a new text entry)."""
    assert message.kind in PUBLIC_KINDS
    if attachments is None:
        attachments = list(message.attachments.all())
    return {
        "seq": message.pk,
        "cid": message.client_id,
        "kind": message.kind,
        "author": message.author_name if message.kind == MessageKind.REPLY else "",
        "body": message.body,
        "at": message.created_at.isoformat(),
        "meta": message.meta,
        "files": [
            {"id": a.pk, "name": a.original_name, "size": a.size, "type": a.content_type}
            for a in attachments
        ],
    }


STATE_KEYS = frozenset({"state", "position", "wait_minutes", "operator", "rated", "email"})


def state_payload(conversation: Conversation) -> dict[str, Any]:
    """The conversation's state as the widget shows it (queue place, operator, ...)."""
    data: dict[str, Any] = {"state": conversation.state}
    place = place_in_queue(conversation)
    if place is not None:
        data["position"] = place.position
        data["wait_minutes"] = place.wait_minutes
    if conversation.state == ChatState.ACTIVE and conversation.operator is not None:
        data["operator"] = str(conversation.operator)
    data["rated"] = conversation.rating is not None
    data["email"] = bool(conversation.inquiry.requester_email)
    return data


def transcript(conversation: Conversation, *, after: int = 0) -> list[dict[str, Any]]:
    messages = (
        access.requester_messages(conversation.inquiry)
        .filter(pk__gt=after)
        .prefetch_related("attachments")
        .order_by("pk")[:500]
    )
    return [message_payload(m) for m in messages]


def availability_payload(lang: str) -> dict[str, Any]:
    """What the widget says up front, and what "talk to a person" will find: ``person`` is
    open, closed_hours or busy; ``operators_next`` when they are next available."""
    availability = person_availability(lang)
    return {
        "operators_open": availability.status != "closed_hours",
        "person": availability.status,
        "operators_next": availability.next_open,
    }


def welcome_payload(pk: int, *, after: int = 0) -> dict[str, Any]:
    """Everything a (re)connecting widget needs: state, the entries after ``after``."""
    conversation = get(pk)
    return {
        **state_payload(conversation),
        "lang": conversation.lang,
        "messages": transcript(conversation, after=after),
        **availability_payload(conversation.lang),
    }


# --- what the console shows ----------------------------------------------------------------


def operator_status(user: Any) -> OperatorStatus:
    """The user's availability (an unsaved default when they never set it)."""
    row = OperatorStatus.objects.filter(user=user).first()
    return row or OperatorStatus(user=user, max_chats=settings.CHAT_DEFAULT_MAX_CHATS)


def active_chats(user: Any) -> list[Conversation]:
    return list(
        Conversation.objects.filter(operator=user, state=ChatState.ACTIVE)
        .filter(inquiry__in=access.visible_inquiries(user))
        .select_related("inquiry")
        .order_by("accepted_at")
    )


def queue_rows(user: Any) -> list[dict[str, Any]]:
    current = now()
    return [
        {
            "position": position,
            "conversation": conversation,
            "inquiry": conversation.inquiry,
            "waited": int((current - conversation.queued_at).total_seconds() // 60)
            if conversation.queued_at
            else 0,
        }
        for position, conversation in enumerate(queue(for_user=user), start=1)
    ]


def panel_context(user: Any) -> dict[str, Any]:
    return {
        "status": operator_status(user),
        "queue_rows": queue_rows(user),
        "mine": active_chats(user),
        "routing": settings.CHAT_ROUTING,
        "open_now": chat_open_now(),
    }


def inquiry_page_context(user: Any, inquiry: Inquiry) -> dict[str, Any]:
    """What the inquiry page shows for a chat (empty for other channels). The caller has
    checked that ``user`` may see ``inquiry``."""
    if inquiry.channel != Channel.CHAT:
        return {}
    conversation = Conversation.objects.filter(inquiry=inquiry).select_related("operator").first()
    if conversation is None:
        return {}
    conversation.inquiry = inquiry
    suggestions = []
    last = (
        access.visible_messages(user, inquiry)
        .filter(kind=MessageKind.REQUESTER)
        .order_by("-pk")
        .first()
    )
    if last is not None and conversation.state in (ChatState.QUEUED, ChatState.ACTIVE):
        suggestions = search.public_matches(last.body, conversation.lang, limit=3)
    can_operate = access.can_operate_chat(user, conversation)
    staff = []
    if can_operate:
        staff = [
            u
            for u in get_user_model()
            .objects.filter(is_active=True)
            .exclude(pk=user.pk)
            .order_by("username")
            if access.can_assign(user, inquiry, u)  # which checks that they can see it
        ]
    return {
        "chat": conversation,
        "chat_mine": conversation.operator_id == user.pk and conversation.state == ChatState.ACTIVE,
        "chat_can_operate": can_operate,
        "chat_can_accept": access.can_accept_chat(user, conversation),
        "chat_suggestions": suggestions,
        "chat_canned": [(c.title, c.body(conversation.lang)) for c in CannedReply.objects.all()],
        "chat_transfer_to": staff,
    }
