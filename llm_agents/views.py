"""Staff pages for batch runs: the list, and one batch's progress (refreshed live by htmx)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from config.http import Request
from debate.access import staff_required
from debate.views import session_list_context
from llm_agents.batches import batch_endpoints, batch_summary
from llm_agents.models import BatchRun


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
        **session_list_context(request, batch=batch),
    }
    template = "llm_agents/_batch_live.html" if request.htmx else "llm_agents/batch_detail.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
