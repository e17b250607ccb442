"""WebSocket consumers. After every committed change each connected seat is pushed its own view,
rendered from the visibility module and nothing else:

- `SessionConsumer` (`/ws/sessions/<id>/`): the view as JSON, for programs;
- `RoomConsumer` (`/ws/sessions/<id>/room/`): the room's live regions as HTML fragments with
  `hx-swap-oob`, for the htmx ws extension in the browser;
- `LobbyConsumer` (`/ws/lobby/`): the user's lobby as an HTML fragment.

A (re)connecting client is sent the current state at once, so it catches up from the database.
Clients send nothing but an optional `{"type": "refresh"}`; anything else closes the socket.
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from debate import events
from debate.models import Session
from debate.selectors import session_for_viewer
from debate.visibility import lobby_for, view_for, view_to_dict

# 4404 mirrors HTTP 404 so existence does not leak; 4400 is a malformed or oversized message.
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_MESSAGE = 4400
MAX_MESSAGE_BYTES = 4096


class _PushConsumer(AsyncWebsocketConsumer):
    """Join the groups, push the current rendering on connect and on every change."""

    async def connect(self) -> None:
        self.groups_joined: list[str] = []
        payload = await self.render()
        if payload is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        for group in await self.groups_to_join():
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.accept()
        await self.send(text_data=payload)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None or text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            message = None
        if not isinstance(message, dict) or message.get("type") != "refresh":
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        await self.push()

    async def session_changed(self, event: dict[str, Any]) -> None:
        await self.push()

    async def lobby_changed(self, event: dict[str, Any]) -> None:
        await self.push()

    async def push(self) -> None:
        payload = await self.render()
        if payload is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send(text_data=payload)

    async def groups_to_join(self) -> list[str]:
        raise NotImplementedError

    async def render(self) -> str | None:
        raise NotImplementedError


class SessionConsumer(_PushConsumer):
    async def groups_to_join(self) -> list[str]:
        return [events.session_group(self.session_id)]

    @property
    def session_id(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["session_id"])

    @database_sync_to_async
    def render(self) -> str | None:
        view = _seat_view(self.session_id, self.scope["user"])
        return None if view is None else json.dumps({"type": "view", "view": view_to_dict(view)})


class RoomConsumer(SessionConsumer):
    @database_sync_to_async
    def render(self) -> str | None:
        view = _seat_view(self.session_id, self.scope["user"])
        if view is None:
            return None
        return render_to_string("debate/_live.html", {"view": view, "oob": True})


class LobbyConsumer(_PushConsumer):
    async def groups_to_join(self) -> list[str]:
        user = self.scope["user"]
        groups = [events.user_group(user.pk)]
        if user.is_staff:
            groups.append(events.STAFF_GROUP)
        return groups

    @database_sync_to_async
    def render(self) -> str | None:
        user = self.scope["user"]
        if not user.is_authenticated:
            return None
        return render_to_string("debate/_lobby.html", {"lobby": lobby_for(user), "oob": True})


def _seat_view(session_id: int, user: Any):
    try:
        session, seat = session_for_viewer(session_id=session_id, user=user)
    except Session.DoesNotExist:
        return None
    return view_for(seat, session)
