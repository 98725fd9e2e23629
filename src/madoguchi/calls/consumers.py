"""The call's live channels: ``/ws/call/`` for the requester (the call's secret in the first
frame, never in the URL) and ``/ws/call/op/`` for the operator (the session; a page joins
one call after ``access.is_call_operator``). WebRTC signalling (offer, answer, ICE
candidates) is relayed between the two parties of one call only, after its shape and size
are checked; it is never stored. Everything else is an action on the realtime pool,
published after commit to an audience from the access module."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext_lazy

from madoguchi.accounts import requester
from madoguchi.core import realtime
from madoguchi.core.events import GROUP_CALL_WAITING, call_group
from madoguchi.core.ratelimit import Bucket
from madoguchi.inquiries import access

from . import actions, queries
from .models import Call, CallState
from .validation import CallError, clean_signal

log = logging.getLogger(__name__)

INVALID = gettext_lazy("Invalid message.")
TOO_FAST = gettext_lazy("You are sending too fast. Please wait a moment.")
NOT_ALLOWED = gettext_lazy("Not allowed.")
TRY_AGAIN = gettext_lazy("Something went wrong; trying again.")
NO_CALL = gettext_lazy("Open the call first.")

MAX_FRAME = 64 * 1024  # an SDP with many candidates fits; anything bigger is refused


class _CallSocket(AsyncWebsocketConsumer):
    """What both sides share: frame limits, rate limits, errors as frames, one group."""

    lang = "ja"
    side = ""
    call_id: int | None = None
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        self.frames = Bucket(settings.CHAT_RATE_BURST * 8, settings.CHAT_RATE_PER_SECOND * 8)
        self.strikes = 0
        self.last_typing = 0.0
        if not await self.allowed():
            await self.close(code=4403)
            return
        await self.accept()

    async def allowed(self) -> bool:
        return True

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    async def _leave(self, group: str) -> None:
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.remove(group)

    def _t(self, text: Any) -> str:
        with translation.override(self.lang):
            return str(text)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        lang = self.lang

        def call() -> Any:
            with translation.override(lang):
                return fn(*args, **kwargs)

        return await realtime.run(call)()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_FRAME:
            await self.close(code=1009)
            return
        if not self.frames.take():
            self.strikes += 1
            if self.strikes > 20:
                await self.close(code=4429)
                return
            await self.send_json({"t": "error", "code": "rate", "message": self._t(TOO_FAST)})
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            data = None
        handler = (
            getattr(self, f"on_{data['t']}", None)
            if isinstance(data, dict) and isinstance(data.get("t"), str)
            else None
        )
        if handler is None:
            await self.send_json({"t": "error", "code": "invalid", "message": self._t(INVALID)})
            return
        try:
            await handler(data)
        except CallError as exc:
            await self.send_json(
                {"t": "error", "code": exc.code, "message": str(exc), "cid": data.get("cid")}
            )
        except (PermissionDenied, Http404):
            await self.send_json({"t": "error", "code": "denied", "message": self._t(NOT_ALLOWED)})
        except DatabaseError:
            log.exception("call frame %s failed", data.get("t"))
            await self.send_json(
                {
                    "t": "error",
                    "code": "retry",
                    "message": self._t(TRY_AGAIN),
                    "cid": data.get("cid"),
                }
            )

    async def on_ping(self, data: dict[str, Any]) -> None:
        await self.send_json({"t": "pong"})

    async def _relay(self, data: dict[str, Any]) -> None:
        """Signalling to the other party of this call only."""
        if self.call_id is None:
            raise CallError(self._t(NO_CALL), "no_call")
        signal = clean_signal(data.get("signal"))
        other = "operator" if self.side == "requester" else "requester"
        await self.channel_layer.group_send(
            call_group(self.call_id, other),
            {
                "type": "call.signal",
                "from": self.side,
                "signal": signal,
                "sender": self.channel_name,
            },
        )

    async def _typing(self, data: dict[str, Any]) -> None:
        """ "Typing…" to the other party of a live call; at most one "on" per 2 s."""
        on = data.get("on") is True
        t = time.monotonic()
        if on and t - self.last_typing < 2:
            return
        self.last_typing = t if on else 0.0
        other = "operator" if self.side == "requester" else "requester"
        assert self.call_id is not None  # both sides check the call first
        await self.channel_layer.group_send(
            call_group(self.call_id, other),
            {"type": "call.typing", "on": on, "sender": self.channel_name},
        )

    async def call_typing(self, message: dict[str, Any]) -> None:
        if message.get("sender") != self.channel_name and self.call_id is not None:
            await self.send_json({"t": "typing", "on": bool(message.get("on"))})

    async def call_signal(self, message: dict[str, Any]) -> None:
        if message.get("sender") != self.channel_name:
            await self.send_json({"t": "signal", "signal": message["signal"]})


class RequesterCallConsumer(_CallSocket):
    side = "requester"
    in_waiting_group = False

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.call_id is not None:
            await realtime.run(actions.do_mark_connected)(self.call_id, False)

    async def on_hello(self, data: dict[str, Any]) -> None:
        """Open the call the secret names (a new page load, or a reconnect within the
        grace period keeps the place)."""
        self.lang = "en" if data.get("lang") == "en" else "ja"
        call = await self._run(queries.find, data.get("token"))
        if call is None:
            await self.send_json({"t": "welcome", "state": "new", "lang": self.lang})
            return
        self.lang = call.lang
        await self._attach(call)
        await self._send_state(call.pk, welcome=True)

    async def _attach(self, call: Call) -> None:
        if self.call_id != call.pk:
            if self.call_id is not None:
                await self._leave(call_group(self.call_id, "requester"))
            self.call_id = call.pk
            await self._join(call_group(call.pk, "requester"))
        if call.is_live:
            await realtime.run(actions.do_mark_connected)(call.pk, True)

    async def _send_state(self, pk: int, *, welcome: bool = False) -> None:
        state = await self._run(_requester_state, pk, welcome)
        if state["state"] == CallState.WAITING and not self.in_waiting_group:
            await self._join(GROUP_CALL_WAITING)
            self.in_waiting_group = True
        elif state["state"] != CallState.WAITING and self.in_waiting_group:
            await self._leave(GROUP_CALL_WAITING)
            self.in_waiting_group = False
        await self.send_json({"t": "welcome" if welcome else "state", **state})

    async def on_start(self, data: dict[str, Any]) -> None:
        """Terms accepted, a topic given: into the waiting room."""
        started = await self._run(
            actions.do_start,
            data.get("topic"),
            lang=self.lang,
            terms_version=data.get("terms"),
            name=data.get("name") or "",
            requester=await realtime.run(requester.current)(self.scope.get("session")),
            member_category=data.get("category") or "",
        )
        await self.send_json({"t": "token", "token": started.secret})
        await self._attach(started.call)
        await self._send_state(started.call.pk, welcome=True)

    async def on_code(self, data: dict[str, Any]) -> None:
        """A connection code from an operator: straight to that operator."""
        from madoguchi.core.ratelimit import scope_client_address

        started = await self._run(
            actions.do_join_by_code,
            data.get("code"),
            lang=self.lang,
            terms_version=data.get("terms"),
            address=scope_client_address(self.scope),
        )
        await self.send_json({"t": "token", "token": started.secret})
        await self._attach(started.call)
        await self._send_state(started.call.pk, welcome=True)

    async def _require(self) -> Call:
        if self.call_id is None:
            raise CallError(self._t(NO_CALL), "no_call")
        return await self._run(queries.get, self.call_id)

    async def on_signal(self, data: dict[str, Any]) -> None:
        call = await self._require()
        if call.state != CallState.ACTIVE:
            raise CallError(self._t(NO_CALL), "not_live")
        await self._relay(data)

    async def on_say(self, data: dict[str, Any]) -> None:
        call = await self._require()
        raw = data.get("cid")
        cid = raw[:64] if isinstance(raw, str) else ""
        message = await self._run(actions.do_requester_text, call, data.get("body"), client_id=cid)
        await self.send_json({"t": "ack", "cid": cid, "seq": message.pk})

    async def on_typing(self, data: dict[str, Any]) -> None:
        call = await self._require()
        if call.state == CallState.ACTIVE:
            await self._typing(data)

    async def on_share(self, data: dict[str, Any]) -> None:
        call = await self._require()
        await self._run(actions.do_set_share, call, data.get("state"), data.get("surface"))

    async def on_screenshot(self, data: dict[str, Any]) -> None:
        call = await self._require()
        await self._run(actions.do_answer_screenshot, call, data.get("request"), data.get("allow"))

    async def on_leave(self, data: dict[str, Any]) -> None:
        call = await self._require()
        await self._run(actions.do_leave, call)

    async def on_mail(self, data: dict[str, Any]) -> None:
        call = await self._require()
        await self._run(
            actions.do_continue_by_mail, call, data.get("email"), data.get("name") or ""
        )
        await self.send_json({"t": "mail_ok"})

    async def call_peer_ready(self, message: dict[str, Any]) -> None:
        if self.call_id is not None:
            await self.send_json({"t": "peer_ready"})

    async def desk_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        kind = event.get("kind")
        if self.call_id is None:
            return
        if kind == "call.message":
            await self.send_json({"t": "message", "message": event["message"]})
        elif kind in ("call.state.changed", "call.queue"):
            await self._send_state(self.call_id)
        elif kind == "call.screenshot_asked":
            await self.send_json({"t": "screenshot_asked", "request": event["request"]})
        elif kind == "call.warning":
            await self.send_json({"t": "warning", "minutes": event["minutes"]})


def _requester_state(pk: int, welcome: bool = False) -> dict[str, Any]:
    call = queries.get(pk)
    state = queries.state_payload(call)
    if welcome:  # a (re)opened page shows the call's text chat again
        state["messages"] = queries.transcript(call)
    if call.state == CallState.ACTIVE:
        state["ice"] = queries.ice_servers(call)
        state["ice_policy"] = settings.CALL_ICE_POLICY
    pending = queries.pending_screenshot(call)
    if pending is not None:
        state["screenshot_request"] = pending.pk
    return state


class OperatorCallConsumer(_CallSocket):
    """The operator's call page: ``{"t": "join", "inquiry": REF}`` joins that call's
    operator side once the access module says this user is its operator."""

    side = "operator"

    async def allowed(self) -> bool:
        return bool(access.staff_groups(self.scope.get("user")))

    async def on_join(self, data: dict[str, Any]) -> None:
        reference = data.get("inquiry")
        if not isinstance(reference, str):
            raise CallError(self._t(INVALID), "invalid")
        found = await self._run(_operated_call, self.scope["user"], reference[:20])
        if found is None:
            raise PermissionDenied
        pk, payload = found
        if self.call_id is not None and self.call_id != pk:
            await self._leave(call_group(self.call_id, "operator"))
        self.call_id = pk
        await self._join(call_group(pk, "operator"))
        await self.send_json({"t": "joined", **payload})
        if data.get("fresh") is True and payload.get("state") == CallState.ACTIVE:
            # A new operator page (a reload): the requester's page connects to it now,
            # instead of after its connection to the old page times out.
            await self.channel_layer.group_send(
                call_group(pk, "requester"), {"type": "call.peer_ready"}
            )

    async def on_signal(self, data: dict[str, Any]) -> None:
        await self._still_operator()
        await self._relay(data)

    async def on_typing(self, data: dict[str, Any]) -> None:
        await self._still_operator()
        await self._typing(data)

    async def _still_operator(self) -> None:
        """Checked on every relayed frame: a call that became sensitive, or passed on,
        drops this page at once."""
        if self.call_id is None:
            raise CallError(self._t(NO_CALL), "no_call")
        if not await self._run(queries.operates, self.scope["user"], self.call_id):
            await self._leave(call_group(self.call_id, "operator"))
            self.call_id = None
            raise PermissionDenied
        if not await self._run(queries.is_active, self.call_id):
            raise CallError(self._t(NO_CALL), "not_live")

    async def desk_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if self.call_id is None:
            return
        if not await self._run(queries.operates, self.scope["user"], self.call_id):
            await self._leave(call_group(self.call_id, "operator"))
            self.call_id = None
            return
        kind = event.get("kind")
        if kind == "call.message":
            await self.send_json({"t": "message", "message": event["message"]})
        elif kind == "call.screenshot":
            await self.send_json(
                {
                    "t": "screenshot",
                    "request": event["request"],
                    "allowed": event["allowed"],
                    "token": event.get("token", ""),
                }
            )
        elif kind in ("call.state.changed", "call.invited_joined"):
            payload = await self._run(_operator_state, self.call_id)
            await self.send_json({"t": "state", **payload})
        elif kind == "call.warning":
            await self.send_json({"t": "warning", "minutes": event["minutes"]})


def _operated_call(user: Any, reference: str) -> tuple[int, dict[str, Any]] | None:
    try:
        inquiry = access.access_inquiry(user, reference)
    except Http404:
        return None
    call = Call.objects.filter(inquiry=inquiry).order_by("-pk").select_related("operator").first()
    if call is None:
        return None
    call.inquiry = inquiry
    if not access.is_call_operator(user, call):
        return None
    return call.pk, _operator_state(call.pk)


def _operator_state(pk: int) -> dict[str, Any]:
    call = queries.get(pk)
    payload = queries.operator_payload(call)
    if call.state == CallState.ACTIVE:
        payload["ice"] = queries.ice_servers(call)
        payload["ice_policy"] = settings.CALL_ICE_POLICY
    return payload
