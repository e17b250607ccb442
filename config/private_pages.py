"""A signed-in person's pages are theirs alone: never stored by a shared cache or the browser's
back-forward cache for the next person at the same computer. Every response to a signed-in
request (rooms, per-seat JSON, partials, the lobby, staff pages) gets
`Cache-Control: private, no-store` (and the rest of Django's never-cache headers), unless the
view set its own caching."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class PrivatePages:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
