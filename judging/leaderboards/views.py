"""Leaderboards and a participant's own history: any logged-in user. Thin: the figures come
from standings.py, read by selectors.py (both beside this module)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from config.http import SignedInRequest
from debate.access import staff_required
from judging.leaderboards.selectors import leaderboards_get, participant_history_get
from judging.leaderboards.standings import PROTOCOLS, RATING_MODEL


class LeaderboardFilterForm(forms.Form):
    protocol = forms.ChoiceField(
        required=False, choices=[("", "debate and consultancy")] + [(p, p) for p in PROTOCOLS]
    )
    since = forms.DateField(
        required=False,
        label="Created since",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        required=False,
        label="Created until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The first day comes after the last.")
        return data


@require_GET
@login_required
def leaderboards_page(request: SignedInRequest) -> HttpResponse:
    form = LeaderboardFilterForm(request.GET or None)
    boards = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        boards = leaderboards_get(
            protocol=data.get("protocol") or None,
            since=data.get("since"),
            until=data.get("until"),
            viewer=request.user,
        )
    context = {"form": form, "boards": boards, "rating_model": RATING_MODEL}
    return render(request, "judging/leaderboards.html", context, status=200 if boards else 400)


HISTORY_PER_PAGE = 50


@require_GET
@login_required
def my_history_page(request: SignedInRequest) -> HttpResponse:
    return _history_page(request, request.user, subject=None)


@require_GET
@staff_required
def participant_history_page(request: SignedInRequest, user_id: int) -> HttpResponse:
    """Staff: any participant's history, as that participant sees it."""
    return _history_page(request, get_object_or_404(get_user_model(), pk=user_id), subject=True)


def _history_page(request: SignedInRequest, user: User, *, subject: bool | None) -> HttpResponse:
    history = participant_history_get(user=user)
    page = Paginator(history.entries, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    context = {"history": history, "page": page, "subject": user if subject else None}
    return render(request, "judging/my_history.html", context)
