"""Background work for both run modes behind one call: `enqueue(task, **kwargs)`.

Production sends the task to Celery workers. Embedded mode runs it on a thread pool inside the web
process, off the request thread, because only that process can reach the in-memory channel layer
(PITFALLS.md). Either way the task is enqueued after the current transaction commits, so it never
runs against rows it cannot see yet.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from celery import Task
from django.conf import settings
from django.db import close_old_connections, connections, transaction

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_pending: set[Future[Any]] = set()


def _start_afresh_after_fork() -> None:
    # A forked child (a test server, a pre-forking server) has the pool without its threads;
    # work handed to it would never run. The child builds its own on first use.
    global _executor, _executor_lock, _pending
    _executor, _executor_lock, _pending = None, threading.Lock(), set()


os.register_at_fork(after_in_child=_start_afresh_after_fork)


def enqueue(task: Task | str, **kwargs: Any) -> None:
    """Run ``task(**kwargs)`` in the background once the current transaction commits. A task
    may be named ("llm_agents.ai_turn"), so that a service never imports the tasks module that
    imports it (tasks are thin wrappers over the services)."""
    transaction.on_commit(lambda: _dispatch(_task(task), kwargs))


def enqueue_later(task: Task | str, delay_s: float, **kwargs: Any) -> None:
    """Like `enqueue`, but run ``delay_s`` seconds after the commit: Celery's countdown, or a
    daemon timer in embedded mode (lost on restart, so callers must tolerate a missed run;
    `wait_for_background` does not wait for it)."""
    transaction.on_commit(lambda: _dispatch_later(_task(task), delay_s, kwargs))


def _task(task: Task | str) -> Task:
    if not isinstance(task, str):
        return task
    from config.celery import app

    if task not in app.tasks:
        app.loader.import_default_modules()  # imports every app's tasks module (autodiscovery)
    return app.tasks[task]


def start_periodic(task: Task, interval_s: float) -> None:
    """Embedded mode's stand-in for Celery beat: run ``task()`` on the thread pool every
    ``interval_s`` seconds from a daemon thread, for as long as the process lives. Production
    schedules the same task with beat (CELERY_BEAT_SCHEDULE)."""

    def loop() -> None:
        while True:
            time.sleep(interval_s)
            try:
                _dispatch(task, {})
            except Exception:  # a sweep that cannot start now runs at the next tick
                logger.exception("Could not start the periodic %s", task.name)

    threading.Thread(target=loop, name=f"periodic-{task.name}", daemon=True).start()


def wait_for_background(timeout: float = 30.0) -> None:
    """Block until in-process background work has finished (tests and management commands)."""
    while True:
        with _executor_lock:
            pending = list(_pending)
        if not pending:
            return
        for future in pending:
            future.result(timeout=timeout)


def _dispatch(task: Task, kwargs: dict[str, Any]) -> None:
    if settings.BACKGROUND_MODE == "celery":
        task.apply_async(kwargs=kwargs)
        return
    future = _get_executor().submit(_run_in_thread, task, kwargs)
    with _executor_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _dispatch_later(task: Task, delay_s: float, kwargs: dict[str, Any]) -> None:
    if settings.BACKGROUND_MODE == "celery":
        task.apply_async(kwargs=kwargs, countdown=delay_s)
        return
    timer = threading.Timer(delay_s, _dispatch, args=(task, kwargs))
    timer.daemon = True  # a pending timer never keeps the process alive
    timer.start()


def _run_in_thread(task: Task, kwargs: dict[str, Any]) -> Any:
    close_old_connections()
    try:
        return task.run(**kwargs)
    except Exception:
        logger.exception("Background task %s failed with %r", task.name, kwargs)
        raise
    finally:
        # The pool thread's own connections: given back (to the pool, on PostgreSQL), never left
        # open by an idle thread (they kept a test database from being dropped).
        connections.close_all()


def _forget(future: Future[Any]) -> None:
    with _executor_lock:
        _pending.discard(future)


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.BACKGROUND_THREADS, thread_name_prefix="background"
            )
        return _executor
