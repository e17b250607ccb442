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


# (format, anonymised, what the action says): each an action of the session admin
EXPORTS = [
    ("jsonl", False, "Export selected sessions as JSON lines"),
    ("csv", False, "Export selected sessions as CSV"),
    ("nyu", False, "Export selected sessions as NYU debate files (zip)"),
    ("jsonl", True, "Export selected sessions as JSON lines, anonymised"),
    ("csv", True, "Export selected sessions as CSV, anonymised"),
    ("nyu", True, "Export selected sessions as NYU debate files (zip), anonymised"),
]


def _export_action(fmt: str, anonymize: bool, description: str):
    """The admin action that downloads the selection in ``fmt`` (named export_<fmt>, with
    _anonymized when it is)."""

    @admin.action(description=description)
    def action(modeladmin, request, queryset):
        return _download(queryset, fmt, anonymize=anonymize)

    action.__name__ = f"export_{fmt}{'_anonymized' if anonymize else ''}"
    return action


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


class SessionWithExportsAdmin(SessionAdmin):
    """The protocol app's session admin with this app's exports among its actions."""

    actions = [*SessionAdmin.actions, *(_export_action(*each) for each in EXPORTS)]


admin.site.unregister(Session)
admin.site.register(Session, SessionWithExportsAdmin)
