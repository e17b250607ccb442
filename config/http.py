"""Requests as our middleware leaves them, for the type checker: django-htmx's details on every
request, and the signed-in user on the views that require one (`login_required`,
`staff_required`). Annotations only: nothing here changes a request."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class Request(HttpRequest):
    htmx: HtmxDetails


class SignedInRequest(Request):
    user: User
