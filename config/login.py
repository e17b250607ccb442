"""Logging in, with failed attempts limited: after LOGIN_FAILURE_LIMIT failed passwords for one
username from one address within LOGIN_LOCKOUT_S seconds (or LOGIN_FAILURE_LIMIT_PER_ADDRESS
from one address for any usernames), further attempts are refused for the rest of that time
with HTTP 429 and a message saying what to do, without the password even being checked. A
successful login clears the count for that username and address. Both login pages (the site's
and the admin's) go through `throttled`. Counts live in the cache (Redis in production, shared
by every process; memory in embedded mode)."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

logger = logging.getLogger(__name__)


def throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """`view`, a login view, with failed attempts counted and limited."""

    def login(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        username = request.POST.get("username", "")
        keys = _keys(request, username)
        wait = _locked_for(keys)
        if wait:
            context = {
                "form": AuthenticationForm(request, initial={"username": username}),
                "locked_minutes": math.ceil(wait / 60),
                "next": request.POST.get("next", ""),
            }
            return render(request, "registration/login.html", context, status=429)
        response = view(request, *args, **kwargs)
        if request.user.is_authenticated:
            cache.delete(keys[0])
        else:
            _count_failure(keys)
        return response

    return login


login_view = throttled(LoginView.as_view())


def _keys(request: HttpRequest, username: str) -> tuple[str, str]:
    address = request.META.get("REMOTE_ADDR", "")
    who = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()[:32]
    return (f"login-failures:{who}", f"login-failures-address:{address}")


def _limits() -> tuple[int, int]:
    return settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS


def _locked_for(keys: tuple[str, str]) -> float:
    """Seconds left of a lockout on either key; 0 when not locked."""
    now = time.time()
    left = 0.0
    for key, limit in zip(keys, _limits(), strict=True):
        record = cache.get(key)
        if record and record["count"] >= limit:
            left = max(left, record["since"] + settings.LOGIN_LOCKOUT_S - now)
    return max(left, 0.0)


def _count_failure(keys: tuple[str, str]) -> None:
    now = time.time()
    for key, limit in zip(keys, _limits(), strict=True):
        record = cache.get(key) or {"count": 0, "since": now}
        if now - record["since"] > settings.LOGIN_LOCKOUT_S:
            record = {"count": 0, "since": now}
        record["count"] += 1
        if record["count"] >= limit:
            record["since"] = now  # the lockout runs from the attempt that reached the limit
            if record["count"] == limit:
                logger.warning(
                    "Logins locked for %s s after %s failed attempts (%s)",
                    settings.LOGIN_LOCKOUT_S,
                    limit,
                    "one username from one address" if key == keys[0] else "one address",
                )
        cache.set(key, record, timeout=settings.LOGIN_LOCKOUT_S)
