"""A write that cannot get the database in time is a 503 with a message and a retry, never a 500.

SQLite (the embedded mode) lets one writer at a time; a request that waited its whole busy timeout
(`OPTIONS["timeout"]`, 20 s) for the lock fails with "database is locked". PostgreSQL may refuse
a connection when its pool is exhausted. Either way nothing was saved (the transaction rolled
back), so the person is told the platform is busy and to try again, with `Retry-After`, and what
they typed stays in the form (drafts are saved as they type)."""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

BUSY_MARKERS = ("database is locked", "database table is locked", "couldn't get a connection")
RETRY_AFTER_S = 2


def is_busy(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, OperationalError) and any(m in text for m in BUSY_MARKERS)


class BusyDatabase:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_busy(exception):
            return None
        logger.warning("Busy database on %s %s: %s", request.method, request.path, exception)
        try:
            body: str = render_to_string(
                "busy.html", {"retry_after": RETRY_AFTER_S}, request=request
            )
            content_type = "text/html; charset=utf-8"
        except Exception:  # the page itself needs what failed (or a static manifest): plain text
            logger.exception("Could not render the busy page")
            body = f"The platform is busy and nothing was saved. Try again in {RETRY_AFTER_S} s."
            content_type = "text/plain; charset=utf-8"
        response = HttpResponse(body, status=503, content_type=content_type)
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
