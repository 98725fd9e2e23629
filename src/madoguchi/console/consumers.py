"""The console's live channel: staff subscribe to the groups ``access.staff_groups`` gives
them and get "something changed" events, then re-fetch through access-checked routes. A
page showing one inquiry asks to watch it (``{"kind": "watch", "inquiry": REF}``): the
socket joins the group ``access.watch_group`` gives, and so hears of each new
thread entry without every staff socket hearing of every chat message."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from madoguchi.chat import actions as chat_actions
from madoguchi.chat import queries as chat_queries
from madoguchi.core import realtime
from madoguchi.inquiries import access


def _watch_group(user: Any, reference: str) -> str | None:
    try:
        inquiry = access.access_inquiry(user, reference)
    except Http404:
        return None
    return access.watch_group(user, inquiry)


def _on_duty(user: Any) -> bool:
    return chat_queries.operator_status(user).available


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]
    watching: dict[str, str]  # reference -> the inquiry's group

    async def connect(self) -> None:
        self.groups_joined = []
        self.watching = {}
        user = self.scope.get("user")
        groups = access.staff_groups(user)
        if not groups:
            await self.close(code=4403)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        await self.send_json({"kind": "hello"})

    async def disconnect(self, code: int) -> None:
        groups = [*getattr(self, "groups_joined", []), *getattr(self, "watching", {}).values()]
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Pings keep proxies from closing the channel; an operator's typing goes to the
        # requester of a chat the operator can see.
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        reference = content.get("inquiry")
        if kind == "ping":
            await self.send_json({"kind": "pong"})
        elif kind == "typing" and isinstance(reference, str):
            await realtime.run(chat_actions.notify_operator_typing)(
                self.scope["user"], reference[:20], bool(content.get("on"))
            )
        elif kind == "watch" and isinstance(reference, str):
            await self._watch(reference[:20])

    async def _watch(self, reference: str) -> None:
        """One inquiry at a time: a page shows one."""
        if reference in self.watching:
            return
        group = await realtime.run(_watch_group)(self.scope["user"], reference)
        for old in list(self.watching):
            await self._unwatch(old)
        if group is not None:
            await self.channel_layer.group_add(group, self.channel_name)
            self.watching[reference] = group

    async def _unwatch(self, reference: str) -> None:
        group = self.watching.pop(reference, None)
        if group is not None:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def desk_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event.get("kind") == "call.waiting" and not event.get("for_you"):
            # A notice of a waiting call is for the staff on duty, not every console.
            if not await realtime.run(_on_duty)(self.scope["user"]):
                return
        if event.get("kind") == "inquiry.revoked":
            # Student staff lost the inquiry (it was restricted): the socket stops watching
            # it (nothing after the restriction is sent to its group anyway).
            await self._unwatch(str(event.get("inquiry")))
        await self.send_json(event)
