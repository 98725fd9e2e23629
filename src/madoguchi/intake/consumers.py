"""A requester's live view of their own inquiry, authorised by the signed link."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from madoguchi.core import realtime
from madoguchi.core.events import requester_group
from madoguchi.inquiries import access


@realtime.run
def _inquiry_id(token: str) -> tuple[int, int] | None:
    """(inquiry id, link version) for a valid link."""
    try:
        inquiry = access.access_inquiry_by_token(token)
    except Http404:
        return None
    return inquiry.pk, inquiry.link_version


class RequesterConsumer(AsyncJsonWebsocketConsumer):
    group = ""
    link_version = 0

    async def connect(self) -> None:
        token = self.scope["url_route"]["kwargs"]["token"]
        found = await _inquiry_id(token)
        if found is None:
            await self.close(code=4404)
            return
        inquiry_id, self.link_version = found
        self.group = requester_group(inquiry_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        return None

    async def desk_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event.get("kind") == "link.revoked":
            # Opened with a link that no longer works: nothing more reaches this socket.
            if int(event.get("version", 0)) > self.link_version:
                await self.send_json({"kind": "link.revoked"})
                await self.close(code=4401)
            return
        await self.send_json(event)
