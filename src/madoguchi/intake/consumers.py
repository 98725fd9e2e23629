"""A requester's live view of their own inquiry, authorised by the signed link."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from madoguchi.core.events import requester_group
from madoguchi.inquiries import access


@database_sync_to_async
def _inquiry_id(token: str) -> int | None:
    try:
        return access.access_inquiry_by_token(token).pk
    except Http404:
        return None


class RequesterConsumer(AsyncJsonWebsocketConsumer):
    group = ""

    async def connect(self) -> None:
        token = self.scope["url_route"]["kwargs"]["token"]
        inquiry_id = await _inquiry_id(token)
        if inquiry_id is None:
            await self.close(code=4404)
            return
        self.group = requester_group(inquiry_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        return None

    async def desk_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
