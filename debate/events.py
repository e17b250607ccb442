"""Real-time events: after a change commits, tell every process serving the session.

Zulip's rule: a state change and its event go together, the event strictly after the commit, so a
listener that re-reads the database always finds the change. Group names are built from ids only.

This module knows no app above it: whatever else must happen after a change subscribes in its
app's `AppConfig.ready()` with `on_change` (the lobby's notifications, before the push, so that
the pushed lobbies list them; the AI turns, after it). A subscriber that fails is logged and
never undoes the committed change.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SESSION_CHANGED = "session.changed"


LOBBY_CHANGED = "lobby.changed"
STAFF_GROUP = "lobby-staff"


@dataclass(frozen=True)
class Change:
    """What a subscriber is told after a change commits: the session, who holds its seats (the
    people, and whether any seat is an agent's), and, when the service that made the change
    computed it, the session's state just after it (a subscriber that must not act on a state
    another change has since replaced re-reads it under the session's lock)."""

    session_id: int
    user_ids: frozenset[int]
    has_agents: bool = False
    state: Any = None  # debate.protocol.State
    version: Any = None  # the session's updated_at as the change left it, with ``state``


Subscriber = Callable[[Change], None]
_before_push: list[Subscriber] = []
_after_push: list[Subscriber] = []


def on_change(subscriber: Subscriber, *, before_push: bool = False) -> None:
    """Call ``subscriber`` after every committed change of a session (once per subscriber)."""
    chosen = _before_push if before_push else _after_push
    if subscriber not in chosen:
        chosen.append(subscriber)


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


def user_group(user_id: int) -> str:
    """Every open lobby page of one user."""
    return f"lobby-user-{user_id}"


def announce_session_changed(
    session_id: int, former_holders: Iterable[int] = (), *, state: Any = None, version: Any = None
) -> None:
    """Once the current transaction commits: broadcast "session changed" to the session's rooms
    and its holders' lobbies (and those of ``former_holders``, people whose seat was just given
    to someone else), and tell the subscribers (``state``: the session's state after the
    change, when the caller has it)."""
    former = set(former_holders)
    transaction.on_commit(lambda: _after_commit(session_id, former, state, version))


def _after_commit(
    session_id: int, former: Set[int] = frozenset(), state: Any = None, version: Any = None
) -> None:
    from debate.models import Seat

    # The seats' holders, read once for the subscribers and the pushes.
    holders = list(Seat.objects.filter(session_id=session_id).values_list("user_id", "ai_player"))
    user_ids = {user for user, _ in holders if user is not None}
    has_agents = any(ai_player for _, ai_player in holders)
    change = Change(session_id, frozenset(user_ids), has_agents, state, version)
    _tell(_before_push, change)
    _broadcast(session_id, user_ids | former)
    _tell(_after_push, change)


def _tell(subscribers: list[Subscriber], change: Change) -> None:
    for subscriber in subscribers:
        try:
            subscriber(change)
        except Exception:  # a subscriber must never undo a committed move
            logger.exception(
                "%s failed after a change to session %s",
                getattr(subscriber, "__qualname__", subscriber),
                change.session_id,
            )


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
