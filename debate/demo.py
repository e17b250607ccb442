"""Demo data for `make run`: the fixture stories, a few users and sessions in different states,
all written through the same services as real moves (so every state is one the rules allow)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from debate.judgments import judgment_record
from debate.models import Question, Session
from debate.protocol import Protocol, Role
from debate.services import (
    SeatAssignment,
    judgeless_debate_rules,
    paper_rules,
    session_create,
    speech_submit,
)

DEMO_PASSWORD = "debate-demo"
DEMO_USERS = [
    # username, staff, what they do in the demo sessions
    ("admin", True, "staff: sees everything, admin site"),
    ("judy", False, "judge"),
    ("alice", False, "debater"),
    ("bob", False, "debater"),
    ("casey", False, "consultant"),
]


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    users: list[tuple[str, str]]
    sessions: dict[str, int]


def demo_data_create() -> DemoSummary:
    """Load the fixture stories and, on first run only, demo users and sessions."""
    call_command("loaddata", "stories", verbosity=0)
    User = get_user_model()
    created = not User.objects.filter(username="judy").exists()
    if created:
        with transaction.atomic():
            users = {}
            for username, staff, _ in DEMO_USERS:
                user = User(username=username, is_staff=staff, is_superuser=staff)
                user.set_password(DEMO_PASSWORD)
                user.save()
                users[username] = user
            _demo_sessions(users)
    by_status = {
        status.label: Session.objects.filter(status=status).count() for status in Session.Status
    }
    return DemoSummary(
        created=created,
        users=[(name, role) for name, _, role in DEMO_USERS],
        sessions=by_status,
    )


def _demo_sessions(users: dict) -> None:
    questions = list(
        Question.objects.filter(passage__source="platform-fixtures").order_by("external_id")
    )
    debate = paper_rules(Protocol.DEBATE)
    consultancy = paper_rules(Protocol.CONSULTANCY)

    def debate_on(question: Question, order: list[int]) -> Session:
        return session_create(
            question=question,
            protocol_name=Protocol.DEBATE,
            rules=debate,
            answer_order=order,
            seats=[
                SeatAssignment(Role.JUDGE, user=users["judy"]),
                SeatAssignment(Role.DEBATER_A, user=users["alice"]),
                SeatAssignment(Role.DEBATER_B, user=users["bob"]),
            ],
        )

    def consultancy_on(question: Question, order: list[int], position: int) -> Session:
        return session_create(
            question=question,
            protocol_name=Protocol.CONSULTANCY,
            rules=consultancy,
            answer_order=order,
            seats=[
                SeatAssignment(Role.JUDGE, user=users["judy"]),
                SeatAssignment(Role.CONSULTANT, user=users["casey"], answer_position=position),
            ],
        )

    # Not started: the judge's prior is due.
    debate_on(questions[0], _shown(questions[0], correct_first=True))

    # In progress: openings are in, the judge is to weigh them.
    session = debate_on(questions[3], _shown(questions[3], correct_first=False))
    _judge(session, [0.5, 0.5])
    _speak(session, Role.DEBATER_A, "Start with what the story says outright: ", 0)
    _speak(session, Role.DEBATER_B, "My opponent skips the key passage: ", 1)

    # Finished: one full round of sequential speeches, then the judge ends.
    session = debate_on(questions[6], _shown(questions[6], correct_first=True))
    _judge(session, [0.5, 0.5], "No idea yet; show me the evidence.")
    _speak(session, Role.DEBATER_A, "The story is explicit: ", 2)
    _speak(session, Role.DEBATER_B, "Read on, and the story contradicts that: ", 3)
    _judge(session, [0.6, 0.4], "A's quote is more direct. B, answer it.")
    _speak(session, Role.DEBATER_A, "Here it is again, in other words: ", 4)
    _speak(session, Role.DEBATER_B, "That sentence is about something else: ", 5)
    _judge(session, [0.8, 0.2], "A's evidence holds up.", end=True)

    # Consultancy in progress: the consultant's turn.
    session = consultancy_on(questions[9], _shown(questions[9], correct_first=False), position=0)
    _judge(session, [0.5, 0.5], "Convince me.")

    # Judgeless debate: openings are in, both debaters are to vote on ending it.
    session = session_create(
        question=questions[1],
        protocol_name=Protocol.DEBATE,
        rules=judgeless_debate_rules(),
        answer_order=_shown(questions[1], correct_first=False),
        seats=[
            SeatAssignment(Role.DEBATER_A, user=users["alice"]),
            SeatAssignment(Role.DEBATER_B, user=users["bob"]),
        ],
    )
    _speak(session, Role.DEBATER_A, "No judge yet, so let the story speak: ", 1)
    _speak(session, Role.DEBATER_B, "Whoever reads this later should see: ", 2)


def _shown(question: Question, *, correct_first: bool) -> list[int]:
    correct, distractor = question.debate_pair()
    return [correct, distractor] if correct_first else [distractor, correct]


def _judge(session: Session, probabilities: list[float], text: str = "", end: bool = False) -> None:
    judgment_record(
        session=session,
        seat=session.seats.get(role=Role.JUDGE),
        probabilities=probabilities,
        text=text,
        end=end,
    )


def _speak(session: Session, role: Role, lead: str, paragraph: int) -> None:
    """A short speech quoting the start of one paragraph of the passage by offsets."""
    passage = session.question.passage.text
    start = _paragraph_start(passage, paragraph)
    end = min(passage.find(".", start) + 1 or start + 120, start + 200)
    speech_submit(
        session=session,
        seat=session.seats.get(role=role),
        text=f'{lead}<quote start="{start}" end="{end}">{passage[start:end]}</quote>',
    )


def _paragraph_start(passage: str, paragraph: int) -> int:
    starts = [0] + [i + 2 for i in range(len(passage)) if passage.startswith("\n\n", i)]
    return starts[paragraph % len(starts)]
