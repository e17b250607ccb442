"""Template helpers for the analysis pages: settings named in words."""

from __future__ import annotations

from django import template

from judging.metrics import setting_label as label_of

register = template.Library()


@register.filter
def setting_label(key: str) -> str:
    return label_of(key)
