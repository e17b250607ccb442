"""Open consultancy and open debate (issue 16) through the services, the views and the room: the
expert chooses the answer it argues before round 1, once; until then no seat argues an answer
and the judge waits; afterwards the judge sees the argued answer, never the story or which answer
is correct; stored sessions replay with the choice."""

from __future__ import annotations

import pytest
from django.test import Client

from debate.models import Rules, Session
from debate.protocol import Protocol, RejectionCode, Role
from debate.selectors import session_state, sessions_progress
from debate.services import (
    OPEN_RULES,
    MoveRejected,
    SeatAssignment,
    choice_submit,
    open_rules,
    session_create,
)
from debate.visibility import view_for, view_to_dict
from tests.factories import judge, make_question, make_user, seat, speak
from tests.leak_detector import story_windows

pytestmark = pytest.mark.django_db


def open_session(chosen: Protocol, **users) -> Session:
    question = make_question()
    experts = (
        [Role.CONSULTANT] if chosen is Protocol.CONSULTANCY else [Role.DEBATER_A, Role.DEBATER_B]
    )
    return session_create(
        question=question,
        protocol_name=chosen,
        rules=open_rules(chosen),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, user=users.get("judge") or make_user()),
            *(SeatAssignment(r, user=users.get(str(r)) or make_user()) for r in experts),
        ],
    )


def fresh(session: Session) -> Session:
    return Session.objects.get(pk=session.pk)


@pytest.mark.parametrize("chosen", list(Protocol))
def test_the_open_rule_sets_are_built_in(chosen):
    from_migration = Rules.objects.get(name=OPEN_RULES[chosen])
    assert open_rules(chosen) == from_migration
    structure = from_migration.get_structure()
    assert structure.open_choice and structure.has_judge
    assert from_migration.structure["open_choice"] is True


def test_the_consultant_chooses_once_before_round_one_and_the_judge_waits_until_then():
    judge_user = make_user()
    session = open_session(Protocol.CONSULTANCY, judge=judge_user)
    consultant = seat(session, Role.CONSULTANT)
    assert consultant.answer_position is None  # nothing is assigned under open rules
    before = view_for(seat(session, Role.JUDGE), fresh(session))
    assert before.choice_pending and not before.your_turn and before.argued_positions == {}
    assert before.correct_position is None and before.passage_text is None
    assert view_to_dict(before)["argued_positions"] == {}
    mine = view_for(consultant, fresh(session))
    assert mine.choosing and mine.own_answer_position is None and mine.current_round is None
    with pytest.raises(MoveRejected) as early:
        judge(session, (0.5, 0.5))
    assert early.value.code is RejectionCode.NOT_YOUR_TURN
    with pytest.raises(MoveRejected) as spoken:
        speak(session, Role.CONSULTANT, "I argue before choosing.")
    assert spoken.value.code is RejectionCode.WRONG_MOVE
    with pytest.raises(MoveRejected, match="Choose one of the shown answers"):
        choice_submit(session=session, seat=consultant, position=2)
    consultant.refresh_from_db()
    assert consultant.answer_position is None and consultant.answer_chosen_at is None

    choice_submit(session=session, seat=consultant, position=1)
    consultant.refresh_from_db()
    assert consultant.answer_position == 1 and consultant.answer_chosen_at is not None
    with pytest.raises(MoveRejected) as twice:
        choice_submit(session=session, seat=consultant, position=0)
    assert twice.value.code is RejectionCode.NOT_YOUR_TURN
    after = view_for(seat(session, Role.JUDGE), fresh(session))
    assert not after.choice_pending and after.your_turn
    assert after.argued_positions == {"consultant": 1} and after.correct_position is None
    judge(session, (0.5, 0.5))
    speak(session, Role.CONSULTANT, "B it is.")
    with pytest.raises(MoveRejected) as later:
        choice_submit(session=session, seat=consultant, position=0)
    assert later.value.code is RejectionCode.NOT_YOUR_TURN
    state = session_state(fresh(session))
    assert state.chosen and state.round_index == 2 and state.due == frozenset({Role.JUDGE})
    assert (
        sessions_progress(Session.objects.filter(pk=session.pk).select_related("rules"))[
            session.pk
        ].state
        == state
    )


def test_in_open_debate_debater_a_chooses_and_debater_b_argues_the_other_answer():
    session = open_session(Protocol.DEBATE)
    a, b = seat(session, Role.DEBATER_A), seat(session, Role.DEBATER_B)
    with pytest.raises(MoveRejected) as not_b:
        choice_submit(session=session, seat=b, position=0)
    assert not_b.value.code is RejectionCode.NOT_YOUR_TURN
    assert view_for(b, fresh(session)).choice_pending and not view_for(b, fresh(session)).choosing
    choice_submit(session=session, seat=a, position=1)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.answer_position, b.answer_position) == (1, 0)
    assert view_for(seat(session, Role.JUDGE), fresh(session)).argued_positions == {
        "debater_a": 1,
        "debater_b": 0,
    }


def test_open_rules_take_no_assigned_answer():
    question = make_question()
    with pytest.raises(MoveRejected, match="the expert chooses the answer it argues"):
        session_create(
            question=question,
            protocol_name=Protocol.CONSULTANCY,
            rules=open_rules(Protocol.CONSULTANCY),
            seats=[
                SeatAssignment(Role.JUDGE, user=make_user()),
                SeatAssignment(Role.CONSULTANT, user=make_user(), honest=True),
            ],
        )


def test_the_judges_page_never_shows_the_story_or_the_correct_answer_before_or_after_the_choice():
    judge_user, expert = make_user("jo-open"), make_user("ann-open")
    session = open_session(Protocol.CONSULTANCY, judge=judge_user, consultant=expert)
    story = session.question.passage.text
    judge_client, expert_client = Client(), Client()
    judge_client.force_login(judge_user)
    expert_client.force_login(expert)
    page = judge_client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Waiting for the consultant to choose the answer it argues." in page
    assert "choice-form" not in page and "arguing" not in page.lower()
    assert not story_windows(page, story) and 'class="tag correct"' not in page
    own = expert_client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Choose the answer you will argue" in own and 'data-choosing="true"' in own
    refused = expert_client.post(
        f"/sessions/{session.pk}/choice", {"position": "x"}, HTTP_HX_REQUEST="true"
    )
    assert "Choose one of the shown answers." in refused.content.decode()
    done = expert_client.post(
        f"/sessions/{session.pk}/choice", {"position": "0"}, HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 200 and "hidden" in done.content.decode().split(">")[0]
    page = judge_client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Waiting for the consultant" not in page and "Your turn" in page
    assert not story_windows(page, story) and 'class="tag correct"' not in page
    data = judge_client.get(f"/sessions/{session.pk}/view.json").json()
    assert data["correct_position"] is None and data["argued_positions"] == {"consultant": 0}
    assert data["passage_text"] is None and not data["choice_pending"]


def test_staff_create_an_open_consultancy_from_the_page_without_an_assigned_answer(client):
    question = make_question()
    rules = open_rules(Protocol.CONSULTANCY)
    judge_id, consultant = (f"user:{make_user(n).pk}" for n in ("jo-oc", "ann-oc"))
    client.force_login(make_user("ops-oc", is_staff=True, is_superuser=True))
    client.post(
        "/sessions/new/",
        {
            "question": question.pk,
            "protocol": "consultancy",
            "rules": rules.pk,
            "judge": judge_id,
            "consultant": consultant,
            "consultant_honest": "on",
        },
    )
    session = Session.objects.get()
    assert session.rules == rules
    assert seat(session, Role.CONSULTANT).answer_position is None
    assert session_state(session).choice_pending


def test_the_experts_choice_is_a_turn_it_is_notified_of_and_that_closes_when_made(
    django_capture_on_commit_callbacks,
):
    from debate.models import Notification

    consultant_user, judge_user = make_user("ann-n"), make_user("jo-n")
    with django_capture_on_commit_callbacks(execute=True):
        session = open_session(Protocol.CONSULTANCY, judge=judge_user, consultant=consultant_user)
    turns = Notification.objects.filter(kind=Notification.Kind.TURN, done_at__isnull=True)
    assert list(turns.values_list("user__username", "key")) == [
        ("ann-n", f"{session.pk}:choice:consultant")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        choice_submit(session=session, seat=seat(session, Role.CONSULTANT), position=0)
    assert list(turns.values_list("user__username", "key")) == [("jo-n", f"{session.pk}:0:judge")]


def header(page: str) -> str:
    start = page.index('<ol id="answers"')
    return page[start : page.index("</ol>", start)]


@pytest.mark.parametrize("chosen", list(Protocol))
def test_the_judge_sees_no_argued_answer_before_the_choice_and_only_the_argued_ones_after(chosen):
    judge_user = make_user("jo-argued")
    session = open_session(chosen, judge=judge_user)
    # Even a seat holding a position before the choice (an edit in the admin, say) is not
    # shown to the judge as arguing it: under open rules nothing is assigned.
    other = Role.DEBATER_B if chosen is Protocol.DEBATE else Role.CONSULTANT
    session.seats.filter(role=other).update(answer_position=0)
    client = Client()
    client.force_login(judge_user)
    before = view_for(seat(session, Role.JUDGE), fresh(session))
    assert before.argued_positions == {}
    assert [line.argued_by for line in before.answer_lines] == [(), ()]
    page = header(client.get(f"/sessions/{session.pk}/").content.decode())
    assert "argued by" not in page and "chosen by" not in page and "your answer" not in page
    session.seats.filter(role=other).update(answer_position=None)

    chooser = Role.CONSULTANT if chosen is Protocol.CONSULTANCY else Role.DEBATER_A
    choice_submit(session=session, seat=seat(session, chooser), position=1)
    after = view_for(seat(session, Role.JUDGE), fresh(session))
    lines = {line.position: (line.argued_by, line.chosen) for line in after.answer_lines}
    page = header(client.get(f"/sessions/{session.pk}/").content.decode())
    b_line, a_line = page.split('data-answer="1"')[1], page.split('data-answer="1"')[0]
    if chosen is Protocol.CONSULTANCY:
        assert lines == {0: ((), False), 1: (("consultant",), True)}
        assert "chosen by the consultant" in b_line and "argued by" not in a_line
        assert "chosen by" not in a_line
    else:
        assert lines == {0: (("debater_b",), False), 1: (("debater_a",), True)}
        assert "chosen by debater A" in b_line and "argued by debater B" in a_line
    assert view_to_dict(after)["answer_lines"][1]["chosen"] is True
    assert 'class="tag correct"' not in page and 'class="tag own"' not in page


def test_the_ai_judge_is_told_the_answer_the_consultant_chose_and_nothing_before():
    from llm_agents.prompts import build_request

    session = open_session(Protocol.CONSULTANCY)
    choice_submit(session=session, seat=seat(session, Role.CONSULTANT), position=1)
    request = build_request(view_for(seat(session, Role.JUDGE), fresh(session)), "v1")
    told = request.messages[0]["content"]
    assert "Consultant argues B (chosen after reading the story)." in told
    assert "argues A" not in told


def test_in_open_debate_debater_b_is_shown_its_answer_and_the_choice_of_debater_a():
    b_user = make_user("bea-open")
    session = open_session(Protocol.DEBATE, debater_b=b_user)
    choice_submit(session=session, seat=seat(session, Role.DEBATER_A), position=0)
    client = Client()
    client.force_login(b_user)
    page = header(client.get(f"/sessions/{session.pk}/").content.decode())
    a_line, b_line = page.split('data-answer="1"')
    assert "chosen by debater A" in a_line and "your answer" in b_line
