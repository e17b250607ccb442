"""The WebSocket origin check: a browser's socket is accepted only from the site's own pages.

A browser always sends `Origin` with a WebSocket handshake, and a page of another site can open a
socket to ours carrying our cookies (cross-site WebSocket hijacking), so the origin must be
compared in full: scheme, host and port. Accepted are the request's own origin (the `Host` the
socket was opened on, with `https` when the connection is secure, directly or, behind a proxy,
as `SECURE_PROXY_SSL_HEADER` says) and the origins in `CSRF_TRUSTED_ORIGINS`; the host must also
be one of `ALLOWED_HOSTS`. Anything else, or no `Origin` at all, is refused at the handshake.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


class SameOriginValidator:
    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


def origin_allowed(scope: dict) -> bool:
    headers = {k.decode("latin1").lower(): v.decode("latin1") for k, v in scope.get("headers", [])}
    origin, host = headers.get("origin", ""), headers.get("host", "")
    if not origin or not host:
        return False
    domain, _ = split_domain_port(host)
    if not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    wanted = _canonical(origin)
    if wanted is None:
        return False
    if wanted == _canonical(f"{_scheme(scope, headers)}://{host}"):
        return True
    return wanted in {_canonical(o) for o in settings.CSRF_TRUSTED_ORIGINS}


def _scheme(scope: dict, headers: dict[str, str]) -> str:
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, value = proxy
        header = name.removeprefix("HTTP_").replace("_", "-").lower()
        if headers.get(header, "").lower() == value.lower():
            return "https"
    return "https" if scope.get("scheme") in ("https", "wss") else "http"


def _canonical(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in; None when unreadable."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return (parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))
