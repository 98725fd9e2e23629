"""Every write of the chat: the requester's turns, the bot's answers, the queue, operators.

The template for a live channel (calls follow it): each ``do_<verb>`` checks, locks,
writes through the public inquiry actions (``do_open_inquiry``, ``do_append_message``,
``do_open_for_staff``, ...), audits, and publishes after commit to an audience from the
access module. Functions are synchronous; consumers run them on the realtime pool
(``core.realtime``). Reads are in ``queries``, input checks in ``validation``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from madoguchi.accounts.requester import RequesterIdentity
from madoguchi.accounts.roles import is_desk_staff, sees_restricted
from madoguchi.core.clock import now
from madoguchi.core.events import publish_on_commit, user_group
from madoguchi.inquiries import access
from madoguchi.inquiries import actions as inquiry_actions
from madoguchi.inquiries.models import (
    PUBLIC_KINDS,
    Attachment,
    Channel,
    Inquiry,
    Lane,
    Message,
    MessageKind,
    Priority,
    Status,
)
from madoguchi.kb import counters, learning, search
from madoguchi.kb.models import Article
from madoguchi.kb.rendering import links, plain
from madoguchi.privacy import audit
from madoguchi.sla import entitlements

from . import queries
from .models import LIVE_STATES, ChatState, Conversation, OperatorStatus
from .validation import (
    ChatError,
    clean_address,
    clean_client_id,
    clean_file_name,
    clean_member_category,
    clean_rating,
)

NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)  # sorts operators never assigned first
ENDED = "closed"  # the code of "this chat has ended"


def _ended() -> ChatError:
    return ChatError(_("This chat has ended. Start a new one to ask something else."), ENDED)


def _locked(pk: int) -> Conversation:
    """The conversation and its inquiry, locked in the one order every writer uses
    (inquiry first, as the console's actions do), so concurrent writers never deadlock."""
    inquiry = Inquiry.objects.select_for_update(of=("self",)).get(chat__pk=pk)
    conversation = (
        Conversation.objects.select_for_update(of=("self",)).select_related("operator").get(pk=pk)
    )
    conversation.inquiry = inquiry
    return conversation


def do_add_entry(
    conversation: Conversation,
    *,
    kind: str,
    body: str,
    client_id: str = "",
    author: Any | None = None,
    meta: dict[str, Any] | None = None,
    files: Any = (),
) -> tuple[Message, bool]:
    """One transcript entry: the inquiry's thread gets it, the requester's widget too."""
    inquiry = conversation.inquiry
    message, created = inquiry_actions.do_append_message(
        inquiry, kind=kind, body=body, client_id=client_id, author=author, meta=meta, files=files
    )
    if created and kind in PUBLIC_KINDS:
        publish_on_commit(
            {
                "kind": "chat.message",
                "inquiry": inquiry.reference,
                # a new entry without files has none to look up
                "message": queries.message_payload(message, attachments=None if files else ()),
            },
            audience=access.requester_audience(inquiry),
        )
    return message, created


def _publish_state(conversation: Conversation) -> None:
    publish_on_commit(
        {"kind": "chat.state.changed", "inquiry": conversation.inquiry.reference},
        audience=access.requester_audience(conversation.inquiry),
    )


def _publish_queue(conversation: Conversation | None = None) -> None:
    """Tell the staff who may take chats that the queue moved, and the waiting requesters
    the queue's new order (read once here, so that no waiting widget asks the database for
    its place; each merges a burst into one update)."""
    restricted = conversation.faculty_only if conversation is not None else False
    publish_on_commit({"kind": "chat.queue"}, audience=access.queue_audience(restricted=restricted))
    publish_on_commit(
        lambda: {"kind": "chat.queue", "snapshot": queries.queue_snapshot()},
        audience=access.waiting_audience(),
    )


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
    message, _created = do_add_entry(
        conversation, kind=MessageKind.EVENT, body=text, meta={"event": event, **values}
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
    pending: bool = False  # the bot is still to answer (``do_bot_answer``)


def _chat_subject(body: str) -> str:
    line = " ".join(body.split())
    return line if len(line) <= 80 else line[:79] + "…"


def do_start(
    body: str,
    *,
    client_id: str,
    lang: str,
    page_url: str = "",
    answer: bool = True,
    requester: RequesterIdentity | None = None,
) -> Turn:
    """The first message: the conversation and its inquiry are made (kept solved and
    flagged "bot" while only the bot talks), the bot answers. ``answer=False`` leaves the
    answer to ``do_bot_answer``, so that the socket can acknowledge the stored message
    first. A signed-in requester's chat is theirs: their name, address and key."""
    lang = "en" if lang == "en" else "ja"
    secret = secrets.token_urlsafe(32)
    name = (requester.name[:100] if requester else "") or queries.visitor_name(lang)
    with transaction.atomic():
        inquiry = Inquiry(
            channel=Channel.CHAT,
            lane=Lane.GENERAL,
            status=Status.SOLVED,
            solved_at=now(),
            subject=_chat_subject(body) or "—",
            lang=lang,
            requester_name=name,
            requester_email=requester.email if requester else "",
            requester_key=requester.key if requester else "",
            member_category=requester.member_category if requester else "",
            priority=Priority.P3,
            flags=["bot"],
        )
        message = inquiry_actions.do_open_inquiry(inquiry, body=body, client_id=client_id)
        conversation = Conversation.objects.create(
            inquiry=inquiry,
            secret_hash=queries.secret_hash(secret),
            lang=lang,
            page_url=page_url[:300],
        )
        _screen(conversation, message)
        turn = Turn(conversation, message, True, secret=secret, pending=True)
    if answer:
        do_bot_answer(turn)
    return turn


def do_say(conversation: Conversation, body: str, *, client_id: str, answer: bool = True) -> Turn:
    """A requester's message in an existing conversation; the bot answers while no person
    has taken over (``answer=False``: later, by ``do_bot_answer``). A re-send (same
    ``client_id``) returns the stored message."""
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state in (ChatState.CLOSED, ChatState.EMAIL):
            existing = conversation.inquiry.messages.filter(client_id=client_id).first()
            if existing is not None:  # a re-send of a message stored before the close
                return Turn(conversation, existing, False)
            raise _ended()
        message, created = do_add_entry(
            conversation, kind=MessageKind.REQUESTER, body=body, client_id=client_id
        )
        turn = Turn(conversation, message, created)
        if created:
            Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now())
            if conversation.state == ChatState.BOT:
                _screen(conversation, message)
                turn.pending = True
    if answer:
        do_bot_answer(turn)
    return turn


def _screen(conversation: Conversation, message: Message) -> None:
    """What the requester just wrote may be sensitive (grades, health, ...): from the
    moment it is stored, student staff never see it (nor the question the bot logs from
    it, which follows the message), nor a subject taken from it. Done in the storing
    transaction, before the bot's (slower) answer, so there is no moment in between."""
    hit = search.rules().match(message.body)
    if hit is None or hit.name != "sensitive":
        return
    inquiry = conversation.inquiry
    message.inquiry = inquiry
    first = inquiry.messages.filter(kind=MessageKind.REQUESTER).count() == 1
    with translation.override(inquiry.lang):
        subject = _("Chat (the first message is withheld)") if first else ""
    inquiry_actions.do_withhold_message(message, reason="sensitive", subject=subject)


def do_bot_answer(turn: Turn) -> list[Message]:
    """The bot's answer to the message of ``turn``, if it still has one to give (nobody
    took the chat over meanwhile). Its own transaction: the requester's message is stored
    and acknowledged whatever happens here."""
    if not turn.pending:
        return turn.replies
    turn.pending = False
    # The search and what it needs to know are reads: done before the write transaction,
    # so the database is held only for writing the answer.
    lang = turn.conversation.lang
    message = Message.objects.get(pk=turn.message.pk)
    decision = search.engine().ask(message.body, lang=lang, audience="requester")
    answered = decision.decision == "answer" and bool(decision.articles)
    availability = None if answered else queries.person_availability(lang)
    with transaction.atomic():
        conversation = _locked(turn.conversation.pk)
        if conversation.state == ChatState.BOT:
            message.inquiry = conversation.inquiry
            turn.replies = _bot_turn(conversation, message, decision, availability)
    return turn.replies


def _article_link(topic: str, lang: str) -> str:
    return reverse("faq-article", args=[topic]) + f"?lang={lang}"


def _bot_turn(
    conversation: Conversation,
    message: Message,
    decision: Any,
    availability: queries.Availability | None,
) -> list[Message]:
    """The bot answers a requester's message (while no person has taken over) with the
    engine's ``decision``; ``availability`` of a person, when already known."""
    lang = conversation.lang
    learning.record_question(message.body, lang, decision, channel="chat", message=message)
    if availability is None and not (decision.decision == "answer" and decision.articles):
        availability = queries.person_availability(lang)
    if decision.decision == "rule" and decision.rule == "human":
        assert availability is not None
        return [_person_reply(conversation, availability)]
    if decision.decision == "rule":
        meta: dict[str, Any] = {"rule": decision.rule, "link": decision.link}
        reply, _c = do_add_entry(
            conversation, kind=MessageKind.BOT, body=decision.message, meta=meta
        )
        return [reply]
    if decision.decision == "answer" and decision.articles:
        best = decision.articles[0]
        article = (
            Article.objects.filter(public=True, topic=best.topic, lang=lang).first()
            or Article.objects.filter(public=True, topic=best.topic).first()
        )
        if article is not None:
            learning.record_outcome(article, "answered")
            meta = {
                "article": article.topic,
                "title": article.question,
                "link": _article_link(article.topic, lang),
                "links": links(article.answer),
                "ask_helpful": True,
            }
            reply, _c = do_add_entry(
                conversation, kind=MessageKind.BOT, body=plain(article.answer), meta=meta
            )
            return [reply]
    if availability is None:  # an answer whose article went away meanwhile
        availability = queries.person_availability(lang)
    person = availability.status == "open"
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
    reply, _c = do_add_entry(
        conversation,
        kind=MessageKind.BOT,
        body=body,
        meta={"unanswered": True, "offer": ["person", "form"] if person else ["form", "mail"]},
    )
    return [reply]


def _person_reply(conversation: Conversation, availability: queries.Availability) -> Message:
    """The answer to "I want to talk to a person", in one message that tells the truth
    first: a person can take over now (wait, or use the form), or not (when they are next
    available, and the two ways on: the email form or an answer by mail)."""
    lang = conversation.lang
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
            body = queries.busy_text()
            offer = ["form", "mail"]
    reply, _c = do_add_entry(
        conversation,
        kind=MessageKind.BOT,
        body=body,
        meta={"rule": "human", "offer": offer, "availability": availability.status},
    )
    return reply


def do_feedback(conversation: Conversation, seq: Any, helpful: Any) -> None:
    """'Did this solve it?' on a bot answer: counted once per answer."""
    if not isinstance(seq, int) or not isinstance(helpful, bool):
        raise ChatError(_("Invalid feedback."), "invalid")
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        message = (
            conversation.inquiry.messages.select_for_update()
            .filter(pk=seq, kind=MessageKind.BOT)
            .first()
        )
        if message is None or not message.meta.get("article") or "helpful" in message.meta:
            return
        message.inquiry = conversation.inquiry
        article = (
            Article.objects.filter(topic=message.meta["article"], lang=conversation.lang).first()
            or Article.objects.filter(topic=message.meta["article"]).first()
        )
        inquiry_actions.do_annotate_message(message, helpful=helpful)
        if article is not None:
            counters.count(article, "helpful" if helpful else "not_helpful")


@dataclass
class Offer:
    """The answer to "a person, please"."""

    outcome: str  # queued | closed_hours | busy | not_entitled | already | signin
    message: str = ""
    next_open: str = ""


def do_request_person(
    conversation: Conversation,
    *,
    member_category: Any = "",
    requester: RequesterIdentity | None = None,
) -> Offer:
    """A person, please: where the desk keeps operators for signed-in requesters
    (``CHAT_REQUIRE_SIGNIN``) an anonymous one is told to sign in (or offered the form);
    the member category of a signed-in requester counts over what they chose."""
    lang = conversation.lang
    member_category = clean_member_category(member_category)
    if requester is not None and requester.member_category:
        member_category = requester.member_category
    if settings.CHAT_REQUIRE_SIGNIN and requester is None:
        with translation.override(lang):
            return Offer(
                "signin",
                _(
                    "Chat with an operator is for requesters who have signed in. Sign in, "
                    "then ask again here, or use the email form."
                ),
            )
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state in (ChatState.QUEUED, ChatState.ACTIVE):
            return Offer("already")
        if conversation.state != ChatState.BOT:
            raise _ended()
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
            availability = queries.person_availability(lang)
            if availability.status == "closed_hours":
                return Offer(
                    "closed_hours", _("Operators are not available now."), availability.next_open
                )
            if availability.status == "busy":
                return Offer("busy", queries.busy_text())
        inquiry_actions.do_open_for_staff(
            conversation.inquiry, verb="chat.handed_over", member_category=member_category
        )
        conversation.state = ChatState.QUEUED
        conversation.queued_at = now()
        conversation.last_activity_at = now()
        conversation.save(update_fields=["state", "queued_at", "last_activity_at"])
        _learn_handover(conversation)
        _event(conversation, "queued")
        _publish_state(conversation)
        _publish_queue(conversation)
        if settings.CHAT_ROUTING == "round_robin":
            transaction.on_commit(do_dispatch)
    return Offer("queued")


def _learn_handover(conversation: Conversation) -> None:
    """A hand-over after a bot answer counts against that answer's article."""
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
            learning.record_outcome(article, "handed_over")


def do_continue_by_mail(conversation: Conversation, email: Any, name: Any = "") -> None:
    """The requester leaves a mail address: the inquiry goes on by mail."""
    address, name = clean_address(email, name)
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state == ChatState.CLOSED or (
            conversation.state == ChatState.EMAIL and conversation.inquiry.requester_email
        ):
            raise _ended()
        was_queued = conversation.state == ChatState.QUEUED
        inquiry_actions.do_continue_by_mail(
            conversation.inquiry, email=address, name=name, verb="chat.continued_by_mail"
        )
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


def do_close_by_requester(conversation: Conversation) -> None:
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
    inquiry_actions.do_mark_solved(conversation.inquiry, acting_user=acting_user)
    _publish_state(conversation)


def do_rate(conversation: Conversation, score: Any, comment: Any = "") -> None:
    score, comment = clean_rating(score, comment)
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


def do_send_file(conversation: Conversation, upload: Any, *, client_id: str) -> Message:
    """A file the requester sends in a live chat, within the upload limits."""
    client_id = clean_client_id(client_id)
    with transaction.atomic():
        conversation = _locked(conversation.pk)
        if conversation.state not in LIVE_STATES:
            raise _ended()
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
        upload.name = clean_file_name(upload.name)
        message, _created = do_add_entry(
            conversation,
            kind=MessageKind.REQUESTER,
            body=_("(file) %(name)s") % {"name": upload.name[:200]},
            client_id=client_id,
            files=[upload],
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now())
    return message


def do_mark_connected(conversation_id: int, connected: bool) -> None:
    """The requester's widget connected or left (a waiting requester who stays away longer
    than the grace period loses the place: ``do_sweep``)."""
    Conversation.objects.filter(pk=conversation_id).update(
        requester_left_at=None if connected else now()
    )


def notify_requester_typing(conversation_id: int, on: bool) -> None:
    """The requester is typing: staff with the live chat open, and its operator, learn it."""
    conversation = Conversation.objects.select_related("inquiry").get(pk=conversation_id)
    if conversation.state == ChatState.ACTIVE:
        publish_on_commit(
            {"kind": "chat.typing", "inquiry": conversation.inquiry.reference, "on": on},
            audience=access.thread_audience(conversation.inquiry),
        )


# --- operators ------------------------------------------------------------------------------


def do_set_availability(
    user: Any, *, available: bool, max_chats: int | None = None
) -> OperatorStatus:
    if not is_desk_staff(user):
        raise PermissionDenied
    if max_chats is not None and not 1 <= max_chats <= 20:
        raise ChatError(_("Concurrent chats must be between 1 and 20."), "invalid")
    with transaction.atomic():
        row, _created = OperatorStatus.objects.select_for_update().get_or_create(
            user=user, defaults={"max_chats": settings.CHAT_DEFAULT_MAX_CHATS}
        )
        row.available = available
        if max_chats is not None:
            row.max_chats = max_chats
        row.updated_at = now()
        row.save()
        audit.record("chat.availability", actor=user, available=available, max_chats=row.max_chats)
        _publish_queue()
        if available and settings.CHAT_ROUTING == "round_robin":
            transaction.on_commit(do_dispatch)
    return row


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


def conversation_operated_by(user: Any, reference: str) -> Conversation:
    """The live side of ``reference``, locked, for another channel's action in the same
    transaction (a call offered in a chat): refused unless ``user`` operates the chat."""
    return _operated_by(user, reference)


def do_accept(user: Any, reference: str, *, force: bool = False) -> Conversation:
    """An operator takes a waiting chat (``force``: even above their limit, for transfers)."""
    with transaction.atomic():
        conversation = _conversation_for(user, reference)
        if conversation.state != ChatState.QUEUED:
            raise ChatError(_("This chat is no longer waiting."), "not_waiting")
        if not access.can_accept_chat(user, conversation):
            # It is visible and waiting (checked above), so someone claimed the inquiry
            # while it waited: student staff cannot take it over.
            raise ChatError(_("This chat is assigned to someone else."), "taken")
        row = queries.operator_status(user)
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
    if conversation.inquiry.status == Status.NEW:
        inquiry_actions.do_change_status(conversation.inquiry, Status.OPEN, acting_user=acting_user)
    conversation.state = ChatState.ACTIVE
    conversation.operator = user
    conversation.accepted_at = conversation.accepted_at or now()
    conversation.last_activity_at = now()
    conversation.save(update_fields=["state", "operator", "accepted_at", "last_activity_at"])
    OperatorStatus.objects.filter(user=user).update(last_assigned_at=now())


def do_operator_say(
    user: Any, reference: str, body: str, *, client_id: str, files: Any = ()
) -> Message:
    with transaction.atomic():
        conversation = _operated_by(user, reference)
        if conversation.state != ChatState.ACTIVE:
            raise ChatError(_("This chat is not live; reply by mail instead."), "not_live")
        message, _created = do_add_entry(
            conversation,
            kind=MessageKind.REPLY,
            body=body,
            client_id=client_id,
            author=user,
            files=files,
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now())
    return message


def notify_operator_typing(user: Any, reference: str, on: bool) -> None:
    """The operator of a live chat is typing: only that chat's requester learns it."""
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


def do_transfer(
    user: Any, reference: str, *, to_user: Any | None = None, to_faculty: bool = False
) -> Conversation:
    """Pass a live or waiting chat to another operator, or to the faculty queue."""
    with transaction.atomic():
        conversation = _operated_by(user, reference)
        if conversation.state not in (ChatState.ACTIVE, ChatState.QUEUED):
            raise ChatError(_("Only a live or waiting chat can be passed on."), "not_live")
        if to_faculty:
            _transfer_to_faculty(user, conversation)
            return conversation
        if to_user is None or not access.can_see(to_user, conversation.inquiry):
            raise ChatError(_("Choose a member of staff who can see this inquiry."), "invalid")
        audit.record(
            "chat.transferred",
            actor=user,
            inquiry=conversation.inquiry,
            to=to_user.pk,
            to_faculty=False,
        )
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


def _transfer_to_faculty(user: Any, conversation: Conversation) -> None:
    audit.record(
        "chat.transferred", actor=user, inquiry=conversation.inquiry, to=None, to_faculty=True
    )
    conversation.state = ChatState.QUEUED
    conversation.operator = None
    conversation.queued_at = now()
    conversation.save(update_fields=["state", "operator", "queued_at"])
    if conversation.inquiry.assignee_id == user.pk:
        # The operator lets go of it; anyone else's claim is theirs (a student assignee is
        # dropped when the lane changes).
        inquiry_actions.do_assign(conversation.inquiry, None, acting_user=user)
    was_general = conversation.inquiry.lane == Lane.GENERAL
    # The inquiry moves to the faculty lane: restricted at once, everywhere (a student
    # passing it on cannot see it any more, so this comes last).
    inquiry_actions.do_pass_to_faculty(conversation.inquiry, acting_user=user)
    _event(conversation, "to_faculty")
    _publish_state(conversation)
    if not was_general:  # the lane change already told the queue (on_lane_changed)
        _publish_queue(conversation)


def do_switch_to_mail(user: Any, reference: str) -> Conversation:
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
        if conversation.inquiry.status == Status.NEW:
            inquiry_actions.do_change_status(conversation.inquiry, Status.OPEN, acting_user=user)
        audit.record("chat.switched_to_mail", actor=user, inquiry=conversation.inquiry)
        _event(conversation, "by_mail")
        _publish_state(conversation)
        if was_queued:
            _publish_queue(conversation)
    return conversation


def do_close_by_operator(user: Any, reference: str) -> Conversation:
    with transaction.atomic():
        conversation = _operated_by(user, reference)
        if conversation.state not in LIVE_STATES:
            raise ChatError(_("This chat has already ended."), "closed")
        was_queued = conversation.state == ChatState.QUEUED
        _close(conversation, "operator", acting_user=user)
        if was_queued:
            _publish_queue(conversation)
    return conversation


def do_dispatch() -> int:
    """Round-robin routing: give waiting chats, oldest first, to available operators with
    room, the one with the fewest live chats (then the longest without one) first."""
    assigned = 0
    for conversation in queries.queue():
        candidates = queries.available_operators(faculty_only=conversation.faculty_only)
        if not candidates:
            continue
        candidates.sort(key=lambda r: (r.active, r.last_assigned_at or NEVER, r.pk))
        chosen = candidates[0].user
        try:
            do_accept(chosen, conversation.inquiry.reference)
        except ChatError:
            continue
        publish_on_commit(
            {"kind": "chat.assigned", "inquiry": conversation.inquiry.reference},
            audience=[user_group(chosen.pk)],
        )
        assigned += 1
    return assigned


def on_lane_changed(inquiry: Inquiry) -> None:
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


# --- housekeeping ---------------------------------------------------------------------------


def do_sweep() -> int:
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
