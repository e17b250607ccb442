"""Real-time events: after a change commits, tell every process serving the session.

Zulip's rule: a state change and its event go together, the event strictly after the commit, so a
listener that re-reads the database always finds the change. Group names are built from ids only.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SESSION_CHANGED = "session.changed"


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


def announce_session_changed(session_id: int) -> None:
    """Broadcast "session changed" once the current transaction commits."""
    transaction.on_commit(lambda: _broadcast(session_id))


def _broadcast(session_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            session_group(session_id), {"type": SESSION_CHANGED, "session_id": session_id}
        )
    except Exception:  # a lost push must never undo a committed move; pages catch up on reconnect
        logger.exception("Could not announce a change to session %s", session_id)
