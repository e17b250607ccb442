"""Requests refused before any view runs, each with a clear 4xx and nothing saved:

- a body that is not a form (JSON, XML, text) sent to a page that takes forms: 415. No view of
  the platform takes another kind of body (the JSON views are read-only GETs), so without this
  a JSON body would read as an empty form, and e.g. a speech as an empty speech;
- a field (name or value, query string or form) holding a character no text may hold
  (debate/text_checks.py: NUL, bidirectional controls): 400, naming the field.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from debate.text_checks import text_problem

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseUnreadableInput:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH") and _has_body(request):
            kind = request.content_type or "(none given)"
            if kind not in FORM_TYPES:
                return _refused(
                    request,
                    415,
                    f"This page takes a form (application/x-www-form-urlencoded or "
                    f"multipart/form-data), not {kind}. Nothing was saved.",
                )
        for source, name in ((request.GET, "the address"), (request.POST, "the form")):
            for key, values in source.lists():
                for text in (key, *values):
                    problem = text_problem(text, f"The field “{_shown(key)}” of {name}")
                    if problem:
                        return _refused(request, 400, problem + " Nothing was saved.")
        return self.get_response(request)


def _has_body(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return True


def _shown(key: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in key)[:60]


def _refused(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.headers.get("HX-Request") or not request.accepts("text/html"):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    page = render_to_string("refused.html", {"message": message, "status": status}, request)
    return HttpResponse(page, status=status)
