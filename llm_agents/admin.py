from django.contrib import admin

from llm_agents.models import Agent


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "model", "base_url", "prompt_version")
    list_filter = ("provider",)
    search_fields = ("name", "model")
