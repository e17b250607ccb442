from django.contrib import admin

from debate.admin import AuditedAdmin, HistoryReadOnly
from judging.models import ErrorCategory, ErrorTag, Judgment, SurveyQuestion, SurveyResponse


@admin.register(Judgment)
class JudgmentAdmin(HistoryReadOnly, AuditedAdmin):
    list_display = ("session", "round", "seat", "kind", "probabilities", "end", "created_at")
    list_filter = ("kind", "end")
    list_select_related = ("session", "round", "seat")
    search_fields = ("text",)


@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(AuditedAdmin):
    list_display = ("position", "key", "kind", "roles", "required", "active", "text")
    list_display_links = ("key",)
    list_editable = ("position", "required", "active")
    list_filter = ("kind", "active")
    search_fields = ("key", "text")


@admin.register(SurveyResponse)
class SurveyResponseAdmin(AuditedAdmin):
    list_display = ("seat", "submitted_at")
    list_select_related = ("seat__session",)
    readonly_fields = ("seat", "answers", "submitted_at")  # a submitted survey never changes


@admin.register(ErrorCategory)
class ErrorCategoryAdmin(AuditedAdmin):
    list_display = ("position", "name", "active", "description")
    list_display_links = ("name",)
    list_editable = ("position", "active")
    search_fields = ("name", "description")


@admin.register(ErrorTag)
class ErrorTagAdmin(HistoryReadOnly, AuditedAdmin):
    """Shown here; tagged (and retagged) on the session's page, through the service that keeps
    the rule (only sessions the judge got wrong are tagged)."""

    list_display = ("session", "category", "tagged_by", "created_at")
    list_filter = ("category",)
    list_select_related = ("session", "category", "tagged_by")
