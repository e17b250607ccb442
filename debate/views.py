"""HTTP views: thin edges that call one selector or service and render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from debate.models import Session
from debate.selectors import platform_counts, session_for_viewer
from debate.visibility import view_for, view_to_dict


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "debate/home.html", {"counts": platform_counts()})


@require_GET
@login_required
def session_view_json(request: HttpRequest, session_id: int) -> JsonResponse:
    """The requesting seat's view of a session as JSON: exactly what its page may show."""
    try:
        session, seat = session_for_viewer(session_id=session_id, user=request.user)
    except Session.DoesNotExist as error:
        raise Http404("No such session.") from error
    return JsonResponse(view_to_dict(view_for(seat, session)))
