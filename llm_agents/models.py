"""Agents: configured LLMs that can hold a seat. API keys never live here, only in the
environment (the variable named by `api_key_env`, or the provider's standard one)."""

from __future__ import annotations

from django.db import models


class Agent(models.Model):
    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        OPENAI_COMPATIBLE = "openai-compatible", "OpenAI-compatible (e.g. vLLM)"

    name = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=30, choices=Provider.choices)
    model = models.CharField(max_length=200)
    base_url = models.URLField(blank=True, help_text="For OpenAI-compatible servers such as vLLM.")
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Environment variable holding the API key."
    )
    sampling = models.JSONField(default=dict, blank=True, help_text='e.g. {"temperature": 0.7}')
    prompt_version = models.CharField(max_length=50, default="v1")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
