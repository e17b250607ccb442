"""The judge's round rules through the services, the views and the room (issue 16): a refused
early end says how many rounds remain and saves nothing; an end after a large swing is refused
and stored sessions replay with their probabilities; the blind judge's baseline seats a judge
alone; the oracle judge reads the story while every other judge still never sees it."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from debate.models import Judgment, Rules, Session
from debate.protocol import Protocol, RejectionCode, Role
from debate.selectors import session_state, sessions_progress
from debate.services import (
    BLIND_JUDGE_RULES,
    ORACLE_JUDGE_RULES,
    MoveRejected,
    SeatAssignment,
    blind_judge_rules,
    oracle_judge_rules,
    paper_rules,
    session_create,
)
from debate.visibility import view_for, view_to_dict
from llm_agents.prompts import build_request
from tests.debate.test_leaks import JudgeWatch
from tests.factories import judge, make_debate, make_question, make_user, seat, speak
from tests.leak_detector import story_windows

pytestmark = pytest.mark.django_db


def paper_with(**options) -> Rules:
    """The paper's debate rules with the given structure options."""
    paper = paper_rules(Protocol.DEBATE)
    name = "paper-debate " + ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
    rules, _ = Rules.objects.get_or_create(
        name=name, defaults={"structure": {**paper.structure, **options}, "scoring": paper.scoring}
    )
    rules.full_clean()
    return rules


def openings(session: Session) -> None:
    speak(session, Role.DEBATER_A, "A opens.")
    speak(session, Role.DEBATER_B, "B opens.")


def sequential(session: Session) -> None:
    speak(session, Role.DEBATER_A, "A again.")
    speak(session, Role.DEBATER_B, "B again.")


def judge_view(session: Session):
    return view_for(seat(session, Role.JUDGE), Session.objects.get(pk=session.pk))


# --------------------------------------------------------------------------------------------------
# A minimum of speech rounds
# --------------------------------------------------------------------------------------------------


def test_an_early_end_is_refused_with_how_many_rounds_remain_and_nothing_is_saved():
    session = make_debate(rules=paper_with(min_speech_rounds_before_end=2))
    judge(session, (0.5, 0.5))
    openings(session)
    view = judge_view(session)
    assert view.may_continue and not view.may_end
    assert view.end_rule is not None and view.end_rule.speech_rounds_to_go == 1

    with pytest.raises(MoveRejected) as refused:
        judge(session, (0.7, 0.3), "Enough.", end=True)
    assert refused.value.code is RejectionCode.CANNOT_END_YET
    assert str(refused.value) == (
        "You can end the session only after hearing at least 2 rounds of speeches; 1 more to go."
    )
    assert Judgment.objects.filter(session=session).count() == 1  # only the prior
    session.refresh_from_db()
    assert session.status == Session.Status.IN_PROGRESS

    judge(session, (0.6, 0.4))
    sequential(session)
    assert judge_view(session).may_end
    judge(session, (0.8, 0.2), end=True)
    session.refresh_from_db()
    assert session.status == Session.Status.FINISHED


def test_the_room_refuses_an_early_end_with_the_protocols_message():
    person = make_user()
    session = make_debate(rules=paper_with(min_speech_rounds_before_end=2), judge=person)
    judge(session, (0.5, 0.5))
    openings(session)
    client = Client()
    client.force_login(person)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "You may end after 2 speech rounds; 1 to go." in page
    assert 'data-may-end="false"' in page
    response = client.post(
        f"/sessions/{session.pk}/judgment",
        {"p0": "70", "p1": "30", "action": "end"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "1 more to go" in response.content.decode()
    assert not Judgment.objects.filter(session=session, end=True).exists()


def test_paper_rules_show_no_new_rule_text():
    person = make_user()
    session = make_debate(judge=person)
    client = Client()
    client.force_login(person)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="end-rule"' not in page
    assert judge_view(session).end_rule is None


# --------------------------------------------------------------------------------------------------
# One more round after a large swing
# --------------------------------------------------------------------------------------------------


def test_an_end_after_a_large_swing_is_refused_then_allowed_after_one_more_round():
    session = make_debate(rules=paper_with(end_blocked_after_swing=0.2))
    judge(session, (0.5, 0.5))
    openings(session)
    view = judge_view(session)
    assert view.may_end and view.end_rule.last_probabilities == (0.5, 0.5)

    with pytest.raises(MoveRejected) as refused:
        judge(session, (0.9, 0.1), end=True)
    assert "moved by 40 points since your last judgment" in str(refused.value)
    assert Judgment.objects.filter(session=session).count() == 1

    judge(session, (0.9, 0.1))  # continuing with the swing is fine
    sequential(session)
    judge(session, (0.95, 0.05), end=True)
    session.refresh_from_db()
    assert session.status == Session.Status.FINISHED
    # The stored session replays with its judgments' probabilities, one session or many.
    state = session_state(session)
    assert state.finished and state.judge_probabilities == (0.95, 0.05)
    assert (
        sessions_progress([Session.objects.select_related("rules").get(pk=session.pk)])[
            session.pk
        ].state
        == state
    )


def test_probabilities_that_are_not_numbers_are_refused_for_what_they_are():
    session = make_debate(rules=paper_with(end_blocked_after_swing=0.2))
    judge(session, (0.5, 0.5))
    openings(session)
    with pytest.raises(MoveRejected) as refused:
        judge(session, ("abc", 0.5), end=True)
    assert refused.value.code is RejectionCode.BAD_PROBABILITIES


def test_the_room_states_the_swing_rule_with_the_last_probabilities():
    person = make_user()
    session = make_debate(rules=paper_with(end_blocked_after_swing=0.2), judge=person)
    judge(session, (0.6, 0.4))
    openings(session)
    client = Client()
    client.force_login(person)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "moves by more than 20 points from your last judgment (A 60%, B 40%)" in page
    assert 'data-swing-limit="20" data-swing-from="60,40"' in page
    data = client.get(f"/sessions/{session.pk}/view.json").json()
    assert data["end_rule"]["swing_limit"] == 0.2
    assert data["end_rule"]["last_probabilities"] == [0.6, 0.4]


# --------------------------------------------------------------------------------------------------
# The blind and oracle judges' baselines
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ensure, name",
    [(blind_judge_rules, BLIND_JUDGE_RULES), (oracle_judge_rules, ORACLE_JUDGE_RULES)],
)
def test_the_baseline_rule_sets_are_built_in(ensure, name):
    from_migration = Rules.objects.get(name=name)
    assert ensure() == from_migration
    structure = from_migration.get_structure()
    assert not structure.has_speeches
    assert structure.judge_reads_passage is (name == ORACLE_JUDGE_RULES)


def baseline(rules: Rules, person=None) -> Session:
    question = make_question()
    return session_create(
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=rules,
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[SeatAssignment(Role.JUDGE, user=person or make_user())],
    )


def test_a_blind_judge_alone_gives_one_final_judgment_and_never_sees_the_story():
    person = make_user()
    session = baseline(blind_judge_rules(), person)
    assert list(session.seats.values_list("role", flat=True)) == [Role.JUDGE]
    view = judge_view(session)
    assert view.your_turn and view.may_end and not view.may_continue
    assert view.passage_text is None and not view.has_speeches
    client = Client()
    client.force_login(person)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "This is the last round: your judgment is final." in page
    assert not story_windows(page, session.question.passage.text)
    prompt = build_request(view, "v1")
    assert "Nobody argues here" in prompt.system
    assert "your DECISION must be end" in prompt.messages[-1]["content"]
    assert not story_windows(
        prompt.system + prompt.messages[-1]["content"], session.question.passage.text
    )

    with pytest.raises(MoveRejected) as refused:
        judge(session, (0.6, 0.4))
    assert refused.value.code is RejectionCode.MUST_END
    judge(session, (0.6, 0.4), end=True)
    session.refresh_from_db()
    assert session.status == Session.Status.FINISHED


def test_a_debate_needs_its_debaters_unless_the_rules_have_no_speeches():
    question = make_question()
    with pytest.raises(MoveRejected, match="exactly these seats: judge, debater_a, debater_b"):
        session_create(
            question=question,
            protocol_name=Protocol.DEBATE,
            rules=paper_rules(Protocol.DEBATE),
            answer_order=[question.correct_index, question.best_distractor_index],
            seats=[SeatAssignment(Role.JUDGE, user=make_user())],
        )
    with pytest.raises(MoveRejected, match="exactly these seats: judge"):
        session_create(
            question=question,
            protocol_name=Protocol.DEBATE,
            rules=blind_judge_rules(),
            answer_order=[question.correct_index, question.best_distractor_index],
            seats=[
                SeatAssignment(Role.JUDGE, user=make_user()),
                SeatAssignment(Role.DEBATER_A, user=make_user()),
                SeatAssignment(Role.DEBATER_B, user=make_user()),
            ],
        )


def test_the_oracle_judge_reads_the_story_in_its_view_its_room_and_its_prompt():
    person = make_user()
    session = baseline(oracle_judge_rules(), person)
    story = session.question.passage.text
    view = judge_view(session)
    assert view.passage_text == story and view.passage_title == session.question.passage.title
    assert view.correct_position is None  # the story, not the answer
    client = Client()
    client.force_login(person)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="judge-passage"' in page and story_windows(page, story)
    assert "tag correct" not in page
    prompt = build_request(view, "v1")
    assert story in prompt.system and "which you have read" in prompt.system


def test_only_the_oracle_rule_lets_a_live_judge_read_the_story():
    normal = make_debate(rules=paper_with(min_speech_rounds_before_end=2))
    judge(normal, (0.5, 0.5))
    openings(normal)
    view = judge_view(normal)
    assert view.passage_text is None and view.passage_title is None
    assert not story_windows(str(view_to_dict(view)), normal.question.passage.text)
    oracle_debate = make_debate(rules=paper_with(judge_reads_passage=True))
    assert judge_view(oracle_debate).passage_text == oracle_debate.question.passage.text


# --------------------------------------------------------------------------------------------------
# The leak suite, under the new rules: the judge never sees the story by any route
# --------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_judge_under_the_round_rules_sees_nothing_hidden():
    def setup():
        people = {r: make_user(f"ruled-{r}-name") for r in ("judge", "debater_a", "debater_b")}
        rules = paper_with(min_speech_rounds_before_end=2, end_blocked_after_swing=0.2)
        return make_debate(order=[3, 0], rules=rules, **people), people

    session, people = await database_sync_to_async(setup)()
    watch = await database_sync_to_async(JudgeWatch)(
        session, people["judge"], [people["debater_a"], people["debater_b"]]
    )
    await watch.open_sockets(people["judge"])
    move = database_sync_to_async
    await watch.check()
    await move(judge)(session, [0.5, 0.5])
    await move(openings)(session)
    await watch.check()
    await move(judge)(session, [0.9, 0.1], "A swing.")
    await move(sequential)(session)
    await watch.check()
    await move(judge)(session, [0.85, 0.15], "Done.", end=True)
    await watch.check(finished=True)
    await watch.close()
    assert watch.prompts_checked >= 4


@pytest.mark.django_db(transaction=True)
async def test_a_blind_judge_sees_nothing_hidden():
    def setup():
        person = make_user("blind-judge-name")
        return baseline(blind_judge_rules(), person), person

    session, person = await database_sync_to_async(setup)()
    watch = await database_sync_to_async(JudgeWatch)(session, person, [])
    await watch.open_sockets(person)
    await watch.check()
    await database_sync_to_async(judge)(session, [0.5, 0.5], end=True)
    await watch.check(finished=True)
    await watch.close()


def test_staff_create_a_blind_judges_session_from_the_page_with_the_judge_alone(client):
    question = make_question()
    rules = blind_judge_rules()
    judge, a, b = (f"user:{make_user(name).pk}" for name in ("jo-blind", "ann-blind", "ben-blind"))
    client.force_login(make_user("ops-blind", is_staff=True, is_superuser=True))
    form = {"question": question.pk, "protocol": "debate", "rules": rules.pk, "judge": judge}
    refused = client.post("/sessions/new/", {**form, "debater_a": a, "debater_b": b})
    assert refused.status_code == 422
    assert "These rules have no speeches: leave the debater a empty." in refused.content.decode()
    assert not Session.objects.exists()
    client.post("/sessions/new/", form)
    session = Session.objects.get()
    assert list(session.seats.values_list("role", flat=True)) == ["judge"]


def test_blind_and_oracle_judgings_are_settings_of_their_own_in_the_analysis():
    from judging.analysis import AnalysisFilters, analysis_run

    for rules, p in ((blind_judge_rules(), 0.6), (oracle_judge_rules(), 0.9), (None, 0.7)):
        if rules is None:
            session = make_debate()  # a human debate beside them, in its usual setting
            judge(session, [0.5, 0.5])
            speak(session, Role.DEBATER_A, "Mine.")
            speak(session, Role.DEBATER_B, "Mine.")
            judge(session, [p, 1 - p], end=True)
        else:
            judge(baseline(rules), [p, 1 - p], end=True)  # the correct answer shown first
    table = analysis_run(AnalysisFilters()).table
    assert table["human_blind_judge"].n == 1 and table["human_blind_judge"].correct == 1
    assert table["human_oracle_judge"].n == 1
    assert table["human_debate"].n == 1
    assert table["human_oracle_judge"].judgments == ((0.9, True),)
