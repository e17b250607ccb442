"""A live Daphne process serving the ASGI app (HTTP and WebSocket on one port) against the test
database, for the browser tests and the tests of real sockets. The database must be a file (or
PostgreSQL): the server is a forked process."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    """A Daphne process serving the ASGI app against the test database."""
    from daphne.testing import DaphneProcess
    from django.db import connections

    for connection in connections.all():
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            pytest.fail("browser tests need a file-based test database")
    process = DaphneProcess("127.0.0.1", partial(_application), setup=_in_the_server_process)
    with django_db_blocker.unblock():  # the forked server inherits database access
        # Nothing open may cross the fork: a shared SQLite handle corrupts the file, and a
        # PostgreSQL pool's sockets used from both processes hang (seen as a stuck TRUNCATE).
        for connection in connections.all():
            connection.close()
            if getattr(connection, "pool", None) is not None:
                connection.close_pool()
        process.start()
    if not process.ready.wait(timeout=30):
        process.terminate()
        pytest.fail("the live Daphne server did not start within 30 s")
    yield f"http://127.0.0.1:{process.port.value}"
    process.terminate()
    process.join(timeout=10)


def _application():
    # Module-level so the server process can build it after fork.
    from channels.routing import get_default_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    return ASGIStaticFilesHandler(get_default_application())


def _in_the_server_process() -> None:
    _fresh_thread_pools()
    _use_test_database()


def _fresh_thread_pools() -> None:
    """A forked child has the parent's thread pools without their threads: a pool that had an
    idle thread hands it work that never runs (a socket's connect then hangs until Daphne's
    handshake timeout closes it). The pools the server uses start afresh."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync

    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


def _use_test_database() -> None:
    from django.conf import settings
    from django.db.backends.base.creation import TEST_DATABASE_PREFIX

    database = settings.DATABASES["default"]
    test_name = database.get("TEST", {}).get("NAME")
    if test_name:
        database["NAME"] = test_name
    elif not database["NAME"].startswith(TEST_DATABASE_PREFIX):  # a forked child has it already
        database["NAME"] = TEST_DATABASE_PREFIX + database["NAME"]
