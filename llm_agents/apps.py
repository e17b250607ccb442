from django.apps import AppConfig


class LlmAgentsConfig(AppConfig):
    name = "llm_agents"
    verbose_name = "LLM agents"
