"""Shared by the endpoint-limit and replica tests: a Redis of the test's own (a redis-server on
a free port, or REDIS_URL's with a prefix of its own in CI), and a caller that runs in a process
of its own, so that limits are shown to hold across processes, not only threads."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from llm_agents import endpoint_limits
from llm_agents.providers import ChatRequest, ProviderConfig, client_for

REQUEST = ChatRequest(system="Be brief.", messages=({"role": "user", "content": "Say hi."},))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A Redis to share limits in: the test's own server when redis-server is installed, else
    REDIS_URL's (CI), else the test is skipped."""
    binary = shutil.which("redis-server")
    if binary is None:
        url = os.environ.get("REDIS_URL")
        if not url:
            pytest.skip("needs redis-server or REDIS_URL")
        yield url
        return
    port = free_port()
    folder = tempfile.mkdtemp(prefix="limits-redis-")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        for _ in range(200):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def fleet_limiter(url: str, window_s: float = endpoint_limits.WINDOW_S) -> tuple:
    """A Redis limiter with keys of its own (one test's), and its prefix."""
    prefix = f"test-limits-{uuid.uuid4().hex}:"
    return endpoint_limits.RedisLimiter(url, prefix=prefix, window_s=window_s), prefix


def start_callers(
    url: str, prefix: str, base_url: str, *, concurrency: int, calls: int
) -> subprocess.Popen:
    """A process of its own making ``calls`` calls at once through the client, limited by the
    Redis limiter at ``url``/``prefix`` to ``concurrency`` calls at the endpoint."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.llm_agents.limits_support",
            url,
            prefix,
            base_url,
            str(concurrency),
            str(calls),
        ],
        cwd=repo,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def main() -> None:
    url, prefix, base_url, concurrency, calls = sys.argv[1:6]
    endpoint_limits.use(endpoint_limits.RedisLimiter(url, prefix=prefix))
    config = ProviderConfig(
        provider="openai-compatible",
        model="m",
        base_url=base_url,
        limits=endpoint_limits.Limits(concurrency=int(concurrency)),
    )
    errors: list[str] = []

    def one() -> None:
        try:
            client_for(config).complete(REQUEST, deadline=time.monotonic() + 120)
        except Exception as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=one) for _ in range(int(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("errors:", errors, flush=True)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
