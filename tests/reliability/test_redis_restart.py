"""Redis restarts mid-session (a redis-server this test starts on a port of its own, holding the
channel layer): the open room pages catch up with every move, and no move is lost, including one
made while Redis was down."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from config.asgi import application
from debate.consumers import CLOSE_RECONNECT
from debate.models import Judgment, Speech
from debate.protocol import Role
from tests.factories import judge, make_debate, speak

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server installed"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, tmp_path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def redis_layer(settings, tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{server.port}/0"]},
        }
    }
    channel_layers.backends.clear()
    yield server
    channel_layers.backends.clear()
    if server.process and server.process.poll() is None:
        server.stop()


ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


async def open_room(session_id: int, user, tries: int = 1) -> WebsocketCommunicator:
    """Open the room's socket, trying again after a refusal as the browser's ws extension does
    (it reconnects after 1006, 1011, 1012 and 1013, backing off)."""
    for attempt in range(tries):
        ws = WebsocketCommunicator(application, f"/ws/sessions/{session_id}/", headers=ORIGIN)
        ws.scope["user"] = user
        connected, code = await ws.connect(timeout=10)
        if connected:
            return ws
        assert code == CLOSE_RECONNECT, code
        await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError(f"could not reconnect in {tries} tries")


def moves_shown(view: dict) -> int:
    return sum(len(r["speeches"]) + len(r["judgments"]) for r in view["rounds"])


async def moves_seen(ws: WebsocketCommunicator, user, session_id: int, want: int):
    """Read pushes until the view shows ``want`` moves, reconnecting as the page does when
    the server closes the socket; returns how many reconnects it took."""
    reconnects = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            output = await ws.receive_output(timeout=deadline - time.monotonic())
        except TimeoutError:
            break
        if output["type"] == "websocket.close":
            assert output.get("code") == CLOSE_RECONNECT, output
            reconnects += 1
            ws = await open_room(session_id, user, tries=20)
            continue
        view = json.loads(output["text"])["view"]
        if moves_shown(view) >= want:
            await ws.disconnect()
            return reconnects
    await ws.disconnect()
    raise AssertionError(f"the page never showed {want} moves")


def test_open_pages_catch_up_after_a_redis_restart(redis_layer):
    session = make_debate()
    judge_user = session.seats.get(role=Role.JUDGE).user

    async def scenario():
        ws = await open_room(session.pk, judge_user)
        await ws.receive_output(timeout=10)  # the view as it is
        await asyncio.to_thread(judge, session, (0.5, 0.5))
        await asyncio.to_thread(speak, session, Role.DEBATER_A, "Opening for A.")
        await asyncio.to_thread(speak, session, Role.DEBATER_B, "Opening for B.")
        assert await moves_seen(ws, judge_user, session.pk, 3) == 0  # the push path works
        ws = await open_room(session.pk, judge_user)
        await ws.receive_output(timeout=10)
        redis_layer.stop()
        # A move while Redis is down commits; only its push is lost.
        await asyncio.to_thread(judge, session, (0.6, 0.4), "Made while Redis was down.")
        redis_layer.start()
        await asyncio.to_thread(speak, session, Role.DEBATER_A, "After the restart, A.")
        await asyncio.to_thread(speak, session, Role.DEBATER_B, "After the restart, B.")
        return await moves_seen(ws, judge_user, session.pk, 6)

    assert asyncio.run(scenario()) >= 1  # the page was asked to reconnect, and caught up
    assert Judgment.objects.filter(session=session).count() == 2
    assert Speech.objects.filter(round__session=session).count() == 4
