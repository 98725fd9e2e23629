"""The console's live channel: staff subscribe to the group of their tier and get
"something changed" events, then re-fetch through access-checked routes."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from madoguchi.accounts.roles import FACULTY, STUDENT, role_of
from madoguchi.chat import service as chat_service
from madoguchi.core.events import GROUP_FACULTY_STAFF, GROUP_STUDENT_STAFF, user_group


def groups_for(user: Any) -> list[str]:
    role = role_of(user)
    if role == STUDENT:
        return [GROUP_STUDENT_STAFF, user_group(user.pk)]
    if role in (FACULTY, "admin"):
        return [GROUP_FACULTY_STAFF, user_group(user.pk)]
    return []


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        groups = groups_for(user)
        if not groups:
            await self.close(code=4403)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        await self.send_json({"kind": "hello"})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Pings keep proxies from closing the channel; an operator's typing goes to the
        # requester of a chat the operator can see.
        if not isinstance(content, dict):
            return
        if content.get("kind") == "ping":
            await self.send_json({"kind": "pong"})
        elif content.get("kind") == "typing" and isinstance(content.get("inquiry"), str):
            await database_sync_to_async(chat_service.operator_typing)(
                self.scope["user"], content["inquiry"][:20], bool(content.get("on"))
            )

    async def desk_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
