"""Real Celery processes for the fault tests: `celery -A config worker` (and `beat`) started as
subprocesses on the test database (PostgreSQL or the SQLite file) and a redis-server of the
test's own, with this test process publishing its tasks to that Redis too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]
# The worker's options in production (deploy/systemd/debate-worker.service and the README).
WORKER_OPTIONS = ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]


class CeleryProcess:
    """One `celery -A config ...` subprocess, its output kept in a log file for failures."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        command = [sys.executable, "-m", "celery", "-A", "config", *args]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def pool_children(self) -> list[int]:
        """The pool processes of a prefork worker: its child processes (Linux's /proc)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # a process that ended meanwhile
            if int(fields[1]) == self.pid:  # fields: state, ppid, ...
                children.append(int(stat.parent.name))
        return children

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), then SIGKILL for a process that does not go."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def celery_env(broker_url: str, stub_url: str, **extra: str) -> dict[str, str]:
    """Production settings (config.settings) on the test database and ``broker_url``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": broker_url,  # broker, channel layer and cache: all restarted together
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "fault-tests-only-" + "k" * 40,
        "ALLOWED_HOSTS": os.environ.get("ALLOWED_HOSTS") or "localhost",
        "OPENAI_API_KEY": "k",
        "OPENAI_BASE_URL": stub_url + "/v1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    db = django_settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}"
            f"/{db['NAME']}"
        )
    else:  # the SQLite test file, with the production SQLite options (WAL, busy timeout)
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(db["NAME"])
    return env


def start_worker(
    env: dict[str, str], log: Path, *extra: str, pool: str = "prefork", concurrency: int = 1
) -> CeleryProcess:
    """A worker as deploy/systemd/debate-worker.service runs it, with ``pool`` processes."""
    args = ["worker", "--pool", pool, "--concurrency", str(concurrency), *WORKER_OPTIONS]
    return CeleryProcess([*args, *extra], env, log)


def start_beat(env: dict[str, str], log: Path, schedule: Path) -> CeleryProcess:
    return CeleryProcess(["beat", "--loglevel", "INFO", "--schedule", str(schedule)], env, log)


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """Point this process's Celery app (where `enqueue` sends tasks) at ``broker_url``; the
    app's own pools are left open for after."""
    from kombu import pools

    from config.celery import app

    before = (app.conf.broker_url, app._pool, app.amqp._producer_pool)
    app._pool = app.amqp._producer_pool = None
    # Both names: Celery before 5.7 reads the namespaced key first.
    app.conf.broker_url = app.conf.CELERY_BROKER_URL = broker_url
    try:
        yield
    finally:
        mine = [pool for pool in (app._pool, app.amqp._producer_pool) if pool is not None]
        for pool in mine:
            pool.force_close_all()
        for group in (pools.connections, pools.producers):  # kombu's registry keeps pools
            for key, pool in list(group.items()):
                if any(pool is m for m in mine):
                    dict.__delitem__(group, key)  # the key is already kombu's hash
        app.conf.broker_url = app.conf.CELERY_BROKER_URL = before[0]
        app._pool, app.amqp._producer_pool = before[1], before[2]


def wait_until(
    condition: Callable[[], object], message: Callable[[], str] | str, timeout: float = 60
) -> None:
    """Poll ``condition`` until it holds; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(message() if callable(message) else message)
