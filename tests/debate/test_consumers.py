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


# --- a stream follows its holder ------------------------------------------------------------


def signed_in(user) -> str:
    """A real login session for ``user``: the cookie a browser would send."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def connect_signed_in(path: str, cookie: str) -> WebsocketCommunicator:
    headers = [*HEADERS, (b"cookie", f"sessionid={cookie}".encode())]
    return WebsocketCommunicator(application, path, headers=headers)


async def test_a_seat_given_to_someone_else_stops_streaming_to_its_former_holder():
    from django.test import Client

    from debate.consumers import CLOSE_SEAT_LOST
    from debate.models import Seat

    session, people = await setup_debate()
    old = people["debater_a"]
    cookie = await database_sync_to_async(signed_in)(old)
    ws = await connect_signed_in(f"/ws/sessions/{session.pk}/", cookie)
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from())["view"]["passage_text"]
    newcomer = await database_sync_to_async(make_user)("ws-newcomer")
    boss = await database_sync_to_async(make_user)("ws-boss", is_staff=True, is_superuser=True)

    def reassign():
        seat = Seat.objects.get(session=session, role=Role.DEBATER_A)
        client = Client()
        client.force_login(boss)
        response = client.post(
            f"/admin/debate/seat/{seat.pk}/change/",
            {"session": session.pk, "role": "debater_a", "user": newcomer.pk, "agent": "",
             "answer_position": seat.answer_position},
        )  # fmt: skip
        assert response.status_code == 302, response.content.decode()[:2000]

    await database_sync_to_async(reassign)()
    # The push that follows the reassignment closes the old holder's stream, sending no view.
    output = await ws.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": CLOSE_SEAT_LOST}
    # The new holder's stream works, and later moves never reach the old one.
    new_ws = await connect_signed_in(
        f"/ws/sessions/{session.pk}/", await database_sync_to_async(signed_in)(newcomer)
    )
    connected, _ = await new_ws.connect()
    assert connected and (await new_ws.receive_json_from())["view"]["viewer_role"] == "debater_a"
    await new_ws.disconnect()


async def test_logging_out_closes_the_room_and_the_lobby_streams():
    from importlib import import_module

    from django.conf import settings

    from debate.consumers import CLOSE_SIGNED_OUT

    session, people = await setup_debate()
    cookie = await database_sync_to_async(signed_in)(people["judge"])
    room = await connect_signed_in(f"/ws/sessions/{session.pk}/room/", cookie)
    lobby = await connect_signed_in("/ws/lobby/", cookie)
    for ws in (room, lobby):
        connected, _ = await ws.connect()
        assert connected
        await ws.receive_from()
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=cookie)
    await database_sync_to_async(store.delete)()  # what logging out does to the login session
    await database_sync_to_async(judge)(session, [0.5, 0.5])
    for ws in (room, lobby):
        assert await ws.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": CLOSE_SIGNED_OUT,
        }


async def test_staff_who_are_no_longer_staff_stop_receiving_the_staff_view():
    from django.contrib.auth import get_user_model

    from debate.consumers import CLOSE_SEAT_LOST

    session, _ = await setup_debate()
    boss = await database_sync_to_async(make_user)("ws-staff", is_staff=True)
    ws = await connect_signed_in(
        f"/ws/sessions/{session.pk}/", await database_sync_to_async(signed_in)(boss)
    )
    connected, _ = await ws.connect()
    assert connected and (await ws.receive_json_from())["view"]["viewer_role"] == "staff"
    await database_sync_to_async(
        lambda: get_user_model().objects.filter(pk=boss.pk).update(is_staff=False)
    )()
    await database_sync_to_async(judge)(session, [0.5, 0.5])
    assert await ws.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": CLOSE_SEAT_LOST,
    }
