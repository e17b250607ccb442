"""Interactive debate and consultancy (issue 16, Khan et al. 2024): under rules with
``judge_questions`` on, a continuing live judge puts a question to each expert; the service saves
and checks them, and each seat's view shows them by the visibility rules."""

from __future__ import annotations

import pytest

from debate.judgments import judgment_record
from debate.models import Judgment, Rules, Session
from debate.protocol import Protocol, RejectionCode, Role
from debate.services import MoveRejected, paper_rules
from debate.visibility import view_for, view_to_dict
from tests.factories import judge, make_consultancy, make_debate, seat, speak
from tests.leak_detector import story_windows

pytestmark = pytest.mark.django_db


def questions_rules(protocol: Protocol = Protocol.DEBATE, on: object = True) -> Rules:
    paper = paper_rules(protocol)
    rules, _ = Rules.objects.get_or_create(
        name=f"{paper.name} with judge questions {on}",
        defaults={
            "structure": {**paper.structure, "judge_questions": on},
            "scoring": paper.scoring,
        },
    )
    return rules


def ask(session: Session, questions: dict[str, str], probabilities=(0.5, 0.5), end=False):
    return judgment_record(
        session=session,
        seat=seat(session, Role.JUDGE),
        probabilities=probabilities,
        text="A note.",
        end=end,
        questions=questions,
    )


def view_of(session: Session, role: Role | None):
    fresh = Session.objects.get(pk=session.pk)
    return view_for(None if role is None else seat(fresh, role), fresh)


# --------------------------------------------------------------------------------------------------
# The rules option
# --------------------------------------------------------------------------------------------------


def test_the_option_is_off_by_default_and_only_true_turns_it_on():
    assert not paper_rules(Protocol.DEBATE).judge_questions
    assert questions_rules().judge_questions
    rules = questions_rules(on="yes")
    assert not rules.judge_questions
    with pytest.raises(Exception, match="judge_questions must be true or false, not 'yes'"):
        rules.full_clean()
    questions_rules().full_clean()


# --------------------------------------------------------------------------------------------------
# Saving and checking
# --------------------------------------------------------------------------------------------------


def test_the_questions_are_saved_with_the_judgment_blank_ones_dropped():
    session = make_debate(rules=questions_rules())
    judgment = ask(session, {"debater_a": "  Why page 3?  ", "debater_b": "   "})
    judgment.refresh_from_db()
    assert judgment.questions == {"debater_a": "Why page 3?"}
    assert judgment.text == "A note."


def test_no_questions_is_an_ordinary_judgment():
    session = make_debate(rules=questions_rules())
    assert judge(session).questions == {}


@pytest.mark.parametrize(
    ("questions", "code", "message"),
    [
        (
            {"debater_a": "x" * 751},
            RejectionCode.OVER_CHAR_LIMIT,
            "Your question to debater A has 751 characters; the limit is 750.",
        ),
        (
            {"debater_b": "Why\u202e?"},
            RejectionCode.BAD_TEXT,
            "Your question to debater B contains",
        ),
        (
            {"consultant": "Who are you?"},
            RejectionCode.WRONG_MOVE,
            "Questions go to the debaters or the consultant of this session, not to 'consultant'.",
        ),
        (
            {"judge": "Me?"},
            RejectionCode.WRONG_MOVE,
            "Questions go to the debaters or the consultant of this session, not to 'judge'.",
        ),
    ],
)
def test_a_bad_question_is_refused_with_its_reason_and_nothing_is_saved(questions, code, message):
    session = make_debate(rules=questions_rules())
    with pytest.raises(MoveRejected) as refused:
        ask(session, questions)
    assert refused.value.code is code
    assert message in str(refused.value)
    assert not Judgment.objects.filter(session=session).exists()


def test_questions_are_refused_when_the_rules_do_not_ask_for_them():
    session = make_debate()
    with pytest.raises(MoveRejected) as refused:
        ask(session, {"debater_a": "Why?"})
    assert str(refused.value) == "These rules do not let the judge ask questions."
    assert not Judgment.objects.filter(session=session).exists()


def test_the_turn_is_checked_before_the_questions():
    session = make_debate(rules=questions_rules())
    judge(session)
    with pytest.raises(MoveRejected) as refused:
        ask(session, {"debater_a": "x" * 900})
    assert refused.value.code is RejectionCode.NOT_YOUR_TURN


def test_questions_with_the_final_judgment_are_dropped():
    session = make_debate(rules=questions_rules())
    judge(session)
    speak(session, Role.DEBATER_A, "A opens.")
    speak(session, Role.DEBATER_B, "B opens.")
    final = ask(session, {"debater_a": "Why?"}, (0.8, 0.2), end=True)
    assert final.end and final.questions == {}


# --------------------------------------------------------------------------------------------------
# Who sees which question
# --------------------------------------------------------------------------------------------------


def test_each_debater_has_its_question_waiting_until_it_speaks_and_both_see_both():
    session = make_debate(rules=questions_rules())
    ask(session, {"debater_a": "SENTINEL-A?", "debater_b": "SENTINEL-B?"})
    a, b = view_of(session, Role.DEBATER_A), view_of(session, Role.DEBATER_B)
    assert a.question_for_you == "SENTINEL-A?" and b.question_for_you == "SENTINEL-B?"
    for view in (a, b):  # the transcript shows both, as it shows the judge's notes
        assert view.rounds[0].judgments[0].questions == (
            ("debater_a", "SENTINEL-A?"),
            ("debater_b", "SENTINEL-B?"),
        )
    assert a.question_roles == () and b.question_roles == ()

    speak(session, Role.DEBATER_A, "Because.")
    assert view_of(session, Role.DEBATER_A).question_for_you == ""
    assert view_of(session, Role.DEBATER_B).question_for_you == "SENTINEL-B?"
    speak(session, Role.DEBATER_B, "Because too.")
    assert view_of(session, Role.DEBATER_B).question_for_you == ""


def test_the_judge_sees_its_questions_in_the_transcript_and_never_the_story():
    session = make_debate(rules=questions_rules())
    view = view_of(session, Role.JUDGE)
    assert view.question_roles == ("debater_a", "debater_b")
    ask(session, {"debater_b": "Why?"})
    view = view_of(session, Role.JUDGE)
    assert view.question_roles == ("debater_a", "debater_b")  # its form waits for its turn
    assert view.question_for_you == ""
    assert view.rounds[0].judgments[0].questions == (("debater_b", "Why?"),)
    assert view.passage_text is None
    as_json = view_to_dict(view)
    assert as_json["rounds"][0]["judgments"][0]["questions"] == {"debater_b": "Why?"}
    assert not story_windows(str(as_json), session.question.passage.text)


def test_without_the_option_the_judge_is_offered_no_questions():
    session = make_debate()
    assert view_of(session, Role.JUDGE).question_roles == ()
    assert view_to_dict(view_of(session, Role.JUDGE))["question_roles"] == []


def test_a_consultant_gets_its_question():
    session = make_consultancy()
    session.rules = questions_rules(Protocol.CONSULTANCY)
    session.save(update_fields=["rules"])
    assert view_of(session, Role.JUDGE).question_roles == ("consultant",)
    ask(session, {"consultant": "Where does it say so?"})
    assert view_of(session, Role.CONSULTANT).question_for_you == "Where does it say so?"
    assert view_of(session, None).rounds[0].judgments[0].questions == (
        ("consultant", "Where does it say so?"),
    )


# --------------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------------


def test_the_exports_carry_the_questions(tmp_path):
    import csv
    import io
    import json

    from judging.export import export_sessions

    session = make_debate(rules=questions_rules(), order=None)
    ask(session, {"debater_a": "Why the ship?", "debater_b": "Why not?"})
    speak(session, Role.DEBATER_A, "A opens.")
    speak(session, Role.DEBATER_B, "B opens.")
    ask(session, {"debater_b": "And the crew?"}, (0.6, 0.4))
    chosen = Session.objects.filter(pk=session.pk)

    out = io.StringIO()
    export_sessions(sessions=chosen, fmt="jsonl", out=out)
    record = json.loads(out.getvalue())
    judged = [j for r in record["rounds"] for j in r["judgments"]]
    assert [j["questions"] for j in judged] == [
        {"debater_a": "Why the ship?", "debater_b": "Why not?"},
        {"debater_b": "And the crew?"},
    ]

    out = io.StringIO()
    export_sessions(sessions=chosen, fmt="csv", out=out)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert json.loads(row["judge_questions"]) == [
        {"round": 0, "to": "debater_a", "question": "Why the ship?"},
        {"round": 0, "to": "debater_b", "question": "Why not?"},
        {"round": 2, "to": "debater_b", "question": "And the crew?"},
    ]

    export_sessions(sessions=chosen, fmt="nyu", out=tmp_path)
    (file,) = (tmp_path / "debates" / "official").iterdir()
    data = json.loads(file.read_text())
    notes = [
        turn["JudgeFeedback"]["feedback"]["content"]
        for turn in data["rounds"]
        if "JudgeFeedback" in turn
    ]
    position = {s.role: s.answer_position for s in session.seats.all()}
    letter = "AB"
    assert notes[0] == [
        {
            "Text": {
                "text": "A note.\n\n"
                f"Question to the debater arguing {letter[position['debater_a']]}: Why the ship?"
                f"\n\nQuestion to the debater arguing {letter[position['debater_b']]}: Why not?"
            }
        }
    ]


def test_an_anonymised_export_scrubs_the_questions():
    import io
    import json

    from judging.export import export_sessions

    session = make_debate(rules=questions_rules())
    ask(session, {"debater_a": "Why?"})
    out = io.StringIO()
    export_sessions(
        sessions=Session.objects.filter(pk=session.pk), fmt="jsonl", out=out, anonymize=True
    )
    assert json.loads(out.getvalue())["rounds"][0]["judgments"][0]["questions"] == {
        "debater_a": "Why?"
    }
