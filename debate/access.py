"""Who may open staff pages: staff. A participant who opens one gets the site's own 403 page
(saying the page is for study staff), never the admin's login form; someone not logged in is
sent to log in.

And who may keep a stream: a WebSocket is opened by a signed-in person, and keeps receiving only
while they still are (`stream_still_signed_in`: their login session exists and still belongs to
them, their account is active) and, for staff streams, still staff."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("This page is for study staff.")
        return view(request, *args, **kwargs)

    return wrapped


def stream_still_signed_in(scope: dict):
    """The person a socket was opened for, read afresh, if they are still signed in as
    themselves (the connection's login session still exists and names them: logging out, or a
    password change, ends it; their account is active); else None. A scope given a user
    directly, without a login session (in-process tests), is checked for the account only."""
    from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.utils.crypto import constant_time_compare

    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    current = get_user_model().objects.filter(pk=user.pk, is_active=True).first()
    if current is None:
        return None
    session = scope.get("session")
    key = getattr(session, "session_key", None) if session is not None else None
    if key is None:
        return current
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    data = store.load()
    if str(data.get(SESSION_KEY)) != str(user.pk):
        return None
    stored_hash = data.get(HASH_SESSION_KEY)
    if not stored_hash or not constant_time_compare(stored_hash, current.get_session_auth_hash()):
        return None
    return current


def stream_still_staff(scope: dict) -> bool:
    from django.contrib.auth import get_user_model

    user = scope.get("user")
    if user is None:
        return False
    return get_user_model().objects.filter(pk=user.pk, is_active=True, is_staff=True).exists()
