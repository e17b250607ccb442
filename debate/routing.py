from django.urls import path

from debate.consumers import LobbyConsumer, RoomConsumer, SessionConsumer

websocket_urlpatterns = [
    path("ws/sessions/<int:session_id>/", SessionConsumer.as_asgi()),
    path("ws/sessions/<int:session_id>/room/", RoomConsumer.as_asgi()),
    path("ws/lobby/", LobbyConsumer.as_asgi()),
]
