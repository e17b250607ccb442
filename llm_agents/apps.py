from django.apps import AppConfig


class LlmAgentsConfig(AppConfig):
    name = "llm_agents"
    verbose_name = "LLM agents"

    def ready(self) -> None:
        from debate import events
        from llm_agents.services import ai_turns_after_change

        events.on_change(ai_turns_after_change)  # the AI seats react like any seat
