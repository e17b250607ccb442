"""`make run` as a newcomer runs it: on this machine alone it serves with DEBUG (its error pages
help while developing); given HOST=0.0.0.0 it says DEBUG is off and serves plain error pages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(tmp_path: Path, host: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env.update(SQLITE_PATH=str(tmp_path / "run.sqlite3"), DJANGO_SETTINGS_MODULE="config.settings")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"HOST={host}", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stdout.read())
            time.sleep(0.5)
    stop(process)
    pytest.fail("make run did not start serving within 120 s")


def stop(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
    return out


def not_found_page(port: int) -> str:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page", timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 404
        return error.read().decode()
    pytest.fail("a missing page was served")


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_debug_only_while_serving_this_machine_alone(tmp_path, host):
    process, port = serve(tmp_path, host)
    try:
        page = not_found_page(port)
        home = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        style = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/platform.css")
        assert style.status == 200  # static files either way
    finally:
        out = stop(process)
    assert "Debate and consultancy experiments" in home
    if host == "0.0.0.0":
        assert "so DEBUG is off" in out
        assert "URLconf" not in page and "Traceback" not in page  # no debug page
    else:
        assert "DEBUG is off" not in out
        assert "URLconf" in page  # Django's debug 404 page lists the URL patterns
