"""One worker process of a multi-process batch run (`llm_agents.batches.batch_run` with
processes > 1).

The process is forked when the parent runs no other thread (instant: Django and the SDKs are
already imported), else spawned, so that it never inherits a lock held by a thread it does not
have. A spawned process imports this module before Django is set up, so nothing here imports
models at import time: `start` sets Django up first, on the parent's database.

A worker dies with its parent: a parent killed outright (kill -9) cannot stop it, and a worker
left running would go on calling (and billing) the provider and race the resume that follows.
On Linux the kernel kills it (PR_SET_PDEATHSIG); everywhere, a thread watching the parent ends
the process at once when it is gone.
"""

from __future__ import annotations

import os
import sys
import threading
import time

PARENT_CHECK_S = 0.2  # how often the watcher looks for the parent (a check costs a system call)

_stop = None  # the parent's stop event, handed over when the process starts


def start(database: str, stop, parent_pid: int) -> None:
    """Process initializer. Ctrl-C is left to the parent, which stops the workers through
    `stop` after their turns in flight."""
    import signal

    import django
    from django.conf import settings

    global _stop
    _stop = stop
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    django.setup()
    settings.DATABASES["default"]["NAME"] = database


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as the process `parent_pid` (its parent) is gone."""
    if sys.platform.startswith("linux"):
        _kernel_kills_on_parent_death()
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before we got here
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True
    ).start()


def run_share(batch_pk: int, share: list[int], threads: int) -> bool:
    """Play the sessions in `share` with `threads` threads; True if the budget ran out."""
    from django.db import close_old_connections

    from llm_agents.batches import _play_sessions, long_lived_code_frozen
    from llm_agents.models import BatchRun

    long_lived_code_frozen()

    try:
        return _play_sessions(BatchRun.objects.get(pk=batch_pk), share, threads, _stop, None)
    finally:
        close_old_connections()


def _kernel_kills_on_parent_death() -> None:
    """prctl(PR_SET_PDEATHSIG, SIGKILL). (The kernel sends it when the parent's thread that
    started this process ends: batch_run's thread waits for its workers, so that is the parent's
    end.)"""
    import ctypes
    import signal

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl here: the watcher thread still ends the process


def _watch_parent(parent_pid: int) -> None:
    # An orphan is re-parented (to init or a subreaper), so a changed parent id means ours died.
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)
