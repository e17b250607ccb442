"""The session WebSocket with a real client: each seat receives its own view after every change,
strangers are turned away as if the session did not exist, and bad messages close the socket."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from config.asgi import application
from debate.consumers import CLOSE_BAD_MESSAGE, CLOSE_NOT_FOUND
from debate.protocol import Role
from tests.factories import judge, make_debate, make_user, speak

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


async def connect(session_id: int, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/sessions/{session_id}/", headers=HEADERS
    )
    communicator.scope["user"] = user
    return communicator


@database_sync_to_async
def setup_debate():
    people = {r: make_user(f"ws-{r}") for r in ("judge", "debater_a", "debater_b")}
    return make_debate(**people), people


async def test_each_seat_gets_its_own_view_pushed_after_a_change():
    session, people = await setup_debate()
    judge_ws = await connect(session.pk, people["judge"])
    b_ws = await connect(session.pk, people["debater_b"])
    for ws in (judge_ws, b_ws):
        connected, _ = await ws.connect()
        assert connected
    first_judge = await judge_ws.receive_json_from()
    assert first_judge["view"]["viewer_role"] == "judge" and first_judge["view"]["your_turn"]
    assert (await b_ws.receive_json_from())["view"]["passage_text"]

    await database_sync_to_async(judge)(session, [0.5, 0.5])
    await database_sync_to_async(speak)(session, Role.DEBATER_A, "secret opening of A")

    # After the judgment both get a view; after A's speech, B's view must not contain it.
    pushes_b = [await b_ws.receive_json_from(timeout=5) for _ in range(2)]
    assert all("secret opening of A" not in json.dumps(p) for p in pushes_b)
    pushes_judge = [await judge_ws.receive_json_from(timeout=5) for _ in range(2)]
    assert all("secret opening of A" not in json.dumps(p) for p in pushes_judge)
    assert pushes_b[-1]["view"]["your_turn"] is True
    for ws in (judge_ws, b_ws):
        await ws.disconnect()


async def test_a_stranger_and_an_anonymous_user_are_closed_as_not_found():
    session, _ = await setup_debate()
    stranger = await database_sync_to_async(make_user)("ws-stranger")
    for user in (stranger, AnonymousUser()):
        ws = await connect(session.pk, user)
        connected, code = await ws.connect()
        assert not connected and code == CLOSE_NOT_FOUND
        await ws.disconnect()


async def test_a_reconnecting_page_catches_up_from_the_database():
    session, people = await setup_debate()
    await database_sync_to_async(judge)(session, [0.5, 0.5])
    ws = await connect(session.pk, people["debater_a"])
    await ws.connect()
    view = (await ws.receive_json_from())["view"]
    assert view["your_turn"] and view["rounds"][0]["judgments"][0]["probabilities"] == [0.5, 0.5]
    await ws.disconnect()


@pytest.mark.parametrize("message", ["not json", json.dumps({"type": "x"}), "[1, 2]", "x" * 5000])
async def test_malformed_or_oversized_messages_close_the_socket(message):
    session, people = await setup_debate()
    ws = await connect(session.pk, people["judge"])
    await ws.connect()
    await ws.receive_json_from()
    await ws.send_to(text_data=message)
    closed = await ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_BAD_MESSAGE}
    await ws.disconnect()


async def test_without_an_allowed_origin_the_socket_is_refused():
    session, people = await setup_debate()
    ws = WebsocketCommunicator(
        application, f"/ws/sessions/{session.pk}/", headers=[(b"origin", b"http://evil.example")]
    )
    ws.scope["user"] = people["judge"]
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_room_socket_pushes_html_fragments_for_htmx():
    session, people = await setup_debate()
    ws = WebsocketCommunicator(application, f"/ws/sessions/{session.pk}/room/", headers=HEADERS)
    ws.scope["user"] = people["debater_a"]
    connected, _ = await ws.connect()
    assert connected
    first = await ws.receive_from()
    assert 'id="turn-status"' in first and 'hx-swap-oob="true"' in first
    assert "Waiting for the judge" in first
    await database_sync_to_async(judge)(session, [0.5, 0.5], "prior note")
    pushed = await ws.receive_from(timeout=5)
    assert 'data-your-turn="true"' in pushed and "prior note" in pushed
    await ws.disconnect()


async def test_lobby_socket_follows_the_users_sessions():
    session, people = await setup_debate()
    ws = WebsocketCommunicator(application, "/ws/lobby/", headers=HEADERS)
    ws.scope["user"] = people["debater_b"]
    connected, _ = await ws.connect()
    assert connected
    first = await ws.receive_from()
    assert 'id="lobby"' in first and 'data-turn-count="0"' in first
    await database_sync_to_async(judge)(session, [0.5, 0.5])
    pushed = await ws.receive_from(timeout=5)
    assert 'data-turn-count="1"' in pushed
    await ws.disconnect()
    anonymous = WebsocketCommunicator(application, "/ws/lobby/", headers=HEADERS)
    anonymous.scope["user"] = AnonymousUser()
    connected, code = await anonymous.connect()
    assert not connected and code == CLOSE_NOT_FOUND
