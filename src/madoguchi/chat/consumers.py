"""The widget's live channel (``/ws/chat/``).

Authentication is the conversation's secret, sent in the first frame (never in the
URL); the Origin is checked by the router (the widget's frame is served by the desk).
Frames are size-limited and rate-limited. A requester's message is stored before it is
acknowledged; a message re-sent with the same client id after a reconnect is
acknowledged again and stored once. Events reach the connection only through the
conversation's own group.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.utils import translation
from django.utils.translation import gettext_lazy

from madoguchi.accounts import requester
from madoguchi.core import realtime
from madoguchi.core.events import GROUP_WAITING, requester_group
from madoguchi.core.ratelimit import Bucket, hit, scope_client_address

from . import actions, queries
from .models import ChatState, Conversation
from .validation import ChatError, clean_client_id, clean_text

log = logging.getLogger(__name__)

INVALID = gettext_lazy("Invalid message.")
TOO_FAST = gettext_lazy("You are sending too fast. Please wait a moment.")
NOT_ALLOWED = gettext_lazy("Not allowed.")
TOO_MANY_NEW = gettext_lazy("Too many new conversations from your network. Please try again later.")
NO_CHAT = gettext_lazy("Start the chat with a message first.")
TRY_AGAIN = gettext_lazy("Something went wrong; trying again.")
BOT_FAILED = gettext_lazy(
    "Your message was received, but the bot could not answer it. Ask again, or ask a "
    "member of staff."
)


def db(fn: Any) -> Any:
    """Run ``fn`` on the realtime pool (``core.realtime``), not behind other sockets and
    requests on Django's one thread for synchronous code."""
    return realtime.run(fn)


class WidgetConsumer(AsyncWebsocketConsumer):
    conversation_id: int | None = None
    reference: str = ""
    lang: str = "ja"
    page: str = ""
    in_queue_group = False
    queue_refresh: asyncio.Future | None = None
    queue_place: queries.Place | None = None  # the latest place from the desk's queue order
    last_state: dict[str, Any] | None = None  # the state this widget was last sent
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        self.messages = Bucket(settings.CHAT_RATE_BURST, settings.CHAT_RATE_PER_SECOND)
        self.frames = Bucket(settings.CHAT_RATE_BURST * 4, settings.CHAT_RATE_PER_SECOND * 4)
        self.strikes = 0
        self.last_typing = 0.0
        self.max_frame = settings.CHAT_MAX_MESSAGE_CHARS * 6 + 2048
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.queue_refresh is not None:
            self.queue_refresh.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.conversation_id is not None:
            await db(actions.do_mark_connected)(self.conversation_id, False)

    # --- frames from the widget -------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > self.max_frame:
            await self.close(code=1009)  # message too big
            return
        if not self.frames.take():
            await self._refuse(TOO_FAST, "rate")
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("t"), str):
            await self.send_json({"t": "error", "code": "invalid", "message": self._t(INVALID)})
            return
        handler = getattr(self, f"on_{data['t']}", None)
        if handler is None:
            await self.send_json({"t": "error", "code": "invalid", "message": self._t(INVALID)})
            return
        try:
            await handler(data)
        except ChatError as exc:
            await self.send_json(
                {"t": "error", "code": exc.code, "message": str(exc), "cid": data.get("cid")}
            )
        except PermissionDenied:
            await self.send_json({"t": "error", "code": "denied", "message": self._t(NOT_ALLOWED)})
        except DatabaseError:
            # A conflict or a lost connection: nothing was acknowledged, so the widget
            # sends the same message (same id) again and it is stored once.
            log.exception("chat frame %s failed", data.get("t"))
            await self.send_json(
                {
                    "t": "error",
                    "code": "retry",
                    "message": self._t(TRY_AGAIN),
                    "cid": data.get("cid"),
                }
            )

    def _t(self, text: Any) -> str:
        with translation.override(self.lang):
            return str(text)

    async def _refuse(self, message: Any, code: str) -> None:
        self.strikes += 1
        if self.strikes > 20:
            await self.close(code=4429)
            return
        await self.send_json({"t": "error", "code": code, "message": self._t(message)})

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))

    async def _run(self, fn: Any, *args: Any, lane: str = "live", **kwargs: Any) -> Any:
        lang = self.lang

        def call() -> Any:
            with translation.override(lang):
                return fn(*args, **kwargs)

        return await realtime.run(call, lane=lane)()

    async def on_ping(self, data: dict[str, Any]) -> None:
        await self.send_json({"t": "pong"})

    async def on_hello(self, data: dict[str, Any]) -> None:
        lang = data.get("lang")
        self.lang = "en" if lang == "en" else "ja"
        page = data.get("page")
        self.page = (
            page[:300] if isinstance(page, str) and page.startswith(("http://", "https://")) else ""
        )
        token = data.get("token")
        conversation = await self._run(queries.find, token) if token else None
        if conversation is None:
            await self.send_json(
                {
                    "t": "welcome",
                    "state": "new",
                    "reset": bool(token),
                    "lang": self.lang,
                    **await self._run(queries.availability_payload, self.lang),
                }
            )
            return
        self.lang = conversation.lang
        await self._attach(conversation)
        after = data.get("after") if isinstance(data.get("after"), int) else 0
        welcome = await self._run(queries.welcome_payload, conversation.pk, after=after)
        await self._send_welcome(welcome)

    async def _attach(self, conversation: Conversation) -> None:
        if self.conversation_id == conversation.pk:
            return
        self.conversation_id = conversation.pk
        self.reference = conversation.inquiry.reference
        group = requester_group(conversation.inquiry_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)
        await self._queue_membership(conversation.state)
        await db(actions.do_mark_connected)(conversation.pk, True)

    async def _queue_membership(self, state: str) -> None:
        want = state == ChatState.QUEUED
        if want and not self.in_queue_group:
            await self.channel_layer.group_add(GROUP_WAITING, self.channel_name)
            self.groups_joined.append(GROUP_WAITING)
        elif not want and self.in_queue_group:
            await self.channel_layer.group_discard(GROUP_WAITING, self.channel_name)
            self.groups_joined.remove(GROUP_WAITING)
        self.in_queue_group = want

    async def on_msg(self, data: dict[str, Any]) -> None:
        cid = clean_client_id(data.get("cid"))
        if not self.messages.take():
            await self.send_json(
                {"t": "error", "code": "rate", "cid": cid, "message": self._t(TOO_FAST)}
            )
            return
        with translation.override(self.lang):
            body = clean_text(data.get("body"))  # no database: checked on the loop
        if self.conversation_id is None:
            if not await db(hit)(
                "chat-new", scope_client_address(self.scope), settings.CHAT_NEW_RATE_LIMIT
            ):
                raise ChatError(self._t(TOO_MANY_NEW), "rate")
            turn = await self._run(
                actions.do_start,
                body,
                client_id=cid,
                lang=self.lang,
                page_url=self.page,
                answer=False,
                requester=await self._run(requester.current, self.scope.get("session")),
            )
            await self.send_json({"t": "token", "token": turn.secret})
            await self.send_json({"t": "ack", "cid": cid, "seq": turn.message.pk})
            await self._answer(turn)
            await self._attach(turn.conversation)
            # Events published before this connection joined the group (the bot's answer):
            # send them now (the widget drops what it already has by sequence number).
            welcome = await self._run(queries.welcome_payload, turn.conversation.pk)
            await self._send_welcome(welcome)
            return
        turn = await self._run(_say, self.conversation_id, body, cid)
        # Stored: acknowledged before the bot thinks. The next frame of this socket waits
        # for the answer, so the thread keeps the order question, answer, question.
        await self.send_json({"t": "ack", "cid": cid, "seq": turn.message.pk})
        if turn.pending:
            await self._answer(turn)

    async def _answer(self, turn: actions.Turn) -> None:
        """The bot's answer to a stored, acknowledged message; if it fails the message
        stays (a re-send would not be answered either), and the requester is told."""
        try:
            await self._run(actions.do_bot_answer, turn, lane="slow")
        except Exception:  # noqa: BLE001 - whatever broke, the message is already kept
            log.exception("the bot could not answer in conversation %s", turn.conversation.pk)
            await self.send_json({"t": "error", "code": "bot", "message": self._t(BOT_FAILED)})

    async def on_sync(self, data: dict[str, Any]) -> None:
        if self.conversation_id is None:
            return
        after = data.get("after") if isinstance(data.get("after"), int) else 0
        welcome = await self._run(queries.welcome_payload, self.conversation_id, after=after)
        await self._send_welcome(welcome)

    async def on_typing(self, data: dict[str, Any]) -> None:
        if self.conversation_id is None:
            return
        t = time.monotonic()
        if data.get("on") and t - self.last_typing < 2:
            return
        self.last_typing = t if data.get("on") else 0.0
        await self._run(actions.notify_requester_typing, self.conversation_id, bool(data.get("on")))

    async def on_person(self, data: dict[str, Any]) -> None:
        conversation = await self._require()
        category = data.get("member_category") or ""
        if not isinstance(category, str):
            raise ChatError(self._t(INVALID), "invalid")
        identity = await self._run(requester.current, self.scope.get("session"))
        offer = await self._run(
            actions.do_request_person, conversation, member_category=category, requester=identity
        )
        await self.send_json(
            {
                "t": "offer",
                "outcome": offer.outcome,
                "message": offer.message,
                "next_open": offer.next_open,
            }
        )

    async def on_mail(self, data: dict[str, Any]) -> None:
        conversation = await self._require()
        await self._run(
            actions.do_continue_by_mail, conversation, data.get("email"), data.get("name") or ""
        )
        await self.send_json({"t": "mail_ok"})

    async def on_close(self, data: dict[str, Any]) -> None:
        conversation = await self._require()
        await self._run(actions.do_close_by_requester, conversation)

    async def on_rate(self, data: dict[str, Any]) -> None:
        conversation = await self._require()
        await self._run(actions.do_rate, conversation, data.get("score"), data.get("comment") or "")
        await self.send_json({"t": "rated"})

    async def on_helpful(self, data: dict[str, Any]) -> None:
        conversation = await self._require()
        await self._run(actions.do_feedback, conversation, data.get("seq"), data.get("helpful"))

    async def _require(self) -> Conversation:
        if self.conversation_id is None:
            raise ChatError(self._t(NO_CHAT), "no_chat")
        return await self._run(queries.get, self.conversation_id)

    # --- events from the desk ---------------------------------------------------------------

    async def desk_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        kind = event.get("kind")
        if kind == "chat.message":
            await self.send_json({"t": "message", "message": event["message"]})
        elif kind == "chat.typing":
            await self.send_json({"t": "typing", "on": bool(event.get("on"))})
        elif kind == "chat.state.changed" and self.conversation_id is not None:
            await self._send_state()
        elif kind == "chat.queue" and self.conversation_id is not None:
            self._queue_moved(self.conversation_id, event.get("snapshot"))

    def _queue_moved(self, pk: int, snapshot: dict[str, Any] | None) -> None:
        """The queue moves in bursts (many accepts and hand-overs at once): a burst is
        answered with one update, from the latest order the desk sent (no database read),
        or read afresh when that order does not tell this widget's place."""
        place = queries.place_from_snapshot(snapshot, pk) if snapshot else None
        shown = self.last_state
        if place is None or shown is None or shown.get("state") != ChatState.QUEUED:
            if snapshot and place is None and len(snapshot["order"]) < queries.SNAPSHOT_MAX:
                return  # not waiting any more: its own state event says what changed
            self.queue_place = None
        else:
            self.queue_place = place
        if self.queue_refresh is None:
            self.queue_refresh = asyncio.ensure_future(self._refresh_place())

    async def _refresh_place(self) -> None:
        try:
            await asyncio.sleep(0.5)
            self.queue_refresh = None
            place, self.queue_place = self.queue_place, None
            shown = self.last_state
            if place is None or shown is None:
                await self._send_state()
            elif (place.position, place.wait_minutes) != (
                shown.get("position"),
                shown.get("wait_minutes"),
            ):
                await self._send_state_json(
                    {**shown, "position": place.position, "wait_minutes": place.wait_minutes}
                )
        except Exception:  # the connection may be gone meanwhile
            log.debug("queue refresh skipped", exc_info=True)

    async def _send_welcome(self, welcome: dict[str, Any]) -> None:
        self.last_state = {k: v for k, v in welcome.items() if k in queries.STATE_KEYS}
        await self.send_json({"t": "welcome", **welcome})

    async def _send_state(self) -> None:
        state = await self._run(_state, self.conversation_id)
        await self._queue_membership(state["state"])
        await self._send_state_json(state)

    async def _send_state_json(self, state: dict[str, Any]) -> None:
        self.last_state = state
        await self.send_json({"t": "state", **state})


def _state(pk: int) -> dict[str, Any]:
    return queries.state_payload(queries.get(pk))


def _say(pk: int, body: str, cid: str) -> actions.Turn:
    # ``do_say`` reads and locks the conversation itself: no read of it before.
    return actions.do_say(Conversation(pk=pk), body, client_id=cid, answer=False)
