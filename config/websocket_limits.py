"""One close code for every message a socket will not take, however large.

Daphne caps a WebSocket message and frame at 1 MiB. Our consumers close anything over 4 KiB with
4400 (a malformed or oversized message, debate/consumers.py), but a message over Daphne's cap
never reaches them: autobahn, under Daphne, drops the TCP connection instead (the client sees
1006, "abnormal closure", and cannot tell it was refused). Here that case sends the same close
frame, 4400, and waits for the client's reply like any other close.

Applied when the ASGI application is imported (config/asgi.py), so `daphne` and `runserver` get
it alike; `tests/debate/test_live_sockets.py` checks it against a real Daphne.
"""

from __future__ import annotations

from daphne.ws_protocol import WebSocketProtocol

CLOSE_BAD_MESSAGE = 4400  # as debate.consumers.CLOSE_BAD_MESSAGE


def _refuse_too_big(self, size: int, limit: int, reason: str) -> None:
    self.failByDrop = False  # a close frame, not a dropped connection
    self._fail_connection(CLOSE_BAD_MESSAGE, "message too large")


def install() -> None:
    WebSocketProtocol._max_message_size_exceeded = _refuse_too_big
