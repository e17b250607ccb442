"""The AIs that may hold seats, as the protocol app sees them: something with a name that can take
a seat. The AI app's agents are they (`llm_agents.models.Agent`); it registers how to find them
and how a seat is let go in its `AppConfig.ready()`, so that this app imports nothing above it.
A seat records only that an AI holds it, by the name it had then (`Seat.ai_player`); which agent
it is, is the AI app's link (`llm_agents.models.SeatAgent`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from debate.models import Seat


class AIHolder(Protocol):
    """An AI that can hold seats."""

    @property
    def pk(self) -> Any: ...

    name: str

    def seat_take(self, seat: Seat) -> None:
        """Become ``seat``'s holder (in the caller's transaction)."""


@dataclass
class _Registry:
    find: Callable[[], Sequence[AIHolder]] | None = None
    release: Callable[[Seat], None] | None = None


_registry = _Registry()


def ai_holders_register(
    *, find: Callable[[], Sequence[AIHolder]], release: Callable[[Seat], None]
) -> None:
    """The AI app's: ``find`` lists every AI that may hold a seat, by name; ``release`` drops the
    link of a seat an AI no longer holds."""
    _registry.find, _registry.release = find, release


def ai_holders() -> list[AIHolder]:
    """Every AI that may hold a seat, by name (none when no AI app is installed)."""
    return list(_registry.find()) if _registry.find is not None else []


def ai_holder_named(name: str) -> AIHolder | None:
    return next((holder for holder in ai_holders() if holder.name == name), None)


def ai_holder_release(seat: Seat) -> None:
    """Let the AI app drop its link of ``seat``, which a person now holds."""
    if _registry.release is not None:
        _registry.release(seat)
