"""Reads for the leaderboards and a participant's history: the sessions they cover, as records
without text (`judging/selectors.py`), in a fixed number of queries."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from debate.models import Seat, Session
from debate.visibility import sessions_hiding_names_from
from judging.leaderboards.standings import History, LeaderboardFilters, Leaderboards
from judging.leaderboards.standings import leaderboards as leaderboards_of
from judging.leaderboards.standings import participant_history as history_of
from judging.selectors import session_records


def leaderboards_get(
    *,
    protocol: str | None = None,
    since: date | None = None,
    until: date | None = None,
    ratings: bool = True,
    viewer: User | AnonymousUser | None = None,
) -> Leaderboards:
    """The leaderboards over finished sessions, with days in the current time zone. For a
    participant (``viewer``, not staff), sessions in which they have not yet submitted their
    survey are left out: the boards must not tell them who held the other seats (DESIGN.md 4)."""
    filters = LeaderboardFilters(
        protocol=protocol, since=since, until=until, tz=timezone.get_current_timezone()
    )
    sessions = Session.objects.filter(
        status=Session.Status.FINISHED, voided_at__isnull=True
    ).order_by("pk")
    if protocol is not None:
        sessions = sessions.filter(protocol=protocol)
    if since is not None:
        sessions = sessions.filter(created_at__date__gte=since)
    if until is not None:
        sessions = sessions.filter(created_at__date__lte=until)
    if viewer is not None:
        sessions = sessions.exclude(pk__in=sessions_hiding_names_from(viewer))
    return leaderboards_of(session_records(sessions, with_text=False), filters, ratings=ratings)


def participant_history_get(*, user: User) -> History:
    """Every session ``user`` held a seat in, newest first, with their outcomes and totals."""
    sessions = Session.objects.filter(
        pk__in=Seat.objects.filter(user=user).values("session_id")
    ).order_by("-created_at", "-pk")
    return history_of(session_records(sessions, with_text=False), user_id=user.pk)
