from django.apps import AppConfig


class DebateConfig(AppConfig):
    name = "debate"
    verbose_name = "Debates and consultancies"

    def ready(self) -> None:
        from debate import events
        from debate.notifications import notifications_after_change

        # Before the push, so that the pushed lobbies list the new notifications.
        events.on_change(notifications_after_change, before_push=True)
