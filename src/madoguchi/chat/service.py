"""Everything that changes a chat: the requester's turns, the bot, the queue, operators.

Functions here are synchronous (the consumer calls them through
``database_sync_to_async``); writes to the inquiry itself go through
``inquiries.actions``. Every change publishes on commit: to the requester's group the
public payload, to staff only references (they re-fetch through access checks).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from madoguchi.accounts.roles import is_desk_staff, sees_restricted
from madoguchi.core.clock import desk_zone, now
from madoguchi.core.events import (
    GROUP_FACULTY_STAFF,
    GROUP_STUDENT_STAFF,
    publish_on_commit,
    user_group,
)
from madoguchi.inquiries import access
from madoguchi.inquiries import actions as inquiry_actions
from madoguchi.inquiries.models import Inquiry, Lane, Message, MessageKind
from madoguchi.privacy import audit

from .models import LIVE_STATES, ChatState, Conversation, OperatorStatus

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class _OperatorLoad(TypedDict):
        active: int  # the operator's live chats


NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)  # sorts operators never assigned first
QUEUE_GROUP = "chat.queue"  # waiting requesters: "the queue moved, ask for your place"


class ChatError(Exception):
    """A requester or operator action that cannot be done now; ``str()`` is for people."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def find(secret: str | None) -> Conversation | None:
    if not secret or not isinstance(secret, str) or len(secret) > 100:
        return None
    return (
        Conversation.objects.select_related("inquiry", "operator")
        .filter(secret_hash=secret_hash(secret))
        .first()
    )


def _locked(pk: int) -> Conversation:
    """The conversation and its inquiry, locked in the one order every writer uses
    (inquiry first, as the console's actions do), so concurrent writers never deadlock."""
    inquiry = Inquiry.objects.select_for_update(of=("self",)).get(chat__pk=pk)
    conversation = (
        Conversation.objects.select_for_update(of=("self",)).select_related("operator").get(pk=pk)
    )
    conversation.inquiry = inquiry
    return conversation


def visitor_name(lang: str) -> str:
    with translation.override(lang):
        return pgettext("chat requester", "Chat visitor")


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "ja"


# --- availability, queue, estimates ---------------------------------------------------------


def chat_open_now() -> bool:
    from madoguchi.hours import is_open
    from madoguchi.sla.schedules import channel_schedule

    return is_open(channel_schedule("chat"), now())


def next_open_at() -> Any:
    from madoguchi.hours import next_open
    from madoguchi.sla.schedules import channel_schedule

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
        if not sees_restricted(for_user):
            qs = qs.filter(inquiry__lane=Lane.GENERAL)
    return list(qs)


def average_wait_minutes() -> float:
    """Median minutes from queue to operator over the last day's chats (2 when unknown);
    cached for half a minute, since every waiting requester asks for it."""
    from django.core.cache import cache

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
    return Place(position, _estimate(position, faculty_only=conversation.faculty_only))


def _estimate(position: int, *, faculty_only: bool = False) -> int:
    staff = max(1, operators_on_duty(faculty_only=faculty_only))
    return max(1, math.ceil(position * average_wait_minutes() / staff))


# --- what the widget shows -----------------------------------------------------------------


def state_payload(conversation: Conversation) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": "chat.state", "state": conversation.state}
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
        access.requester_messages(conversation.inquiry).filter(pk__gt=after).order_by("pk")[:500]
    )
    return [inquiry_actions.chat_payload(m) for m in messages]


def _publish_state(conversation: Conversation) -> None:
    publish_on_commit(
        {"kind": "chat.state.changed", "inquiry": conversation.inquiry.reference},
        audience=access.requester_audience(conversation.inquiry),
    )


def _publish_queue(conversation: Conversation | None = None) -> None:
    """Tell waiting requesters and the staff who may take chats that the queue moved."""
    staff = (
        access.inquiry_audience(conversation.inquiry)
        if conversation is not None
        else [GROUP_FACULTY_STAFF, GROUP_STUDENT_STAFF]
    )
    publish_on_commit({"kind": "chat.queue"}, audience=staff)
    publish_on_commit({"kind": "chat.queue"}, audience=[QUEUE_GROUP])


def _event(conversation: Conversation, event: str, **values: str) -> Message:
    """A line in the transcript both sides see ("an operator joined"), in the chat's language."""
    with translation.override(conversation.lang):
        texts = {
            "queued": lambda: _("You are in the queue for an operator."),
            "joined": lambda: _("%(name)s has joined the chat.") % values,
            "transferred": lambda: _("The chat was passed to %(name)s.") % values,
            "to_faculty": lambda: _("The chat was passed to faculty staff. Please wait a moment."),
            "by_mail": lambda: _("This inquiry will be continued by mail."),
            "closed_requester": lambda: _("You ended the chat."),
            "closed_operator": lambda: _("The operator ended the chat."),
            "closed_idle": lambda: _("The chat was closed after a period of inactivity."),
            "left_queue": lambda: _("You left the queue."),
        }
        text = texts[event]()
    message, _created = inquiry_actions.do_chat_message(
        conversation.inquiry, kind=MessageKind.EVENT, body=text, meta={"event": event, **values}
    )
    return message


# --- the requester's side -------------------------------------------------------------------


@dataclass
class Turn:
    """What one requester message produced."""

    conversation: Conversation
    message: Message
    created: bool
    secret: str = ""  # set when this message started the conversation
    replies: list[Message] = field(default_factory=list)


def clean_text(body: Any) -> str:
    from madoguchi.intake.validation import valid_text

    if not isinstance(body, str):
        raise ChatError(_("A message must be text."), "invalid")
    body = body.replace("\r\n", "\n").strip()
    if "\x00" in body:
        raise ChatError(_("This text contains characters that are not valid."), "invalid")
    try:
        valid_text(body)
    except ValidationError as exc:
        raise ChatError(str(exc.messages[0]), "invalid") from None
    if not body:
        raise ChatError(_("The message is empty."), "empty")
    if len(body) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise ChatError(
            _("The message is too long (at most %(n)d characters).")
            % {"n": settings.CHAT_MAX_MESSAGE_CHARS},
            "too_long",
        )
    return body


def clean_client_id(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not (8 <= len(value) <= 64)
        or not value.isascii()
        or not all(c.isalnum() or c in "-_" for c in value)
    ):
        raise ChatError(_("The message has no valid id."), "invalid")
    return value


def start(body: str, *, client_id: str, lang: str, page_url: str = "") -> Turn:
    """The first message: the conversation and its inquiry are made, the bot answers."""
    lang = _lang(lang)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        inquiry, message = inquiry_actions.do_open_chat(
            body=body, lang=lang, client_id=client_id, name=visitor_name(lang)
        )
        conversation = Conversation.objects.create(
            inquiry=inquiry, secret_hash=secret_hash(secret), lang=lang, page_url=page_url[:300]
        )
        turn = Turn(conversation, message, True, secret=secret)
        turn.replies = _bot_turn(conversation, message)
    return turn


def say(conversation: Conversation, body: str, *, client_id: str) -> Turn:
    """A requester's message in an existing conversation."""
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state in (ChatState.CLOSED, ChatState.EMAIL):
            existing = conversation.inquiry.messages.filter(client_id=client_id).first()
            if existing is not None:  # a re-send of a message stored before the close
                return Turn(conversation, existing, False)
            raise ChatError(
                _("This chat has ended. Start a new one to ask something else."), "closed"
            )
        message, created = inquiry_actions.do_chat_message(
            conversation.inquiry, kind=MessageKind.REQUESTER, body=body, client_id=client_id
        )
        turn = Turn(conversation, message, created)
        if created:
            Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now())
            if conversation.state == ChatState.BOT:
                turn.replies = _bot_turn(conversation, message)
    return turn


def _article_link(topic: str, lang: str) -> str:
    return reverse("faq-article", args=[topic]) + f"?lang={lang}"


def _bot_turn(conversation: Conversation, message: Message) -> list[Message]:
    """The bot answers a requester's message (while no person has taken over)."""
    from madoguchi.kb import search
    from madoguchi.kb.models import Article
    from madoguchi.kb.rendering import links, plain

    lang = conversation.lang
    decision = search.engine().ask(message.body, lang=lang, audience="requester")
    inquiry = conversation.inquiry
    if decision.decision == "rule" and decision.rule == "sensitive":
        # What the requester just wrote may be sensitive: student staff never see it (nor
        # the question the bot logs from it, which follows the message).
        message.inquiry = inquiry
        inquiry_actions.do_withhold_chat_message(message)
    _learn(message, lang, decision)
    if decision.decision == "rule" and decision.rule == "human":
        return [_person_reply(conversation)]
    if decision.decision == "rule":
        meta: dict[str, Any] = {"rule": decision.rule, "link": decision.link}
        reply, _c = inquiry_actions.do_chat_message(
            inquiry, kind=MessageKind.BOT, body=decision.message, meta=meta
        )
        return [reply]
    if decision.decision == "answer" and decision.articles:
        best = decision.articles[0]
        article = (
            Article.objects.filter(public=True, topic=best.topic, lang=lang).first()
            or Article.objects.filter(public=True, topic=best.topic).first()
        )
        if article is not None:
            _outcome(article, "answered")
            meta = {
                "article": article.topic,
                "title": article.question,
                "link": _article_link(article.topic, lang),
                "links": links(article.answer),
                "ask_helpful": True,
            }
            reply, _c = inquiry_actions.do_chat_message(
                inquiry, kind=MessageKind.BOT, body=plain(article.answer), meta=meta
            )
            return [reply]
    person = person_availability(lang).status == "open"
    with translation.override(lang):
        if person:
            body = _(
                "Sorry, I could not find an answer to this in the FAQ. You can rephrase the "
                "question, or ask a member of staff."
            )
        else:
            body = _(
                "Sorry, I could not find an answer to this in the FAQ. You can rephrase the "
                "question, or send it to us by the email form or by mail."
            )
    reply, _c = inquiry_actions.do_chat_message(
        inquiry,
        kind=MessageKind.BOT,
        body=body,
        meta={"unanswered": True, "offer": ["person", "form"] if person else ["form", "mail"]},
    )
    return [reply]


@dataclass
class Availability:
    """Whether a person can take a chat now: ``open``, ``closed_hours`` (with the next
    opening, formatted for the chat's language) or ``busy`` (nobody on duty, or the queue is
    longer than the desk lets requesters wait)."""

    status: str
    next_open: str = ""


def person_availability(lang: str) -> Availability:
    from madoguchi.hours import format_local

    if not chat_open_now():
        when = next_open_at()
        text = format_local(when.astimezone(desk_zone()), lang) if when else ""
        return Availability("closed_hours", text)
    waiting = Conversation.objects.filter(state=ChatState.QUEUED).count()
    if (
        operators_on_duty() == 0
        or waiting >= settings.CHAT_MAX_QUEUE
        or _estimate(waiting + 1) > settings.CHAT_MAX_WAIT_MINUTES
    ):
        return Availability("busy")
    return Availability("open")


def busy_text() -> str:
    """Nobody can take a chat now (in hours): the bot's answer, the widget's notice."""
    return _(
        "No operator can take a chat now. Please send your question by the email form, or "
        "leave your mail address and we will answer by mail."
    )


def _person_reply(conversation: Conversation) -> Message:
    """The answer to "I want to talk to a person", in one message that tells the truth
    first: a person can take over now (wait, or use the form), or not (when they are next
    available, and the two ways on: the email form or an answer by mail)."""
    lang = conversation.lang
    availability = person_availability(lang)
    with translation.override(lang):
        if availability.status == "open":
            body = _(
                "An operator can take over this chat. Would you like to wait for one? You can "
                "also send the question by the email form."
            )
            offer = ["person", "form"]
        elif availability.status == "closed_hours" and availability.next_open:
            body = _(
                "Operators are not available now; they are next available from %(when)s. "
                "You can send your question by the email form, or leave your mail address and "
                "we will answer by mail."
            ) % {"when": availability.next_open}
            offer = ["form", "mail"]
        else:
            body = busy_text()
            offer = ["form", "mail"]
    reply, _c = inquiry_actions.do_chat_message(
        conversation.inquiry,
        kind=MessageKind.BOT,
        body=body,
        meta={"rule": "human", "offer": offer, "availability": availability.status},
    )
    return reply


def _learn(message: Message, lang: str, decision: Any) -> None:
    from madoguchi.kb import learning

    learning.record_question(message.body, lang, decision, channel="chat", message=message)


def _outcome(article: Any, what: str) -> None:
    from madoguchi.kb import learning

    learning.record_outcome(article, what)


def feedback(conversation: Conversation, seq: Any, helpful: Any) -> None:
    """'Did this solve it?' on a bot answer: counted once per answer."""
    from madoguchi.kb import counters
    from madoguchi.kb.models import Article

    if not isinstance(seq, int) or not isinstance(helpful, bool):
        raise ChatError(_("Invalid feedback."), "invalid")
    with transaction.atomic():
        message = (
            conversation.inquiry.messages.select_for_update()
            .filter(pk=seq, kind=MessageKind.BOT)
            .first()
        )
        if message is None or not message.meta.get("article") or "helpful" in message.meta:
            return
        article = (
            Article.objects.filter(topic=message.meta["article"], lang=conversation.lang).first()
            or Article.objects.filter(topic=message.meta["article"]).first()
        )
        message.meta = {**message.meta, "helpful": helpful}
        message.save(update_fields=["meta"])
        if article is not None:
            counters.count(article, "helpful" if helpful else "not_helpful")


@dataclass
class Offer:
    """The answer to "a person, please"."""

    outcome: str  # queued | closed_hours | busy | not_entitled | already
    message: str = ""
    next_open: str = ""


def request_person(conversation: Conversation, *, member_category: str = "") -> Offer:
    from madoguchi.inquiries.models import MemberCategory
    from madoguchi.sla import entitlements

    lang = conversation.lang
    if member_category and member_category not in MemberCategory.values:
        raise ChatError(_("Choose one of the listed options."), "invalid")
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state in (ChatState.QUEUED, ChatState.ACTIVE):
            return Offer("already")
        if conversation.state != ChatState.BOT:
            raise ChatError(
                _("This chat has ended. Start a new one to ask something else."), "closed"
            )
        with translation.override(lang):
            verdict = entitlements.check(member_category or None, "chat", lang)
            if not verdict.allowed:
                return Offer(
                    "not_entitled",
                    verdict.note
                    or _(
                        "Chat with an operator is not available to you. Please use the email form."
                    ),
                )
            availability = person_availability(lang)
            if availability.status == "closed_hours":
                return Offer(
                    "closed_hours", _("Operators are not available now."), availability.next_open
                )
            if availability.status == "busy":
                return Offer("busy", busy_text())
        inquiry_actions.do_chat_handover(conversation.inquiry, member_category=member_category)
        conversation.state = ChatState.QUEUED
        conversation.queued_at = now()
        conversation.last_activity_at = now()
        conversation.save(update_fields=["state", "queued_at", "last_activity_at"])
        _learn_handover(conversation)
        _event(conversation, "queued")
        _publish_state(conversation)
        _publish_queue(conversation)
        if settings.CHAT_ROUTING == "round_robin":
            transaction.on_commit(dispatch)
    return Offer("queued")


def _learn_handover(conversation: Conversation) -> None:
    """A hand-over after a bot answer counts against that answer's article."""
    from madoguchi.kb.models import Article

    last = (
        conversation.inquiry.messages.filter(kind=MessageKind.BOT)
        .exclude(meta__article=None)
        .order_by("-pk")
        .first()
    )
    topic = last.meta.get("article") if last else None
    if topic:
        article = Article.objects.filter(topic=topic).order_by("lang").first()
        if article is not None:
            _outcome(article, "handed_over")


def continue_by_mail(conversation: Conversation, email: Any, name: Any = "") -> None:
    """The requester leaves a mail address: the inquiry goes on by mail."""
    from madoguchi.intake.validation import normalise_email, single_line

    if not isinstance(email, str) or not isinstance(name, str):
        raise ChatError(_("Enter a valid email address."), "invalid")
    try:
        address = normalise_email(email.strip())
        name = single_line(name.strip())[:100]
    except ValidationError as exc:
        raise ChatError(str(exc.messages[0]), "invalid") from None
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state == ChatState.CLOSED or (
            conversation.state == ChatState.EMAIL and conversation.inquiry.requester_email
        ):
            raise ChatError(
                _("This chat has ended. Start a new one to ask something else."), "closed"
            )
        was_queued = conversation.state == ChatState.QUEUED
        inquiry_actions.do_chat_continue_by_mail(conversation.inquiry, email=address, name=name)
        if conversation.state in (ChatState.BOT, ChatState.QUEUED):
            # Waiting or with the bot: staff answer by mail; an active chat goes on live.
            conversation.state = ChatState.EMAIL
            conversation.closed_at = now()
            conversation.closed_by = "requester"
            conversation.save(update_fields=["state", "closed_at", "closed_by"])
            _event(conversation, "by_mail")
        _publish_state(conversation)
        if was_queued:
            _publish_queue(conversation)


def close_by_requester(conversation: Conversation) -> None:
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state not in LIVE_STATES:
            return
        was_queued = conversation.state == ChatState.QUEUED
        _close(conversation, "requester")
        if was_queued:
            _publish_queue(conversation)


def _close(conversation: Conversation, by: str, *, acting_user: Any | None = None) -> None:
    conversation.state = ChatState.CLOSED
    conversation.closed_at = now()
    conversation.closed_by = by
    conversation.save(update_fields=["state", "closed_at", "closed_by"])
    _event(
        conversation,
        {
            "requester": "closed_requester",
            "operator": "closed_operator",
            "abandoned": "left_queue",
        }.get(by, "closed_idle"),
    )
    inquiry_actions.do_chat_solved(conversation.inquiry, acting_user=acting_user)
    _publish_state(conversation)


def rate(conversation: Conversation, score: Any, comment: Any = "") -> None:
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ChatError(_("Choose a rating from 1 to 5."), "invalid")
    if not isinstance(comment, str) or len(comment) > 1000:
        raise ChatError(
            _("The comment is too long (at most %(n)d characters).") % {"n": 1000}, "invalid"
        )
    comment = comment.strip()
    if comment:
        comment = clean_text(comment)
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state in LIVE_STATES:
            raise ChatError(_("You can rate the chat once it has ended."), "invalid")
        if conversation.rating is not None:
            return
        conversation.rating = score
        conversation.rating_comment = comment
        conversation.save(update_fields=["rating", "rating_comment"])
        audit.record(
            "chat.rated", inquiry=conversation.inquiry, actor_kind="requester", rating=score
        )
        publish_on_commit(
            {"kind": "inquiry.updated", "inquiry": conversation.inquiry.reference},
            audience=access.inquiry_audience(conversation.inquiry),
        )


# --- operators ------------------------------------------------------------------------------


def status_of(user: Any) -> OperatorStatus:
    row, _created = OperatorStatus.objects.get_or_create(
        user=user, defaults={"max_chats": settings.CHAT_DEFAULT_MAX_CHATS}
    )
    return row


def set_availability(user: Any, *, available: bool, max_chats: int | None = None) -> OperatorStatus:
    if not is_desk_staff(user):
        raise PermissionDenied
    with transaction.atomic():
        row = status_of(user)
        row.available = available
        if max_chats is not None:
            if not 1 <= max_chats <= 20:
                raise ChatError(_("Concurrent chats must be between 1 and 20."), "invalid")
            row.max_chats = max_chats
        row.updated_at = now()
        row.save()
        audit.record("chat.availability", actor=user, available=available, max_chats=row.max_chats)
        _publish_queue()
        if available and settings.CHAT_ROUTING == "round_robin":
            transaction.on_commit(dispatch)
    return row


def active_chats(user: Any) -> list[Conversation]:
    return list(
        Conversation.objects.filter(operator=user, state=ChatState.ACTIVE)
        .filter(inquiry__in=access.visible_inquiries(user))
        .select_related("inquiry")
        .order_by("accepted_at")
    )


def _conversation_for(user: Any, reference: str) -> Conversation:
    inquiry = access.access_inquiry(user, reference, for_update=True)  # 404 when not visible
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("operator")
        .filter(inquiry=inquiry)
        .first()
    )
    if conversation is None:
        raise ChatError(_("This inquiry is not a chat."), "not_chat")
    conversation.inquiry = inquiry
    return conversation


def _operated_by(user: Any, reference: str) -> Conversation:
    """The conversation, locked, when ``user`` may operate it (its operator, or faculty)."""
    conversation = _conversation_for(user, reference)
    if not access.can_operate_chat(user, conversation):
        raise ChatError(_("Only the chat's operator or faculty staff can do this."), "not_yours")
    return conversation


def accept(user: Any, reference: str, *, force: bool = False) -> Conversation:
    """An operator takes a waiting chat (``force``: even above their limit, for transfers)."""
    with transaction.atomic():
        conversation = _conversation_for(user, reference)
        if conversation.state != ChatState.QUEUED:
            raise ChatError(_("This chat is no longer waiting."), "not_waiting")
        if not access.can_accept_chat(user, conversation):
            # It is visible and waiting (checked above), so someone claimed the inquiry
            # while it waited: student staff cannot take it over.
            raise ChatError(_("This chat is assigned to someone else."), "taken")
        row = status_of(user)
        if (
            not force
            and Conversation.objects.filter(operator=user, state=ChatState.ACTIVE).count()
            >= row.max_chats
        ):
            raise ChatError(_("You have reached your limit of concurrent chats."), "limit")
        _hand_to(conversation, user, acting_user=user)
        _event(conversation, "joined", name=str(user))
        _publish_state(conversation)
        _publish_queue(conversation)
    return conversation


def _hand_to(conversation: Conversation, user: Any, *, acting_user: Any) -> None:
    inquiry_actions.do_assign(conversation.inquiry, user, acting_user=acting_user)
    if conversation.inquiry.status == "new":
        inquiry_actions.do_change_status(conversation.inquiry, "open", acting_user=acting_user)
    conversation.state = ChatState.ACTIVE
    conversation.operator = user
    conversation.accepted_at = conversation.accepted_at or now()
    conversation.last_activity_at = now()
    conversation.save(update_fields=["state", "operator", "accepted_at", "last_activity_at"])
    OperatorStatus.objects.filter(user=user).update(last_assigned_at=now())


def operator_say(
    user: Any, reference: str, body: str, *, client_id: str, files: Any = ()
) -> Message:
    with transaction.atomic():
        conversation = _operated_by(user, reference)
        if conversation.state != ChatState.ACTIVE:
            raise ChatError(_("This chat is not live; reply by mail instead."), "not_live")
        message, _created = inquiry_actions.do_chat_message(
            conversation.inquiry,
            kind=MessageKind.REPLY,
            body=body,
            client_id=client_id,
            author=user,
            files=files,
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now())
    return message


def transfer(
    user: Any, reference: str, *, to_user: Any | None = None, to_faculty: bool = False
) -> Conversation:
    """Pass a live or waiting chat to another operator, or to the faculty queue."""
    with transaction.atomic():
        conversation = _operated_by(user, reference)
        if conversation.state not in (ChatState.ACTIVE, ChatState.QUEUED):
            raise ChatError(_("Only a live or waiting chat can be passed on."), "not_live")
        audit.record(
            "chat.transferred",
            actor=user,
            inquiry=conversation.inquiry,
            to=getattr(to_user, "pk", None),
            to_faculty=to_faculty,
        )
        if to_faculty:
            conversation.state = ChatState.QUEUED
            conversation.operator = None
            conversation.queued_at = now()
            conversation.save(update_fields=["state", "operator", "queued_at"])
            if conversation.inquiry.assignee_id == user.pk:
                # The operator lets go of it; anyone else's claim is theirs (a student
                # assignee is dropped when the lane changes).
                inquiry_actions.do_assign(conversation.inquiry, None, acting_user=user)
            was_general = conversation.inquiry.lane == Lane.GENERAL
            # The inquiry moves to the faculty lane: restricted at once, everywhere (a
            # student passing it on cannot see it any more, so this comes last).
            inquiry_actions.do_pass_to_faculty(conversation.inquiry, acting_user=user)
            _event(conversation, "to_faculty")
            _publish_state(conversation)
            if not was_general:  # the lane change already told the queue (after_lane_changed)
                _publish_queue(conversation)
            return conversation
        if to_user is None or not access.can_see(to_user, conversation.inquiry):
            raise ChatError(_("Choose a member of staff who can see this inquiry."), "invalid")
        was_queued = conversation.state == ChatState.QUEUED
        _hand_to(conversation, to_user, acting_user=user)
        _event(conversation, "transferred", name=str(to_user))
        _publish_state(conversation)
        if was_queued:
            _publish_queue(conversation)
        publish_on_commit(
            {"kind": "chat.assigned", "inquiry": conversation.inquiry.reference},
            audience=[user_group(to_user.pk)],
        )
    return conversation


def switch_to_mail(user: Any, reference: str) -> Conversation:
    """The operator will answer by mail: the live chat ends, the inquiry stays open. The
    requester is asked for an address when the desk does not have one."""
    with transaction.atomic():
        conversation = _operated_by(user, reference)
        if conversation.state not in (ChatState.ACTIVE, ChatState.QUEUED):
            raise ChatError(_("Only a live or waiting chat can be switched to mail."), "not_live")
        was_queued = conversation.state == ChatState.QUEUED
        conversation.state = ChatState.EMAIL
        conversation.closed_at = now()
        conversation.closed_by = "operator"
        conversation.save(update_fields=["state", "closed_at", "closed_by"])
        if conversation.inquiry.status == "new":
            inquiry_actions.do_change_status(conversation.inquiry, "open", acting_user=user)
        audit.record("chat.switched_to_mail", actor=user, inquiry=conversation.inquiry)
        _event(conversation, "by_mail")
        _publish_state(conversation)
        if was_queued:
            _publish_queue(conversation)
    return conversation


def close_by_operator(user: Any, reference: str) -> Conversation:
    with transaction.atomic():
        conversation = _operated_by(user, reference)
        if conversation.state not in LIVE_STATES:
            raise ChatError(_("This chat has already ended."), "closed")
        was_queued = conversation.state == ChatState.QUEUED
        _close(conversation, "operator", acting_user=user)
        if was_queued:
            _publish_queue(conversation)
    return conversation


def dispatch() -> int:
    """Round-robin routing: give waiting chats, oldest first, to available operators with
    room, the one with the fewest live chats (then the longest without one) first."""
    assigned = 0
    for conversation in queue():
        candidates = available_operators(faculty_only=conversation.faculty_only)
        if not candidates:
            continue
        candidates.sort(key=lambda r: (r.active, r.last_assigned_at or NEVER, r.pk))
        chosen = candidates[0].user
        try:
            accept(chosen, conversation.inquiry.reference)
        except ChatError:
            continue
        publish_on_commit(
            {"kind": "chat.assigned", "inquiry": conversation.inquiry.reference},
            audience=[user_group(chosen.pk)],
        )
        assigned += 1
    return assigned


def after_lane_changed(inquiry: Inquiry) -> None:
    """A chat moved to another lane. Into a restricted one: a student operator loses it at
    once and it waits for faculty staff (``faculty_only`` follows the lane)."""
    conversation = Conversation.objects.filter(inquiry=inquiry).select_related("operator").first()
    if conversation is None:
        return
    conversation.inquiry = inquiry
    if (
        inquiry.is_restricted
        and conversation.state == ChatState.ACTIVE
        and conversation.operator is not None
        and not sees_restricted(conversation.operator)
    ):
        conversation.state = ChatState.QUEUED
        conversation.operator = None
        conversation.queued_at = now()
        conversation.save(update_fields=["state", "operator", "queued_at"])
        _event(conversation, "to_faculty")
        _publish_state(conversation)
    if conversation.state == ChatState.QUEUED:
        # Whoever may take it now (faculty only, or everyone after a release) is told.
        _publish_queue(conversation)


# --- typing and files ------------------------------------------------------------------------


def requester_typing(conversation_id: int, on: bool) -> None:
    """The requester is typing: staff who may see the live chat learn it (reference only)."""
    conversation = Conversation.objects.select_related("inquiry").get(pk=conversation_id)
    if conversation.state == ChatState.ACTIVE:
        publish_on_commit(
            {"kind": "chat.typing", "inquiry": conversation.inquiry.reference, "on": on},
            audience=access.inquiry_audience(conversation.inquiry),
        )


def operator_typing(user: Any, reference: str, on: bool) -> None:
    """The operator of a live chat is typing: only that chat's requester learns it."""
    from django.http import Http404

    try:
        inquiry = access.access_inquiry(user, reference)
    except Http404:
        return
    conversation = Conversation.objects.filter(
        inquiry=inquiry, state=ChatState.ACTIVE, operator=user
    ).first()
    if conversation is not None:
        publish_on_commit(
            {"kind": "chat.typing", "on": on}, audience=access.requester_audience(inquiry)
        )


def requester_file(conversation: Conversation, upload: Any, *, client_id: str) -> Message:
    """A file the requester sends in a live chat, within the upload limits."""
    from madoguchi.inquiries.models import Attachment
    from madoguchi.intake.validation import valid_text

    client_id = clean_client_id(client_id)
    if conversation.state not in LIVE_STATES:
        raise ChatError(_("This chat has ended. Start a new one to ask something else."), "closed")
    if upload.size > settings.MAX_ATTACHMENT_BYTES:
        raise ChatError(
            _("Each file must be at most %(mb)d MB.")
            % {"mb": settings.MAX_ATTACHMENT_BYTES // 1048576},
            "file_too_big",
        )
    total = sum(
        Attachment.objects.filter(inquiry=conversation.inquiry).values_list("size", flat=True)
    )
    if total + upload.size > settings.MAX_ATTACHMENTS_TOTAL_BYTES * 2:
        raise ChatError(_("This chat has reached its limit for files."), "files_too_big")
    try:
        valid_text(upload.name)
    except ValidationError:
        upload.name = "file"
    message, _created = inquiry_actions.do_chat_message(
        conversation.inquiry,
        kind=MessageKind.REQUESTER,
        body=_("(file) %(name)s") % {"name": upload.name[:200]},
        client_id=client_id,
        files=[upload],
    )
    return message


# --- housekeeping ---------------------------------------------------------------------------


def requester_connected(conversation_id: int, connected: bool) -> None:
    Conversation.objects.filter(pk=conversation_id).update(
        requester_left_at=None if connected else now()
    )


def sweep() -> int:
    """Close idle chats and drop waiting requesters who left. Returns how many changed."""
    changed = 0
    idle_before = now() - dt.timedelta(minutes=settings.CHAT_IDLE_MINUTES)
    left_before = now() - dt.timedelta(seconds=settings.CHAT_QUEUE_GRACE_SECONDS)
    stale = Conversation.objects.filter(
        Q(state__in=LIVE_STATES, last_activity_at__lt=idle_before)
        | Q(state=ChatState.QUEUED, requester_left_at__lt=left_before)
    ).values_list("pk", flat=True)[:200]
    for pk in list(stale):
        with transaction.atomic():
            conversation = _locked(pk)
            if conversation.state not in LIVE_STATES:
                continue
            was_queued = conversation.state == ChatState.QUEUED
            left = (
                was_queued
                and conversation.requester_left_at is not None
                and conversation.requester_left_at < left_before
            )
            _close(conversation, "abandoned" if left else "idle")
            if was_queued:
                _publish_queue(conversation)
            changed += 1
    return changed
