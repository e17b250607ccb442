"""The one vocabulary for refusals. A service that refuses a request raises `ServiceError` with a
message in the participant's words and, where it concerns particular form fields, which; edges
(views, the admin, commands) catch `ServiceError`, never a bare ValueError, and show the message
beside the field. `debate.services.MoveRejected` (a move the protocol refuses) is one kind.

It is a ValueError too, so callers written against "a bad value" keep working."""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(ValueError):
    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
