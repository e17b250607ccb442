"""Staff analysis pages: the table and charts with filters, their downloads, and one session's
figures and error tags. Thin: the figures come from judging/analysis.py."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import SignedInRequest
from debate.access import staff_required
from debate.errors import ServiceError
from debate.judgments import offline_judge_assign
from debate.models import AuditEvent, Seat, Session
from debate.protocol import EXPERT_ROLES
from debate.visibility import ROLE_LABELS, staff_session_entries
from judging import charts
from judging.analysis import (
    TABLE_COLUMNS,
    Analysis,
    AnalysisFilters,
    analysis_run,
    session_figures,
)
from judging.defaults import error_categories_ensure
from judging.forms import AnalysisFilterForm, ErrorTagForm, SurveyForm
from judging.models import ErrorCategory, SurveyResponse
from judging.services import error_tags_set, survey_questions_for, survey_submit

CHARTS = {
    "accuracy": lambda a: charts.accuracy_chart(a.table),
    "calibration": lambda a: charts.calibration_chart(a.calibration),
    "honesty": lambda a: charts.honesty_chart(a.table),
}


@require_GET
@staff_required
def analysis_page(request: SignedInRequest) -> HttpResponse:
    form = AnalysisFilterForm(request.GET or None)
    analysis = _analysis(form, request)
    context = {
        "form": form,
        "analysis": analysis,
        "columns": TABLE_COLUMNS,
        "charts": {name: draw(analysis) for name, draw in CHARTS.items()} if analysis else {},
        "query": request.GET.urlencode(),
        "error_rows": _error_rows(analysis) if analysis else [],
        "batches": _batches(request),
    }
    return render(request, "judging/analysis.html", context, status=200 if analysis else 400)


@require_GET
@staff_required
def analysis_chart(request: SignedInRequest, name: str) -> HttpResponse:
    if name not in CHARTS:
        raise Http404("No such chart.")
    analysis = _analysis(AnalysisFilterForm(request.GET or None), request)
    if analysis is None:
        return HttpResponse("Bad filters.", status=400)
    response = HttpResponse(CHARTS[name](analysis), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="{name}.svg"'
    return response


@require_GET
@staff_required
def analysis_figure(request: SignedInRequest, name: str, fmt: str) -> HttpResponse:
    """A figure for a paper (matplotlib), as SVG or PDF, for the filters of the page."""
    from judging.figures import FIGURES, FORMATS, figure_bytes

    if name not in FIGURES or fmt not in FORMATS:
        raise Http404("No such figure.")
    analysis = _analysis(AnalysisFilterForm(request.GET or None), request)
    if analysis is None:
        return HttpResponse("Bad filters.", status=400)
    response = HttpResponse(figure_bytes(FIGURES[name](analysis), fmt), content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@require_GET
@staff_required
def analysis_table_csv(request: SignedInRequest) -> HttpResponse:
    analysis = _analysis(AnalysisFilterForm(request.GET or None), request)
    if analysis is None:
        return HttpResponse("Bad filters.", status=400)
    out = io.StringIO()
    writer = csv.writer(out)
    keys = [
        "n", "accuracy", "accuracy_ci", "rounds_mean", "rounds_sd", "quotes_per_round",
        "chars_per_round", "char_limit_per_round", "bits_per_round", "judge_score_mean",
        "ece_final", "accuracy_honest", "n_honest", "accuracy_dishonest", "n_dishonest",
        "accuracy_confident", "n_confident", "passage_revealed", "quotes_repeated",
        "n_chose", "chose_correct", "chose_correct_share", "accuracy_chose_correct",
        "accuracy_chose_incorrect", "n_chose_incorrect",
    ]  # fmt: skip
    writer.writerow(["setting", *keys])
    for setting, m in analysis.table.items():
        row = m.as_dict()
        writer.writerow([setting, *(_csv(row[k]) for k in keys)])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="analysis.csv"'
    return response


@require_POST
@staff_required
def error_tags_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(Session, pk=session_id)
    form = ErrorTagForm(request.POST)
    if form.is_valid():
        try:
            names = error_tags_set(
                session=session, categories=form.cleaned_data["categories"], user=request.user
            )
            messages.success(request, f"Error categories saved: {', '.join(names) or 'none'}.")
        except ServiceError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, "Choose categories from the list.")
    return redirect("debate:session", session_id=session.pk)


def _analysis(form: AnalysisFilterForm, request: SignedInRequest) -> Analysis | None:
    if form.is_bound and not form.is_valid():
        return None
    filters = form.filters() if form.is_bound else AnalysisFilters()
    return analysis_run(replace(filters, batches=_batches(request)))


def _batches(request: SignedInRequest) -> tuple[str, ...]:
    """The batch runs asked for with ?batch=ID (repeatable), by batch id."""
    return tuple(dict.fromkeys(b.strip() for b in request.GET.getlist("batch") if b.strip()))


def _error_rows(analysis: Analysis) -> list[dict]:
    settings = list(analysis.error_shares)
    rows = []
    for name in analysis.error_categories:
        cells = []
        for setting in settings:
            tagged, wrong = analysis.error_shares[setting][name]
            cells.append(
                {"tagged": tagged, "wrong": wrong, "share": tagged / wrong if wrong else 0}
            )
        rows.append({"name": name, "cells": cells})
    return [{"settings": settings, "rows": rows}] if settings else []


def _csv(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(f"{v:.4f}" for v in value)
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def staff_session_panel(session: Session) -> dict:
    """What a session's page shows staff: its figures, its score and, when the judge got it
    wrong, the error-category form."""
    figures = session_figures(session)
    tagged = set(figures.error_tags)
    error_categories_ensure()
    return {
        "entry": staff_session_entries([session])[0],
        "figures": figures,
        "audit": AuditEvent.objects.filter(session=session).select_related("actor")[:30],
        "finished": session.status == Session.Status.FINISHED,
        "chart": charts.session_chart(figures.probabilities, figures.revealed),
        "tag_form": ErrorTagForm(
            initial={"categories": [c for c in ErrorCategory.objects.all() if c.name in tagged]}
        )
        if figures.correct is False
        else None,
    }


@require_http_methods(["GET", "POST"])
@login_required
def survey_page(request: SignedInRequest, session_id: int) -> HttpResponse:
    """A seat's feedback survey: 404 unless the user holds a seat of this session."""
    seat = (
        Seat.objects.filter(session_id=session_id, user=request.user)
        .select_related("session")
        .order_by("role")
        .first()
    )
    if seat is None:
        raise Http404("No such survey.")
    submitted = SurveyResponse.objects.filter(seat=seat).first()
    experts = [
        (s.role, ROLE_LABELS.get(s.role, s.role))
        for s in seat.session.seats.filter(role__in=EXPERT_ROLES)
    ]
    form = SurveyForm(request.POST or None, questions=survey_questions_for(seat), experts=experts)
    status = 200
    if request.method == "POST" and submitted is None:
        if form.is_valid():
            try:
                survey_submit(seat=seat, answers=form.answers(), user=request.user)
                messages.success(request, "Thank you: your survey is saved.")
                return redirect("debate:session", session_id=session_id)
            except ServiceError as error:
                form.add_error(None, str(error))
        status = 422
    elif request.method == "POST":
        messages.error(request, "You have already submitted this survey; it cannot be changed.")
        status = 409
    context = {"form": form, "seat": seat, "submitted": submitted, "session": seat.session}
    return render(request, "judging/survey.html", context, status=status)


@require_POST
@staff_required
def offline_judge_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    """Staff: give a user an offline judge's seat on a finished session."""
    session = get_object_or_404(Session, pk=session_id)
    username = request.POST.get("username", "").strip()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        messages.error(request, f"No user named “{username}”.")
    else:
        try:
            mode = request.POST.get("mode") or Seat.JudgingMode.STEPPED
            offline_judge_assign(session=session, user=user, actor=request.user, mode=mode)
            messages.success(request, f"{user} will judge this session offline ({mode}).")
        except ServiceError as error:
            messages.error(request, str(error))
    return redirect("debate:session", session_id=session.pk)
