import io
import tempfile
from pathlib import Path

from django.contrib import admin
from django.http import FileResponse, HttpResponse
from django.utils import timezone

from debate.admin import AuditedAdmin, HistoryReadOnly, SessionAdmin
from debate.models import Session
from judging.export import export_sessions
from judging.models import ErrorCategory, ErrorTag, SurveyQuestion, SurveyResponse


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


class SessionWithExportsAdmin(SessionAdmin):
    """The protocol app's session admin with this app's exports among its actions."""

    actions = [
        *SessionAdmin.actions,
        "export_jsonl",
        "export_csv",
        "export_nyu",
        "export_jsonl_anonymized",
        "export_csv_anonymized",
        "export_nyu_anonymized",
    ]

    @admin.action(description="Export selected sessions as JSON lines")
    def export_jsonl(self, request, queryset):
        return _download(queryset, "jsonl", anonymize=False)

    @admin.action(description="Export selected sessions as CSV")
    def export_csv(self, request, queryset):
        return _download(queryset, "csv", anonymize=False)

    @admin.action(description="Export selected sessions as NYU debate files (zip)")
    def export_nyu(self, request, queryset):
        return _download(queryset, "nyu", anonymize=False)

    @admin.action(description="Export selected sessions as JSON lines, anonymised")
    def export_jsonl_anonymized(self, request, queryset):
        return _download(queryset, "jsonl", anonymize=True)

    @admin.action(description="Export selected sessions as CSV, anonymised")
    def export_csv_anonymized(self, request, queryset):
        return _download(queryset, "csv", anonymize=True)

    @admin.action(description="Export selected sessions as NYU debate files (zip), anonymised")
    def export_nyu_anonymized(self, request, queryset):
        return _download(queryset, "nyu", anonymize=True)


def _download(queryset, fmt: str, *, anonymize: bool):
    """The export of the admin's selection as a file download."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    sessions = Session.objects.filter(pk__in=queryset.values("pk")).order_by("pk")
    if fmt == "nyu":
        target = Path(tempfile.mkdtemp()) / f"sessions-{stamp}.zip"
        export_sessions(sessions=sessions, fmt=fmt, out=target, anonymize=anonymize)
        handle = target.open("rb")
        target.unlink()  # the open handle keeps the data until the response is sent
        target.parent.rmdir()
        return FileResponse(handle, as_attachment=True, filename=target.name)
    stream = io.StringIO()
    export_sessions(sessions=sessions, fmt=fmt, out=stream, anonymize=anonymize)
    content_type = "text/csv" if fmt == "csv" else "application/jsonl"
    response = HttpResponse(stream.getvalue(), content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sessions-{stamp}.{fmt}"'
    return response


admin.site.unregister(Session)
admin.site.register(Session, SessionWithExportsAdmin)
