"""One worker process of a multi-process batch run (`llm_agents.batches.batch_run` with
processes > 1).

The process is forked when the parent runs no other thread (instant: Django and the SDKs are
already imported), else spawned, so that it never inherits a lock held by a thread it does not
have. A spawned process imports this module before Django is set up, so nothing here imports
models at import time: `start` sets Django up first, on the parent's database.
"""

from __future__ import annotations

_stop = None  # the parent's stop event, handed over when the process starts


def start(database: str, stop) -> None:
    """Process initializer. Ctrl-C is left to the parent, which stops the workers through
    `stop` after their turns in flight."""
    import signal

    import django
    from django.conf import settings

    global _stop
    _stop = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    django.setup()
    settings.DATABASES["default"]["NAME"] = database


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
