"""Staff pages for batch runs (the list, and one batch's progress, refreshed live by htmx), and
staff's retry of a session's failed AI turn."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from config.http import Request, SignedInRequest
from debate.access import staff_required
from debate.models import Session
from debate.views import session_list_context
from llm_agents.batches import batch_endpoints, batch_summary
from llm_agents.models import BatchRun
from llm_agents.services import ai_turn_retry


@require_GET
@staff_required
def batch_list(request: Request) -> HttpResponse:
    batches = [(b, batch_summary(b)) for b in BatchRun.objects.all()[:100]]
    return render(request, "llm_agents/batch_list.html", {"batches": batches})


@require_GET
@staff_required
def batch_detail(request: Request, batch_id: str) -> HttpResponse:
    """A batch's progress, its endpoints' throughput, errors and spend (every worker's calls), and
    its sessions (filtered by status, paged); htmx polls the live part while the batch runs."""
    batch = get_object_or_404(BatchRun, batch_id=batch_id)
    context = {
        "batch": batch,
        "summary": batch_summary(batch),
        "endpoints": batch_endpoints(batch),
        **session_list_context(request, within=Session.objects.filter(batch_link__batch=batch)),
    }
    template = "llm_agents/_batch_live.html" if request.htmx else "llm_agents/batch_detail.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
@staff_required
def turn_retry(request: SignedInRequest, session_id: int) -> HttpResponse:
    """Staff: try a session's failed AI turn again (the button its page shows staff)."""
    session = get_object_or_404(Session, pk=session_id)
    ai_turn_retry(session=session, actor=request.user)
    messages.success(request, "Retrying the failed AI turn.")
    return redirect("debate:session", session_id=session.pk)
