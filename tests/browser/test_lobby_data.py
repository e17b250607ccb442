"""Data for the staff-page browser tests (not a test module of its own)."""

from __future__ import annotations

from debate.models import PassageReading
from tests.factories import make_debate, make_question, make_user, play_to_end


def sessions_for_staff() -> list[int]:
    """27 debates (2 finished), a staff member "boss", a debater "reader" in all of them, and a
    "newcomer" with no seat."""
    make_user("boss", is_staff=True)
    make_user("newcomer")
    reader = make_user("reader")
    question = make_question()
    PassageReading.objects.get_or_create(user=reader, passage=question.passage)
    ids = []
    for i in range(27):
        session = make_debate(question=make_question(), debater_a=reader)
        if i < 2:
            play_to_end(session, (0.9, 0.1))
        ids.append(session.pk)
    return ids
