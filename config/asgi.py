"""ASGI entry point: HTTP through Django, WebSockets through Channels, on one port."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # set up Django before importing consumers

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config import websocket_limits  # noqa: E402
from config.websocket_origin import SameOriginValidator  # noqa: E402
from debate.routing import websocket_urlpatterns  # noqa: E402

websocket_limits.install()


def _start_embedded_periodic_work() -> None:
    from django.conf import settings

    if settings.BACKGROUND_MODE == "inprocess" and settings.EMBEDDED_PERIODIC:
        from config.background import start_periodic
        from llm_agents.tasks import ai_turns_sweep

        start_periodic(ai_turns_sweep, settings.AI_TURN_SWEEP_S)


_start_embedded_periodic_work()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
