from django.apps import AppConfig


class JudgingConfig(AppConfig):
    name = "judging"
    verbose_name = "Judging"

    def ready(self) -> None:
        from debate.staff_panels import staff_panel_register
        from judging.views import staff_session_panel

        staff_panel_register(template="judging/_session_staff.html", build=staff_session_panel)
