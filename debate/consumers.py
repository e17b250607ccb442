"""WebSocket consumers. After every committed change each connected seat is pushed its own view,
rendered from the visibility module and nothing else:

- `SessionConsumer` (`/ws/sessions/<id>/`): the view as JSON, for programs;
- `RoomConsumer` (`/ws/sessions/<id>/room/`): the room's live regions as HTML fragments with
  `hx-swap-oob`, for the htmx ws extension in the browser;
- `LobbyConsumer` (`/ws/lobby/`): the user's lobby as an HTML fragment.

A (re)connecting client is sent the current state at once, so it catches up from the database.
Clients send nothing but an optional `{"type": "refresh"}`; anything else closes the socket.

When the channel layer fails under a socket (Redis restarted: the socket's group memberships are
gone with it), the socket is closed with 1012 ("service restart"), which the browser's ws
extension answers by reconnecting; the new socket joins its groups again and is sent the current
state, so the page catches up with every move made meanwhile.

A stream follows its holder: before every push the socket checks that its person is still signed
in (`debate/access.py`), that the seat is still theirs (or that they are still staff), and closes
with a code saying which is no longer so, sending nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from debate import events
from debate.access import stream_still_signed_in, stream_still_staff
from debate.models import Session
from debate.selectors import session_for_viewer
from debate.visibility import (
    STAFF,
    SeatLost,
    SeatView,
    lobby_for,
    view_for,
    view_for_seat_at,
    view_to_dict,
)

logger = logging.getLogger(__name__)

# 1012 (service restart) asks the client to reconnect: the channel layer failed under the socket.
CLOSE_RECONNECT = 1012
# 4404 mirrors HTTP 404 so existence does not leak; 4400 is a malformed or oversized message;
# 4401: the person is no longer signed in; 4403: the seat is no longer theirs (given to someone
# else, or staff rights withdrawn).
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_MESSAGE = 4400
CLOSE_SIGNED_OUT = 4401
CLOSE_SEAT_LOST = 4403


class StreamClosed(Exception):
    """Render found the stream may no longer be sent anything: close with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


MAX_MESSAGE_BYTES = 4096


def _layer_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]  # ConnectionError, TimeoutError included
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        errors += [RedisConnectionError, RedisTimeoutError]
    except ImportError:  # embedded mode needs no redis client
        pass
    return tuple(errors)


_LAYER_ERRORS = _layer_errors()


class _PushConsumer(AsyncWebsocketConsumer):
    """Join the groups, push the current rendering on connect and on every change."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except _LAYER_ERRORS as error:
            logger.warning(
                "Channel layer failed under a socket (%s): asking it to reconnect", error
            )
            with contextlib.suppress(Exception):  # the connection may be gone already
                await send({"type": "websocket.close", "code": CLOSE_RECONNECT})

    async def connect(self) -> None:
        self.groups_joined: list[str] = []
        try:
            payload = await self.render(None)
        except StreamClosed:
            payload = None
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
        except (ValueError, RecursionError):  # malformed, or nested deeper than Python recurses
            message = None
        if not isinstance(message, dict) or message.get("type") != "refresh":
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        await self.push(None)

    async def session_changed(self, event: dict[str, Any]) -> None:
        await self.push(event.get("version"))

    async def lobby_changed(self, event: dict[str, Any]) -> None:
        await self.push(None)

    async def push(self, version: str | None) -> None:
        try:
            payload = await self.render(version)
        except StreamClosed as closed:
            await self.close(code=closed.code)
            return
        if payload is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.send(text_data=payload)

    async def groups_to_join(self) -> list[str]:
        raise NotImplementedError

    async def render(self, version: str | None) -> str | None:
        """The payload for this client; ``version`` names the broadcast being answered."""
        # Not thread-sensitive: renders for many sockets run in parallel, not on one thread.
        return await database_sync_to_async(self.render_sync, thread_sensitive=False)(version)

    def render_sync(self, version: str | None) -> str | None:
        raise NotImplementedError


class SessionConsumer(_PushConsumer):
    seat_key: tuple[int | None, str] | None = None  # (seat id, role) resolved on connect

    async def groups_to_join(self) -> list[str]:
        return [events.session_group(self.session_id)]

    @property
    def session_id(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["session_id"])

    def seat_view(self, version: str | None) -> SeatView | None:
        user = stream_still_signed_in(self.scope)
        if user is None:
            raise StreamClosed(CLOSE_SIGNED_OUT)
        if version is None or self.seat_key is None:
            try:
                session, seat = session_for_viewer(session_id=self.session_id, user=user)
            except Session.DoesNotExist:
                if self.seat_key is not None:
                    raise StreamClosed(CLOSE_SEAT_LOST) from None
                return None
            key = (seat.pk, seat.role) if seat else (None, STAFF)
            if self.seat_key is not None and key != self.seat_key:
                raise StreamClosed(CLOSE_SEAT_LOST)  # another seat now: open the room again
            self.seat_key = key
            return view_for(seat, session)
        seat_id, role = self.seat_key
        if seat_id is None and not stream_still_staff(self.scope):
            raise StreamClosed(CLOSE_SEAT_LOST)
        try:
            return view_for_seat_at(seat_id, role, self.session_id, version, user.pk)
        except SeatLost:
            raise StreamClosed(CLOSE_SEAT_LOST) from None

    def render_sync(self, version: str | None) -> str | None:
        view = self.seat_view(version)
        return None if view is None else json.dumps({"type": "view", "view": view_to_dict(view)})


class RoomConsumer(SessionConsumer):
    def render_sync(self, version: str | None) -> str | None:
        view = self.seat_view(version)
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

    def render_sync(self, version: str | None) -> str | None:
        user = self.scope["user"]
        if not user.is_authenticated:
            return None
        current = stream_still_signed_in(self.scope)
        if current is None:
            raise StreamClosed(CLOSE_SIGNED_OUT)
        return render_to_string("debate/_lobby.html", {"lobby": lobby_for(current), "oob": True})
