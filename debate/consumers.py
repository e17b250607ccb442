"""WebSocket consumer for a session: after every committed change, push the connected seat its
own view, rendered by the visibility module. Nothing else is ever sent."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from debate import events
from debate.models import Session
from debate.selectors import session_for_viewer
from debate.visibility import view_for, view_to_dict

# Close codes: 4404 mirrors HTTP 404 so existence does not leak; 4400 is a malformed message.
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_MESSAGE = 4400
MAX_MESSAGE_BYTES = 4096


class SessionConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.group = events.session_group(self.session_id)
        view = await self._view()
        if view is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "view", "view": view})  # a reconnect catches up here

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None or text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        await super().receive(text_data=text_data)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "refresh":
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        await self._push_view()

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

    async def session_changed(self, event: dict[str, Any]) -> None:
        await self._push_view()

    async def _push_view(self) -> None:
        view = await self._view()
        if view is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send_json({"type": "view", "view": view})

    @database_sync_to_async
    def _view(self) -> dict[str, Any] | None:
        try:
            session, seat = session_for_viewer(session_id=self.session_id, user=self.scope["user"])
        except Session.DoesNotExist:
            return None
        return view_to_dict(view_for(seat, session))
