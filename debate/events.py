"""Real-time events: after a change commits, tell every process serving the session.

Zulip's rule: a state change and its event go together, the event strictly after the commit, so a
listener that re-reads the database always finds the change. Group names are built from ids only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SESSION_CHANGED = "session.changed"


LOBBY_CHANGED = "lobby.changed"
STAFF_GROUP = "lobby-staff"


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


def user_group(user_id: int) -> str:
    """Every open lobby page of one user."""
    return f"lobby-user-{user_id}"


def announce_session_changed(session_id: int, former_holders: Iterable[int] = ()) -> None:
    """Once the current transaction commits: broadcast "session changed" to the session's rooms
    and its holders' lobbies (and those of ``former_holders``, people whose seat was just given
    to someone else), and start any AI turn now due."""
    former = set(former_holders)
    transaction.on_commit(lambda: _after_commit(session_id, former))


def _after_commit(session_id: int, former: set[int] = frozenset()) -> None:
    from debate.models import Seat

    # The people holding seats, read once for the notifications and the pushes.
    user_ids = set(
        Seat.objects.filter(session_id=session_id, user__isnull=False).values_list(
            "user_id", flat=True
        )
    )
    if user_ids:  # agents only (batch runs): nobody to notify
        try:  # before the push, so that the pushed lobbies list the new notifications
            from debate.notifications import notifications_for_changes

            notifications_for_changes(session_id)
        except Exception:  # a notification must never undo a committed move
            logger.exception("Could not update notifications for session %s", session_id)
    _broadcast(session_id, user_ids | former)
    from llm_agents.services import ai_turns_schedule  # the AI seats react like any seat

    try:
        ai_turns_schedule(session_id)
    except Exception:  # scheduling must never undo a committed move; staff can retry
        logger.exception("Could not schedule AI turns for session %s", session_id)


def _broadcast(session_id: int, user_ids: set[int]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # One version per broadcast lets every consumer in a process share one snapshot of the change.
    version = uuid.uuid4().hex
    messages = [
        (
            session_group(session_id),
            {"type": SESSION_CHANGED, "session_id": session_id, "version": version},
        )
    ]
    messages += [(user_group(uid), {"type": LOBBY_CHANGED}) for uid in user_ids]
    messages.append((STAFF_GROUP, {"type": LOBBY_CHANGED}))
    try:
        async_to_sync(_send_all)(layer, messages)
    except Exception:  # a lost push must never undo a committed move; pages catch up on reconnect
        logger.exception("Could not announce a change to session %s", session_id)


async def _send_all(layer, messages: list[tuple[str, dict]]) -> None:
    for group, message in messages:
        await layer.group_send(group, message)
