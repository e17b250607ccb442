"""Panels that the apps above the protocol app add to a session's page for staff (the judging
app's figures, score and error tags), registered in their `AppConfig.ready()` so that this app
imports none of them. A panel is a template and the context it reads, built from the session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from debate.models import Session


@dataclass(frozen=True)
class StaffPanel:
    template: str  # included with the built context as ``staff_panel``
    build: Callable[[Session], dict[str, Any]]


_panels: list[StaffPanel] = []


def staff_panel_register(*, template: str, build: Callable[[Session], dict[str, Any]]) -> None:
    """Add a panel to every session's staff view (once per template)."""
    if all(panel.template != template for panel in _panels):
        _panels.append(StaffPanel(template, build))


def staff_panels_for(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """The registered panels of ``session``'s staff view, in registration order, each as its
    template and context."""
    return [(panel.template, panel.build(session)) for panel in _panels]
