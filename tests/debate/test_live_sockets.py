"""Real sockets against a real Daphne: oversized and deeply nested messages are closed with the
documented 4400, whatever their size; the origin is checked in full (scheme, host, port)."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from tests.factories import make_user

CLOSE_BAD_MESSAGE = 4400


def signed_in_cookie() -> str:
    client = Client()
    client.force_login(make_user("sock"))
    return client.cookies["sessionid"].value


async def close_code_after(url: str, cookie: str, message: str) -> int | None:
    origin = url.replace("ws://", "http://").split("/ws/")[0]
    async with websockets.connect(
        url, origin=origin, additional_headers={"Cookie": f"sessionid={cookie}"}, max_size=None
    ) as ws:
        await ws.recv()  # the lobby as it is
        try:
            # A message far over the cap may be refused while it is still being sent: the close
            # frame then arrives during the send, as it would for a browser.
            await ws.send(message)
            while True:
                await asyncio.wait_for(ws.recv(), timeout=10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "message",
    [
        "x" * 5000,
        "x" * (1024 * 1024 + 1),  # over Daphne's own cap
        "x" * (10 * 1024 * 1024),
        "[" * 3000 + "]" * 3000,  # nested deeper than Python recurses (and over 4 KiB)
        "[" * 2000,  # malformed and deep, within 4 KiB
        '{"type": "nonsense"}',
    ],
    ids=["5 kB", "1 MiB + 1", "10 MiB", "nested 6 kB", "nested 2 kB", "unknown type"],
)
def test_a_bad_message_of_any_size_is_closed_with_4400(live_server_url, message):
    cookie = signed_in_cookie()
    url = live_server_url.replace("http://", "ws://") + "/ws/lobby/"
    assert asyncio.run(close_code_after(url, cookie, message)) == CLOSE_BAD_MESSAGE


@pytest.mark.django_db(transaction=True)
def test_a_deeply_nested_message_within_the_size_limit_is_closed_with_4400():
    async def run():
        ws = WebsocketCommunicator(application, "/ws/lobby/", headers=ORIGIN)
        ws.scope["user"] = await asyncio.to_thread(make_user, "nested")
        connected, _ = await ws.connect()
        assert connected
        await ws.receive_from()
        await ws.send_to(text_data="[" * 1500 + "]" * 1500)  # 3 kB, deeper than recursion allows
        return await ws.receive_output(timeout=5)

    assert asyncio.run(run()) == {"type": "websocket.close", "code": CLOSE_BAD_MESSAGE}


ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        (ORIGIN, True),
        ([(b"origin", b"https://testserver"), (b"host", b"testserver")], False),  # scheme
        ([(b"origin", b"http://testserver:9"), (b"host", b"testserver")], False),  # port
        ([(b"origin", b"https://127.0.0.1:9"), (b"host", b"127.0.0.1:8000")], False),
        ([(b"origin", b"http://evil.example"), (b"host", b"testserver")], False),
        ([(b"host", b"testserver")], False),  # no origin
        ([(b"origin", b"http://testserver"), (b"host", b"elsewhere.example")], False),  # host
        ([(b"origin", b"null"), (b"host", b"testserver")], False),
        ([(b"origin", b"https://debate.example.org"), (b"host", b"testserver")], True),  # trusted
        (
            [
                (b"origin", b"https://testserver"),
                (b"host", b"testserver"),
                (b"x-forwarded-proto", b"https"),
            ],
            True,
        ),  # behind the TLS proxy
    ],
)
def test_the_origin_is_compared_in_full(settings, headers, accepted):
    settings.CSRF_TRUSTED_ORIGINS = ["https://debate.example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    async def run():
        ws = WebsocketCommunicator(application, "/ws/lobby/", headers=headers)
        ws.scope["user"] = await asyncio.to_thread(make_user)
        connected, _ = await ws.connect()
        await ws.disconnect()
        return connected

    assert asyncio.run(run()) is accepted
