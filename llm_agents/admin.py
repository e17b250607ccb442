from django.contrib import admin

from debate.admin import AuditedAdmin
from llm_agents.models import Agent, AITurn, LLMCall


@admin.register(Agent)
class AgentAdmin(AuditedAdmin):
    list_display = (
        "name",
        "provider",
        "model",
        "base_url",
        "replica_urls",
        "max_concurrency",
        "requests_per_minute",
        "tokens_per_minute",
        "prompt_version",
        "strategy",
        "timeout_s",
    )
    list_filter = ("provider",)
    search_fields = ("name", "model")


@admin.register(LLMCall)
class LLMCallAdmin(AuditedAdmin):
    """Staff read every call in full: prompt, reply (hidden reasoning included), tokens, cost."""

    list_display = (
        "created_at",
        "agent",
        "session",
        "turn_key",
        "strategy",
        "purpose",
        "candidate_index",
        "score",
        "served_by",
        "input_tokens",
        "cached_input_tokens",
        "cache_write_input_tokens",
        "output_tokens",
        "latency_ms",
        "retries",
        "cost_usd",
        "cache_saving_usd",
        "error",
    )
    list_filter = ("agent", "prompt_version", "strategy", "purpose")
    list_select_related = ("agent", "session")
    readonly_fields = [f.name for f in LLMCall._meta.fields]


@admin.register(AITurn)
class AITurnAdmin(AuditedAdmin):
    list_display = (
        "session",
        "seat",
        "turn_key",
        "status",
        "attempts",
        "lease_until",
        "error",
        "updated_at",
    )
    list_filter = ("status",)
    actions = ["retry"]

    @admin.action(description="Retry the failed or stuck turn of these sessions")
    def retry(self, request, queryset):
        from llm_agents.services import ai_turn_retry

        for turn in queryset.exclude(status=AITurn.Status.DONE).select_related("session"):
            ai_turn_retry(session=turn.session)
