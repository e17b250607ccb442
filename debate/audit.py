"""The audit trail: every move, edit and staff action as an `AuditEvent` (who, when, what, the
state before and after). Events are only added, never changed, so a correction is history too.

Services call `audit_record` inside their own transaction, so an event exists exactly when its
change does; the admin records edits through `AuditedAdmin`.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.forms.models import model_to_dict

from debate.models import AuditEvent, Session


def audit_record(
    *,
    action: str,
    actor=None,
    via: str = "",
    session: Session | int | None = None,
    target: models.Model | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Add one event. ``before``/``after`` may be model instances (stored as their fields) or
    plain data."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        via=via,
        action=action,
        session_id=session.pk if isinstance(session, Session) else session,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        before=_plain(before),
        after=_plain(after),
    )


def actor_of(seat) -> dict[str, Any]:
    """Who makes a seat's moves, as `audit_record` arguments: its user, or its agent."""
    return {"actor": seat.user} if seat.user_id else {"via": f"agent:{seat.ai_player}"[:100]}


def snapshot(instance: models.Model | None) -> dict[str, Any] | None:
    """A model instance's fields as JSON-safe data (what `before` and `after` hold)."""
    if instance is None:
        return None
    return _plain(model_to_dict(instance))


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        value = model_to_dict(value)
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))
