"""The staff page that schedules study sessions: the first submit previews the plan (seats,
reasons, problems); "Create these sessions" re-posts the same inputs with ``confirm=1`` and the
previewed plan's fingerprint, so what is written is what was shown."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.http import SignedInRequest
from debate.access import staff_required
from debate.scheduling.forms import ReadingForm, ScheduleForm
from debate.scheduling.services import ScheduleRefused, schedule_create, schedule_preview
from debate.services import reading_mark


@require_http_methods(["GET", "POST"])
@staff_required
def schedule(request: SignedInRequest) -> HttpResponse:
    form = ScheduleForm(request.POST or None)
    context: dict = {"form": form, "reading_form": ReadingForm()}
    status = 422 if form.is_bound and not form.is_valid() else 200
    if form.is_bound and form.is_valid():
        context["inputs"] = [
            (name, value) for name in form.fields for value in request.POST.getlist(name)
        ]
        context["partial"] = form.cleaned_data["partial"]
        if request.POST.get("confirm") == "1":
            try:
                result = schedule_create(
                    **form.plan_inputs(),
                    rules=form.rules(),
                    partial=form.cleaned_data["partial"],
                    expected_fingerprint=request.POST.get("plan", ""),
                    actor=request.user,
                    via="page:schedule",
                )
            except ScheduleRefused as refused:
                context.update(plan=refused.plan, refused=refused.message)
                status = 409
            else:
                ids = ", ".join(f"#{s.pk}" for s in result.sessions) or "none"
                messages.success(request, f"Created {len(result.sessions)} sessions: {ids}.")
                return redirect("debate:home")
        else:
            context["plan"] = schedule_preview(**form.plan_inputs())
    return render(request, "debate/schedule.html", context, status=status)


@require_POST
@staff_required
def reading_mark_post(request: SignedInRequest) -> HttpResponse:
    """Mark that someone has read a passage, from the scheduling page."""
    form = ReadingForm(request.POST)
    if not form.is_valid():
        context = {"form": ScheduleForm(), "reading_form": form}
        return render(request, "debate/schedule.html", context, status=422)
    user, passage = form.cleaned_data["user"], form.cleaned_data["passage"]
    _, created = reading_mark(
        user=user,
        passage=passage,
        note=form.cleaned_data["note"],
        actor=request.user,
        via="page:schedule",
    )
    if created:
        messages.success(request, f"{user} is marked as having read “{passage.title}”.")
    else:
        messages.info(request, f"{user} was already marked as having read “{passage.title}”.")
    return redirect("debate:schedule")
