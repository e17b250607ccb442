"""Real-time fan-out: how soon the other seats see a move.

Starts the ASGI server (Daphne) with the Redis channel layer, opens N rooms with three WebSocket
clients each (judge, debater A, debater B), plays a short debate in every room at once through
HTTP POSTs, and prints the latency from a submission's HTTP response to its push arriving at the
other two seats (p50, p95, p99) and the turns per second, for each N.

    .venv/bin/python bench/ws_fanout.py --rooms 10 50 200

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/13). Uses DATABASE_URL if set (a new, empty
PostgreSQL database, which it migrates and fills), else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument(
        "--think",
        type=float,
        default=3.0,
        help="seconds each room waits between moves, as people do (0: as fast as possible)",
    )
    args = parser.parse_args()
    env = _environment()
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    port = _free_port()
    server_log = ROOT / "bench" / ".ws_fanout-server.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=server_log.open("w"),  # a pipe nobody reads would block the server once full
    )
    try:
        _wait_for_port(port)
        if os.environ.get("BENCH_PRINT_PID"):
            print("server pid", server.pid, flush=True)
        print(f"database: {django.db.connection.vendor}; channel layer: Redis; server: one Daphne")
        for rooms in args.rooms:
            BUSY.clear()
            stats = asyncio.run(_run(port, _make_rooms(rooms), args.think))
            q = statistics.quantiles(stats["push"], n=100)
            h = statistics.quantiles(stats["http"], n=100)
            print(
                f"N={rooms:>4} rooms ({rooms * 3} sockets), think {args.think:g} s: push after the "
                f"HTTP response p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms; "
                f"HTTP p50 {h[49]:.1f} ms, p99 {h[98]:.1f} ms; "
                f"{stats['turns'] / stats['wall']:.1f} turns/s "
                f"({stats['turns']} turns in {stats['wall']:.1f} s); "
                f"{len(BUSY)} answered 503 busy (and retried), no 500"
            )
    finally:
        server.kill()  # Twisted waits for open sockets on SIGTERM
        server.wait(timeout=10)
        print(f"server log: {server_log}")


SEATS = ("judge", "debater_a", "debater_b")
MOVES = [  # (seat, path, form) for one short debate
    ("judge", "judgment", {"p0": "50", "p1": "50", "action": "continue"}),
    ("debater_a", "speech", {"text": "Opening A."}),
    ("debater_b", "speech", {"text": "Opening B."}),
    ("judge", "judgment", {"p0": "60", "p1": "40", "action": "continue"}),
    ("debater_a", "speech", {"text": "Rebuttal A."}),
    ("debater_b", "speech", {"text": "Rebuttal B."}),
    ("judge", "judgment", {"p0": "70", "p1": "30", "action": "end"}),
]


async def _run(port: int, rooms: list[dict], think: float) -> dict:
    latencies: list[float] = []
    http_times: list[float] = []
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
    ) as http:
        opening = asyncio.Semaphore(20)  # people arrive over time, not in one burst
        sockets = await asyncio.gather(*(_connect(port, room, opening) for room in rooms))
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _play(http, room, seats, latencies, http_times, think, index / len(rooms))
                for index, (room, seats) in enumerate(zip(rooms, sockets, strict=True))
            )
        )
        wall = time.perf_counter() - started
        for seats in sockets:
            for ws in seats.values():
                await ws.close()
    return {"push": latencies, "http": http_times, "turns": len(rooms) * len(MOVES), "wall": wall}


async def _connect(port: int, room: dict, opening: asyncio.Semaphore) -> dict:
    seats = {}
    for seat, cookie in room["cookies"].items():
        async with opening:
            seats[seat] = await _open(port, room, cookie)
    return seats


async def _open(port: int, room: dict, cookie: str) -> websockets.ClientConnection:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/sessions/{room['session']}/",
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
        max_queue=None,
        open_timeout=60,
    )
    await ws.recv()  # the view on connect
    return ws


async def _play(
    http: httpx.AsyncClient,
    room: dict,
    sockets: dict,
    latencies: list[float],
    http_times: list[float],
    think: float,
    phase: float,
) -> None:
    await asyncio.sleep(think * phase)  # rooms start spread over one think time
    for seat, path, form in MOVES:
        others = [ws for name, ws in sockets.items() if name != seat]
        waits = [asyncio.ensure_future(_next_push(ws)) for ws in others]
        while True:
            sent = time.perf_counter()
            response = await http.post(
                f"/sessions/{room['session']}/{path}",
                data=form,
                headers={"Cookie": room["cookies"][seat], "X-CSRFToken": room["csrf"]},
            )
            answered = time.perf_counter()
            http_times.append((answered - sent) * 1000)
            if response.status_code != 503:
                break
            # Busy: nothing was saved; press again after Retry-After, as a person would.
            BUSY.append(1)
            await asyncio.sleep(float(response.headers.get("Retry-After", 2)))
        if response.status_code not in (200, 302):
            raise RuntimeError(f"{path} by {seat}: HTTP {response.status_code}")
        for arrived in await asyncio.gather(*waits):
            latencies.append(max(0.0, arrived - answered) * 1000)
        for ws in sockets.values():  # the mover's own push: drain it
            if ws not in others:
                await _next_push(ws)
        await asyncio.sleep(think)


async def _next_push(ws) -> float:
    await asyncio.wait_for(ws.recv(), timeout=60)
    return time.perf_counter()


def _make_rooms(count: int) -> list[dict]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from tests.factories import make_debate, make_question, make_user

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    csrf = secrets.token_hex(16)
    rooms = []
    run = secrets.token_hex(6)
    question = make_question(passage__external_id=f"bench-{run}", external_id=f"bench-{run}")
    for _ in range(count):
        users = {seat: make_user(f"bench-{secrets.token_hex(6)}") for seat in SEATS}
        session = make_debate(question=question, **users)
        cookies = {}
        for seat, user in users.items():
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            cookies[seat] = f"sessionid={store.session_key}; csrftoken={csrf}"
        rooms.append({"session": session.pk, "cookies": cookies, "csrf": csrf})
    return rooms


BUSY: list[int] = []  # 503 answers (busy database), each retried


def _environment() -> dict[str, str]:
    env = {
        "STATIC_ROOT": str(Path(tempfile.mkdtemp()) / "static"),  # collected, as a deploy does
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-" + secrets.token_hex(24)),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "false",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    if not os.environ.get("DATABASE_URL"):
        env["SQLITE_PATH"] = str(Path(tempfile.mkdtemp()) / "fanout.sqlite3")
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the ASGI server did not start")


if __name__ == "__main__":
    main()
