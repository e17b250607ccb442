"""HTTP views: thin edges. Each parses input, calls one selector or service, and renders a view
from the visibility module. HTMX requests get the named partial, other requests the whole page
(with `Vary: HX-Request`), so the back button never shows a bare fragment."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import Request, SignedInRequest
from debate.access import staff_required
from debate.errors import ServiceError
from debate.forms import SessionCreateForm, SessionFilterForm, SlackWebhookForm
from debate.judgments import judgment_record, offline_judging_start, offline_judgment_record
from debate.models import Draft, Seat, Session, SlackDelivery, SlackWebhook
from debate.protocol import (
    EXPERT_ROLES,
    JUDGE_ROLES,
    Protocol,
    Rejection,
    RejectionCode,
    Role,
    choosers,
)
from debate.scoring import expected_score, scores_by_outcome
from debate.selectors import (
    platform_counts,
    scratchpad_text,
    session_for_viewer,
    sessions_filtered,
)
from debate.services import (
    MoveRejected,
    choice_submit,
    draft_save,
    move_undo,
    scratchpad_save,
    speech_submit,
    vote_submit,
)
from debate.staff_panels import staff_panels_for
from debate.visibility import (
    SeatView,
    lobby_for,
    overdue_session_entries,
    speech_draft_view,
    staff_session_entries,
    view_for,
    view_to_dict,
)


@require_GET
def home(request: Request) -> HttpResponse:
    context: dict[str, object] = {"counts": platform_counts()}
    if request.user.is_authenticated:
        context["lobby"] = lobby_for(request.user)
    return _render(request, "debate/home.html", context, partial="debate/_lobby.html")


@require_http_methods(["GET", "POST"])
@login_required
def notification_settings(request: SignedInRequest) -> HttpResponse:
    """Where a person's notifications go: their Slack webhook (email comes from their account)."""
    from debate import slack

    own = SlackWebhook.objects.filter(user=request.user).first()
    form = SlackWebhookForm(request.POST or None, initial={"url": own.url if own else ""})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            webhook = slack.webhook_set(user=request.user, url=form.cleaned_data["url"])
        except ServiceError as refused:
            form.add_error("url", str(refused))
            status = 422
        else:
            if webhook is None:
                messages.success(request, "Notifications are no longer posted to Slack.")
            elif request.POST.get("test"):
                problem = slack.webhook_test(webhook)
                if problem:
                    messages.error(request, f"The test message did not arrive: {problem}")
                else:
                    messages.success(request, "Saved; a test message was posted to Slack.")
            else:
                messages.success(request, "Saved: your notifications are posted to Slack too.")
            return redirect("debate:notification-settings")
    context = {
        "form": form,
        "webhook": own,
        "group_webhooks": slack.webhooks_for(request.user.pk) if request.user.pk else [],
        "deliveries": SlackDelivery.objects.filter(notification__user=request.user)
        .select_related("notification", "webhook")
        .order_by("-created_at")[:10],
    }
    return render(request, "debate/notification_settings.html", context, status=status)


SESSIONS_PER_PAGE = 25


@require_GET
@staff_required
def session_list(request: SignedInRequest) -> HttpResponse:
    """Staff: every session, filtered and paged, with seat holders, whose move and outcome."""
    return render(request, "debate/session_list.html", session_list_context(request))


def session_list_context(request: Request, *, within: QuerySet[Session] | None = None) -> dict:
    """The filtered, paged session list (this page, and a batch's page: ``within`` its
    sessions)."""
    form = SessionFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status", "")
    rows = sessions_filtered(
        status="" if status == "overdue" else status,
        protocol=data.get("protocol", ""),
        text=data.get("q", ""),
        within=within,
    )
    if status == "overdue":
        overdue = Paginator(overdue_session_entries(sessions=rows), SESSIONS_PER_PAGE)
        page: Page[Any] = overdue.get_page(request.GET.get("page"))
        entries = list(page.object_list)
    else:
        page = Paginator(rows, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
        entries = staff_session_entries(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    return {"filter_form": form, "page": page, "entries": entries, "query": query.urlencode()}


@require_http_methods(["GET", "POST"])
@staff_required
def session_new(request: SignedInRequest) -> HttpResponse:
    question = _question_of(request.POST.get("question") or request.GET.get("question"))
    form = SessionCreateForm(request.POST or None, question=question)
    if request.method == "POST" and form.is_valid():
        try:
            session = form.save()
        except MoveRejected:
            pass  # the form now holds the reason, beside the field it concerns
        else:
            messages.success(request, f"Session {session.pk} created.")
            return redirect("debate:session", session_id=session.pk)
    return render(request, "debate/session_new.html", {"form": form}, status=_status(form))


@require_GET
@staff_required
def session_new_judges(request: SignedInRequest) -> HttpResponse:
    """The judge field for the question chosen: who may judge it, and why the others may not."""
    form = SessionCreateForm(question=_question_of(request.GET.get("question")))
    return render(request, "debate/_judge_field.html", {"form": form})


def _question_of(raw: str | None):
    from debate.models import Question

    return (
        Question.objects.select_related("passage").filter(pk=raw).first()
        if raw and raw.isdigit()
        else None
    )


@require_GET
@login_required
def session_room(request: SignedInRequest, session_id: int) -> HttpResponse:
    session, seat, view = _viewer(request, session_id)
    context = {"view": view, "session": session}
    if request.user.is_staff and session.attention:
        context["attention"] = session.attention  # staff only: it may name agents and seats
    if seat is not None:
        context["scratchpad"] = scratchpad_text(seat=seat)
    if view.viewer_role in EXPERT_ROLES or view.viewer_role == "staff":
        context["paragraphs"] = _paragraphs(view.passage_text or "")
        structure = session.rules.get_structure()
        context["has_votes"] = structure.has_votes
        context["open_choice"] = structure.open_choice and view.viewer_role in choosers(
            Protocol(session.protocol)
        )
    if view.viewer_role in JUDGE_ROLES:
        context.update(_score_context(view, list(view.latest_probabilities or _uniform(view))))
    if view.viewer_role == "staff":
        context["staff_panels"] = staff_panels_for(session)
    return _render(request, "debate/room.html", context, partial="debate/_live.html")


@require_GET
@login_required
def session_view_json(request: SignedInRequest, session_id: int) -> JsonResponse:
    """The requesting seat's view of a session as JSON: exactly what its page may show."""
    _, _, view = _viewer(request, session_id)
    return JsonResponse(view_to_dict(view))


@require_POST
@login_required
def speech_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    session, seat = _seat_of(request, session_id, roles=EXPERT_ROLES)
    text = request.POST.get("text", "")
    try:
        speech_submit(session=session, seat=seat, text=text)
    except MoveRejected as error:
        return _form_result(request, session, seat, "debate/_speech_form.html", error, text=text)
    return _form_result(request, session, seat, "debate/_speech_form.html", None)


@require_POST
@login_required
def vote_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    """A speaker's vote on ending the session (negotiate-end rounds)."""
    session, seat = _seat_of(request, session_id, roles=EXPERT_ROLES)
    choice = request.POST.get("vote")
    if choice not in ("end", "continue"):
        error = MoveRejected(
            Rejection(RejectionCode.WRONG_MOVE, "Vote to end the debate or to go on.")
        )
        return _form_result(request, session, seat, "debate/_vote_form.html", error)
    try:
        vote_submit(session=session, seat=seat, end=choice == "end")
    except MoveRejected as error:
        return _form_result(request, session, seat, "debate/_vote_form.html", error)
    return _form_result(request, session, seat, "debate/_vote_form.html", None)


@require_POST
@login_required
def choice_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    """Open rules: the expert chooses the answer it argues."""
    session, seat = _seat_of(request, session_id, roles=EXPERT_ROLES)
    raw = request.POST.get("position", "")
    if not raw.isdigit():
        error = MoveRejected(
            Rejection(RejectionCode.WRONG_MOVE, "Choose one of the shown answers.")
        )
        return _form_result(request, session, seat, "debate/_choice_form.html", error)
    try:
        choice_submit(session=session, seat=seat, position=int(raw))
    except MoveRejected as error:
        return _form_result(request, session, seat, "debate/_choice_form.html", error)
    return _form_result(request, session, seat, "debate/_choice_form.html", None)


@require_POST
@login_required
def offline_start_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    """An offline judge begins reading (a timed judging's clock starts)."""
    session, seat = _seat_of(request, session_id, roles={Role.OFFLINE_JUDGE})
    try:
        offline_judging_start(session=session, seat=seat)
    except MoveRejected as error:
        messages.error(request, error.message)
    return redirect("debate:session", session_id=session.pk)


@require_POST
@login_required
def judgment_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    session, seat = _seat_of(request, session_id, roles=JUDGE_ROLES)
    answers = len(session.answer_order)
    probabilities = [_percent(request.POST.get(f"p{i}")) for i in range(answers)]
    text = request.POST.get("text", "")
    end = request.POST.get("action") == "end"
    # Interactive debate: one box per expert ("question_debater_a"); the service checks them.
    questions = {
        str(role): request.POST[f"question_{role}"]
        for role in EXPERT_ROLES
        if f"question_{role}" in request.POST
    }
    try:
        if seat.role == Role.OFFLINE_JUDGE:
            offline_judgment_record(
                session=session, seat=seat, probabilities=probabilities, text=text, end=end
            )
        else:
            judgment_record(
                session=session,
                seat=seat,
                probabilities=probabilities,
                text=text,
                end=end,
                questions=questions,
            )
    except MoveRejected as error:
        numbers = [p for p in probabilities if isinstance(p, float)]
        typed = numbers if len(numbers) == len(probabilities) else None
        return _form_result(
            request,
            session,
            seat,
            "debate/_judge_form.html",
            error,
            text=text,
            typed=typed,
            questions=questions,
        )
    return _form_result(request, session, seat, "debate/_judge_form.html", None)


@require_POST
@login_required
def undo_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    """Take back the user's last speech while no one else can have seen it."""
    session, seat = _seat_of(request, session_id, roles=EXPERT_ROLES)
    try:
        move_undo(session=session, seat=seat, user=request.user)
        messages.success(request, "Your speech was taken back; it is in your draft again.")
    except MoveRejected as error:
        messages.error(request, error.message)
    if request.htmx:  # the page reloads, showing the message and the draft
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return redirect("debate:session", session_id=session.pk)


@require_POST
@login_required
def draft_preview(request: SignedInRequest, session_id: int) -> HttpResponse:
    """Save the speech being typed, and show its counts and quotes certified as a submission
    would be."""
    session, seat = _seat_of(request, session_id, roles=EXPERT_ROLES)
    view = view_for(seat, session)
    text = request.POST.get("text", "")
    try:
        draft_save(seat=seat, kind=Draft.Kind.SPEECH, text=text)
    except MoveRejected as error:
        return HttpResponse(error.message, status=422)
    limit = session.rules.get_structure().story_run_limit
    draft = speech_draft_view(text, session.question.passage.text, view, limit)
    return render(request, "debate/_draft_preview.html", {"draft": draft})


@require_POST
@login_required
def note_draft_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    """Save the judge's note as it is typed."""
    _, seat = _seat_of(request, session_id, roles=JUDGE_ROLES)
    try:
        draft_save(seat=seat, kind=Draft.Kind.NOTE, text=request.POST.get("text", ""))
    except MoveRejected as error:
        return HttpResponse(error.message, status=422)
    return HttpResponse("Draft saved.")


@require_POST
@login_required
def score_preview(request: SignedInRequest, session_id: int) -> HttpResponse:
    """The judge's score under each possible correct answer, and expected under its own
    probabilities, for the probabilities being typed (a POST: no form data in URLs or logs)."""
    _, _, view = _viewer(request, session_id, roles=JUDGE_ROLES)
    typed = [_percent(request.POST.get(f"p{i}")) for i in range(len(view.answers))]
    numbers = [p for p in typed if isinstance(p, float) and 0 <= p <= 1]
    if len(numbers) != len(typed):
        return HttpResponse("Enter a percentage for every answer.", status=422)
    total = sum(numbers) or 1.0
    probabilities = [p / total for p in numbers]
    return render(
        request,
        "debate/_score_preview.html",
        {"view": view, **_score_context(view, probabilities)},
    )


@require_POST
@login_required
def scratchpad_post(request: SignedInRequest, session_id: int) -> HttpResponse:
    _, seat = _seat_of(request, session_id, roles=set(Role))
    try:
        scratchpad_save(seat=seat, text=request.POST.get("scratchpad", ""))
    except MoveRejected as error:
        return HttpResponse(error.message, status=422)
    return HttpResponse("Saved.")


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _viewer(
    request: SignedInRequest, session_id: int, roles: Collection[Role] | None = None
) -> tuple[Session, Seat | None, SeatView]:
    """The session, the user's seat and its view (see `_seat_of`)."""
    session, seat = _session_and_seat(request, session_id, roles)
    return session, seat, view_for(seat, session)


def _session_and_seat(
    request: SignedInRequest, session_id: int, roles: Collection[Role] | None = None
) -> tuple[Session, Seat | None]:
    """The session and the user's seat; 404 for anyone who may not open it, or (with ``roles``)
    who holds no seat of those roles, so that existence does not leak."""
    try:
        session, seat = session_for_viewer(session_id=session_id, user=request.user)
    except Session.DoesNotExist as error:
        raise Http404("No such session.") from error
    if roles is not None and (seat is None or Role(seat.role) not in roles):
        raise Http404("No such session.")
    return session, seat


def _seat_of(
    request: SignedInRequest, session_id: int, roles: Collection[Role]
) -> tuple[Session, Seat]:
    """The session and the user's seat of one of ``roles``; 404 otherwise (`_session_and_seat`)."""
    session, seat = _session_and_seat(request, session_id, roles)
    assert seat is not None  # refused above
    return session, seat


def _form_result(
    request: SignedInRequest,
    session: Session,
    seat: Seat,
    template: str,
    error: MoveRejected | None,
    text: str = "",
    typed: list[float] | None = None,
    questions: dict[str, str] | None = None,
) -> HttpResponse:
    """The form again after a move: refused, with what was typed kept and the reason beside it;
    accepted, empty for the next turn."""
    if not request.htmx:
        if error:
            messages.error(request, error.message)
        return redirect("debate:session", session_id=session.pk)
    view = view_for(seat, session)
    context = {
        "view": view,
        "errors": error.rejections if error else (),
        "text": text,
        "questions": questions or {},
    }
    if view.viewer_role in JUDGE_ROLES:
        shown = typed or list(view.latest_probabilities or _uniform(view))
        context.update(_score_context(view, shown))
    status = 200
    if error:
        status = (
            409
            if error.code in {RejectionCode.NOT_YOUR_TURN, RejectionCode.SESSION_FINISHED}
            else 422
        )
    return _render(request, template, context, status=status)


def _score_context(view: SeatView, probabilities: list[float]) -> dict:
    now, later = view.judge_continues, view.judge_continues + 1
    return {
        "probabilities": probabilities,
        "scores_now": scores_by_outcome(view.scoring, probabilities, now),
        "scores_later": scores_by_outcome(view.scoring, probabilities, later),
        "expected_now": expected_score(view.scoring, probabilities, now),
        "expected_later": expected_score(view.scoring, probabilities, later),
    }


def _uniform(view: SeatView) -> list[float]:
    return [1 / len(view.answers)] * len(view.answers)


def _percent(raw: str | None) -> float | str | None:
    """A percentage field as a probability; what is not a finite number is passed on as it is,
    for the rules to refuse with a clear message."""
    try:
        value = float(raw) / 100 if raw not in (None, "") else raw
    except ValueError:
        return raw
    return value if isinstance(value, float) and math.isfinite(value) else raw


def _paragraphs(text: str) -> list[dict]:
    """The passage split at blank lines, each paragraph with its offset in the passage, so a
    selection in the browser maps back to passage offsets."""
    paragraphs, start = [], 0
    for block in text.split("\n\n"):
        if block.strip():
            paragraphs.append({"start": start, "text": block})
        start += len(block) + 2
    return paragraphs


def _render(
    request: Request,
    template: str,
    context: dict,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    name = partial if partial and request.htmx and not request.htmx.boosted else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _status(form: SessionCreateForm) -> int:
    return 422 if form.is_bound and form.errors else 200
