from django.apps import AppConfig


class LlmAgentsConfig(AppConfig):
    name = "llm_agents"
    verbose_name = "LLM agents"

    def ready(self) -> None:
        from debate import events
        from debate.ai_holders import ai_holders_register
        from llm_agents.models import Agent, seat_release
        from llm_agents.services import ai_turns_after_change

        events.on_change(ai_turns_after_change)  # the AI seats react like any seat
        # The agents are the AIs that may hold seats (forms, the scheduler, the admin).
        ai_holders_register(find=lambda: list(Agent.objects.order_by("name")), release=seat_release)
