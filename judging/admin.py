from django.contrib import admin

from judging.models import Judgment


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ("session", "round", "seat", "kind", "probabilities", "end", "created_at")
    list_filter = ("kind", "end")
    list_select_related = ("session", "round", "seat")
    search_fields = ("text",)
