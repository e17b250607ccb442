"""Builders for test data. Sessions are created through `session_create`, moves through the
real services, so every test state is one the rules allow."""

from __future__ import annotations

import itertools

import factory
from django.contrib.auth import get_user_model

from debate.judgments import judgment_record
from debate.models import Passage, Question, Rules, Seat, Session
from debate.protocol import Protocol, Role
from debate.services import (
    SeatAssignment,
    judgeless_debate_rules,
    paper_rules,
    session_create,
    speech_submit,
    vote_submit,
)

_counter = itertools.count(1)

PASSAGE_TEXT = (
    "The lighthouse keeper counted the ships every evening. In the spring of that year, "
    "seven ships passed the point, and none of them stopped.\n\n"
    "Marta, his daughter, kept a second count in a blue notebook. Her count was always one "
    "higher, because she counted the ferry that her father refused to call a ship.\n\n"
    "When the inspector came in June, he read both counts and chose the daughter's, since the "
    "law named every vessel that carried passengers."
)


class PassageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Passage

    title = factory.Sequence(lambda n: f"Story {n}")
    author = "Test author"
    source = "tests"
    external_id = factory.Sequence(lambda n: f"passage-{n}")
    text = PASSAGE_TEXT


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    passage = factory.SubFactory(PassageFactory)
    external_id = factory.Sequence(lambda n: f"question-{n}")
    text = "Whose count did the inspector accept, and why?"
    answers = [
        "The daughter's, because the law counted every passenger vessel.",
        "The keeper's, because he had kept count for longer.",
        "Neither, because the counts disagreed.",
        "The keeper's, because the ferry was not a ship.",
    ]
    correct_index = 0
    best_distractor_index = 3


def make_question(**fields) -> Question:
    return QuestionFactory(**fields)


def make_user(username: str | None = None, **fields):
    User = get_user_model()
    user = User(username=username or f"user{next(_counter)}", **fields)
    user.set_password("pw")
    user.save()
    return user


def make_debate(
    *,
    question: Question | None = None,
    order: list[int] | None = None,
    rules: Rules | None = None,
    **users,
) -> Session:
    question = question or make_question()
    return session_create(
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=rules or paper_rules(Protocol.DEBATE),
        answer_order=order or [question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, user=users.get("judge") or make_user()),
            SeatAssignment(Role.DEBATER_A, user=users.get("debater_a") or make_user()),
            SeatAssignment(Role.DEBATER_B, user=users.get("debater_b") or make_user()),
        ],
    )


def make_judgeless_debate(*, question: Question | None = None, **users) -> Session:
    """A debate with no live judge: the debaters vote on ending after each speech round."""
    question = question or make_question()
    return session_create(
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=judgeless_debate_rules(),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.DEBATER_A, user=users.get("debater_a") or make_user()),
            SeatAssignment(Role.DEBATER_B, user=users.get("debater_b") or make_user()),
        ],
    )


def make_consultancy(
    *, question: Question | None = None, consultant_position: int = 0, **users
) -> Session:
    question = question or make_question()
    return session_create(
        question=question,
        protocol_name=Protocol.CONSULTANCY,
        rules=paper_rules(Protocol.CONSULTANCY),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, user=users.get("judge") or make_user()),
            SeatAssignment(
                Role.CONSULTANT,
                user=users.get("consultant") or make_user(),
                answer_position=consultant_position,
            ),
        ],
    )


def timed_rules(seconds: int, protocol: Protocol = Protocol.DEBATE) -> Rules:
    """The paper's rules with a time per turn."""
    paper = paper_rules(protocol)
    return Rules.objects.create(
        name=f"{paper.name}, {seconds} s a turn {next(_counter)}",
        structure={**paper.structure, "turn_time_limit_s": seconds},
        scoring=paper.scoring,
    )


def seat(session: Session, role: Role) -> Seat:
    return session.seats.get(role=role)


def judge(session: Session, probabilities=(0.5, 0.5), text: str = "", end: bool = False):
    return judgment_record(
        session=session,
        seat=seat(session, Role.JUDGE),
        probabilities=probabilities,
        text=text,
        end=end,
    )


def speak(session: Session, role: Role, text: str):
    return speech_submit(session=session, seat=seat(session, role), text=text)


def vote(session: Session, role: Role, *, end: bool):
    return vote_submit(session=session, seat=seat(session, role), end=end)


def quote(session: Session, fragment: str) -> str:
    """Markup quoting ``fragment`` of the session's passage by offsets, as a browser would."""
    passage = session.question.passage.text
    start = passage.index(fragment)
    return f'<quote start="{start}" end="{start + len(fragment)}">{fragment}</quote>'


def play_to_end(session: Session, final=(0.8, 0.2)) -> Session:
    """Play a paper debate to the judge's end: the prior, both openings, a final judgment with
    ``final`` (probabilities of the shown answers)."""
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "Mine.")
    speak(session, Role.DEBATER_B, "No, mine.")
    judge(session, tuple(final), end=True)
    return session
