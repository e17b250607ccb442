"""The pure planner: every rule of a plan, its reasons, its problems naming who and why, balance
per person, exactly half honest consultants and seeded determinism. No database."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from debate.protocol import Protocol, Role
from debate.scheduling.plan import (
    History,
    Person,
    Plan,
    PlanQuestion,
    Record,
    ScheduleRequest,
    plan_as_text,
    plan_sessions,
)

DEBATE, CONSULTANCY = Protocol.DEBATE, Protocol.CONSULTANCY
SPEAKERS = (Role.DEBATER_A, Role.DEBATER_B, Role.CONSULTANT)


def people(*names: str) -> list[Person]:
    return [Person(f"user:{name}", name) for name in names]


def agent(name: str) -> Person:
    return Person(f"agent:{name}", name, is_agent=True)


def question(key: int, passage: int, correct: int = 0, distractor: int = 3) -> PlanQuestion:
    return PlanQuestion(key, f"Question {key}?", passage, f"Story {passage}", correct, distractor)


def readings(names: list[str], passages: list[int]) -> frozenset[tuple[str, int]]:
    return frozenset((f"user:{n}", p) for n in names for p in passages)


def plan(
    questions: list[PlanQuestion],
    pool: list[Person],
    history: History | None = None,
    **options,
) -> Plan:
    request = ScheduleRequest(questions=questions, people=pool, **options)
    return plan_sessions(request, history or History())


def holders(session, *roles: Role) -> list[str]:
    return [s.person.name for s in session.seats if s.role in roles]


def assert_rules_kept(result: Plan, history: History, max_judging: int, max_debating: int) -> None:
    """The invariants every plan keeps, checked from its output alone."""
    judged: set[tuple[str, int]] = set()
    open_judging, open_debating = Counter(), Counter()
    for session in result.sessions:
        passage = session.question.passage_key
        roles = sorted(s.role for s in session.seats)
        expected = [Role.JUDGE, Role.DEBATER_A, Role.DEBATER_B]
        if session.protocol is CONSULTANCY:
            expected = [Role.JUDGE, Role.CONSULTANT]
        assert roles == sorted(expected)
        keys = [s.person.key for s in session.seats]
        assert len(keys) == len(set(keys))
        judge = session.seat(Role.JUDGE).person
        assert not judge.is_agent
        assert (judge.key, passage) not in history.readings
        assert not history.judge_conflicts.get((judge.key, passage))
        assert (judge.key, passage) not in judged
        judged.add((judge.key, passage))
        open_judging[judge.key] += 1
        for seat in session.seats:
            if seat.role in SPEAKERS and not seat.person.is_agent:
                assert (seat.person.key, passage) in history.readings
                open_debating[seat.person.key] += 1
        if session.protocol is DEBATE:
            assert session.seat(Role.DEBATER_A).honest != session.seat(Role.DEBATER_B).honest
        q = session.question
        assert sorted(session.answer_order) == sorted((q.correct_index, q.distractor_index))
    for key, n in open_judging.items():
        assert history.records.get(key, Record()).open_judging + n <= max_judging
    for key, n in open_debating.items():
        assert history.records.get(key, Record()).open_debating + n <= max_debating
    honest, total = result.consultancies
    assert abs(2 * honest - total) <= 1


# --- 1. judges ----------------------------------------------------------------------------------


def test_a_judge_never_judges_a_passage_they_read_or_judged_before():
    pool = people("alice", "bob", "carol")
    history = History(
        readings=readings(["alice", "bob"], [1]),
        judge_conflicts={("user:carol", 2): ("carol already judged a question on “Story 2”",)},
    )
    result = plan([question(1, passage=1)], pool, history)
    assert holders(result.sessions[0], Role.JUDGE) == ["carol"]
    assert "has not read, argued or judged “Story 1”" in result.sessions[0].seat(Role.JUDGE).reason

    result = plan(
        [question(2, passage=2)],
        pool,
        replace(history, readings=readings(["alice", "bob"], [1, 2])),
    )
    assert not result.sessions
    assert "carol already judged a question on “Story 2”" in result.problems[0].message


def test_a_judge_of_a_passage_in_the_plan_judges_no_other_question_on_it():
    pool = people("alice", "bob", "carol", "dave")
    history = History(readings=readings(["alice", "bob"], [1]))
    result = plan([question(1, passage=1), question(2, passage=1)], pool, history, max_judging=5)
    judges = [holders(s, Role.JUDGE)[0] for s in result.sessions]
    assert sorted(judges) == ["carol", "dave"]

    result = plan(
        [question(1, passage=1), question(2, passage=1), question(3, passage=1)],
        pool,
        history,
        max_judging=5,
        max_debating=5,
    )
    assert len(result.sessions) == 2
    assert "already judges a session on “Story 1” in this plan" in result.problems[0].message


def test_several_sessions_of_one_question_need_as_many_judges():
    pool = people("alice", "bob", "carol", "dave")
    history = History(readings=readings(["alice", "bob"], [1]))
    result = plan([question(1, passage=1)], pool, history, per_question=2, max_debating=5)
    assert sorted(holders(s, Role.JUDGE)[0] for s in result.sessions) == ["carol", "dave"]


def test_agents_never_judge():
    result = plan([question(1, passage=1)], [], agents=[agent("gpt")])
    assert (
        result.problems and "no eligible judge: nobody is in the pool" in result.problems[0].message
    )


# --- 2. debaters read the passage ----------------------------------------------------------------


def test_human_debaters_have_read_the_passage():
    pool = people("alice", "bob", "carol", "dave", "erin")
    history = History(readings=readings(["alice", "bob"], [1]) | readings(["carol"], [2]))
    result = plan([question(1, passage=1)], pool, history)
    assert sorted(holders(result.sessions[0], Role.DEBATER_A, Role.DEBATER_B)) == ["alice", "bob"]
    assert "read “Story 1”" in result.sessions[0].seat(Role.DEBATER_A).reason


def test_agents_may_argue_any_passage_but_people_who_read_it_come_first():
    pool = people("alice", "carol")
    history = History(readings=readings(["alice"], [1]))
    result = plan([question(1, passage=1)], pool, history, agents=[agent("gpt"), agent("claude")])
    debaters = holders(result.sessions[0], Role.DEBATER_A, Role.DEBATER_B)
    assert "alice" in debaters and len(set(debaters) & {"gpt", "claude"}) == 1
    ai_seat = next(s for s in result.sessions[0].seats if s.person.is_agent)
    assert "AI agent, may argue any passage" in ai_seat.reason

    result = plan(
        [question(1, passage=1)], pool, History(), protocols=[CONSULTANCY], agents=[agent("gpt")]
    )
    assert holders(result.sessions[0], Role.CONSULTANT) == ["gpt"]


# --- 3. limits of open seats ---------------------------------------------------------------------


def test_open_seats_before_and_in_the_plan_count_towards_the_limits():
    pool = people("alice", "bob", "carol", "dave")
    history = History(
        readings=readings(["alice", "bob", "carol"], [1, 2]),
        records={
            "user:alice": Record(open_debating=2),
            "user:bob": Record(open_debating=1),
            "user:dave": Record(open_judging=1),
        },
    )
    result = plan([question(1, passage=1), question(2, passage=2)], pool, history)
    (session,) = result.sessions
    assert sorted(holders(session, *SPEAKERS)) == ["bob", "carol"]
    assert holders(session, Role.JUDGE) == ["dave"]
    assert "1 open judging of max 2" in session.seat(Role.JUDGE).reason
    bob = next(s for s in session.seats if s.person.name == "bob")
    assert "1 open debate of max 2" in bob.reason
    (problem,) = result.problems
    assert "dave is at the limit of 2 open judgings (1 in this plan)" in problem.message
    assert "alice is at the limit of 2 open debates." in problem.message.replace(";", ".")
    assert "bob is at the limit of 2 open debates (1 in this plan)" in problem.message
    assert "only carol is free" in problem.message


# --- 4. balance per person -----------------------------------------------------------------------


def test_honesty_positions_and_opponents_are_balanced_per_person():
    names = ["alice", "bob", "carol", "dave"]
    pool = people(*names, "judge1", "judge2", "judge3", "judge4", "judge5", "judge6")
    passages = list(range(1, 7))
    history = History(readings=readings(names, passages))
    questions = [question(p, passage=p) for p in passages]
    result = plan(questions, pool, history, max_debating=10)
    assert len(result.sessions) == 6
    honest, dishonest, as_a, as_b, pairs = Counter(), Counter(), Counter(), Counter(), Counter()
    for session in result.sessions:
        for seat in session.seats:
            if seat.role is Role.JUDGE:
                continue
            (honest if seat.honest else dishonest)[seat.person.name] += 1
            (as_a if seat.role is Role.DEBATER_A else as_b)[seat.person.name] += 1
        pairs[frozenset(holders(session, Role.DEBATER_A, Role.DEBATER_B))] += 1
    for name in names:
        assert honest[name] + dishonest[name] == 3
        assert abs(honest[name] - dishonest[name]) <= 1
        assert abs(as_a[name] - as_b[name]) <= 1
    assert len(pairs) == 6  # each of the six possible pairs debated once


def test_history_tips_the_balance():
    pool = people("alice", "bob", "carol")
    history = History(
        readings=readings(["alice", "bob"], [1]),
        records={
            "user:alice": Record(honest=3, dishonest=0, as_a=0, as_b=2),
            "user:bob": Record(honest=1, dishonest=1, as_a=1, as_b=1),
        },
    )
    session = plan([question(1, passage=1)], pool, history).sessions[0]
    alice = next(s for s in session.seats if s.person.name == "alice")
    assert alice.honest is False and alice.role is Role.DEBATER_A
    assert "honest 3 vs dishonest 0 so far; A 0 vs B 2 so far" in alice.reason


def test_pairs_that_met_least_debate_first():
    pool = people("alice", "bob", "carol", "judge")
    history = History(
        readings=readings(["alice", "bob", "carol"], [1]),
        records={
            "user:alice": Record(opponents={"user:bob": 2, "user:carol": 1}),
            "user:bob": Record(opponents={"user:alice": 2, "user:carol": 1}),
            "user:carol": Record(opponents={"user:alice": 1, "user:bob": 1}),
        },
    )
    session = plan([question(1, passage=1)], pool, history).sessions[0]
    assert "carol" in holders(session, Role.DEBATER_A, Role.DEBATER_B)
    carol = next(s for s in session.seats if s.person.name == "carol")
    assert "met" in carol.reason and "1 time before" in carol.reason


# --- 5. consultants honest in exactly half -------------------------------------------------------


def test_consultants_are_honest_in_exactly_half_of_the_consultancies():
    names = ["alice", "bob"]
    judges = [f"judge{i}" for i in range(7)]
    for count in (6, 7):
        questions = [question(p, passage=p) for p in range(1, count + 1)]
        history = History(readings=readings(names, list(range(1, count + 1))))
        for seed in range(5):
            result = plan(
                questions,
                people(*names, *judges),
                history,
                protocols=[CONSULTANCY],
                max_debating=10,
                seed=seed,
            )
            honest, total = result.consultancies
            assert total == count
            assert honest == count // 2 if count % 2 == 0 else honest in (3, 4)
            per_person = Counter(
                (s.seat(Role.CONSULTANT).person.name, s.seat(Role.CONSULTANT).honest)
                for s in result.sessions
            )
            for name in names:
                assert abs(per_person[(name, True)] - per_person[(name, False)]) <= 1


def test_exactly_half_holds_among_the_consultancies_that_can_be_made():
    history = History(readings=readings(["alice"], [1, 2, 3, 4, 5]))
    questions = [question(p, passage=p) for p in range(1, 6)]
    result = plan(
        questions, people("alice", "judge"), history, protocols=[CONSULTANCY], max_judging=4
    )
    assert len(result.sessions) == 2 and len(result.problems) == 3
    assert result.consultancies == (1, 2)


# --- 6. answer order ----------------------------------------------------------------------------


def test_answer_order_shows_the_correct_answer_and_best_distractor_in_random_order():
    history = History(readings=readings(["alice", "bob"], list(range(1, 21))))
    questions = [question(p, passage=p, correct=2, distractor=1) for p in range(1, 21)]
    result = plan(
        questions,
        people("alice", "bob", *[f"j{i}" for i in range(10)]),
        history,
        max_debating=20,
    )
    orders = Counter(s.answer_order for s in result.sessions)
    assert set(orders) == {(2, 1), (1, 2)}


# --- 7. seeded, explained, problems named --------------------------------------------------------


def _study() -> tuple[list[PlanQuestion], list[Person], History]:
    names = ["alice", "bob", "carol", "dave", "erin", "fay"]
    history = History(
        readings=readings(names[:3], [1, 2]) | readings(names[3:], [3]),
        records={"user:bob": Record(open_debating=1, honest=2)},
    )
    questions = [question(k, passage=1 + k % 3) for k in range(1, 7)]
    return questions, people(*names), history


def test_same_inputs_and_seed_give_the_same_plan():
    questions, pool, history = _study()
    options = {"protocols": [DEBATE, CONSULTANCY], "max_debating": 4, "max_judging": 3}
    first = plan(questions, pool, history, seed=7, **options)
    again = plan(list(reversed(questions)), list(reversed(pool)), history, seed=7, **options)
    assert first == again and first.fingerprint == again.fingerprint
    assert plan_as_text(first) == plan_as_text(again)
    others = {plan(questions, pool, history, seed=s, **options).fingerprint for s in range(8)}
    assert len(others) > 1


def test_every_seat_says_why():
    questions, pool, history = _study()
    result = plan(questions, pool, history, protocols=[DEBATE, CONSULTANCY], max_debating=4)
    for session in result.sessions:
        for seat in session.seats:
            assert seat.reason
    text = plan_as_text(result)
    assert "of max 4" in text and "so far" in text


def test_a_pool_that_cannot_staff_a_session_is_named_person_by_person():
    pool = people("alice", "bob", "carol")
    history = History(
        readings=readings(["alice"], [3]),
        judge_conflicts={
            ("user:alice", 3): ("alice has read “Story 3”",),
            ("user:bob", 3): ("bob already judged a question on “Story 3”",),
        },
        records={"user:carol": Record(open_judging=2)},
    )
    result = plan([question(1, passage=3)], pool, history, agents=[agent("gpt")])
    assert not result.sessions and not result.ok
    message = result.problems[0].message
    assert message.startswith("Question “Question 1?” on “Story 3” (debate 1): no eligible judge: ")
    assert "alice has read “Story 3”" in message
    assert "bob already judged a question on “Story 3”" in message
    assert "carol is at the limit of 2 open judgings" in message

    result = plan([question(1, passage=3)], pool, replace(history, records={}))
    message = result.problems[0].message
    assert "no eligible debaters (2 needed): only alice is free" in message
    assert "bob has not read “Story 3”" in message
    assert "no AI agent is in the pool" in message


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 1000),
    n_people=st.integers(0, 7),
    n_questions=st.integers(1, 6),
    read=st.sets(st.tuples(st.integers(0, 6), st.integers(1, 3))),
    judged=st.sets(st.tuples(st.integers(0, 6), st.integers(1, 3))),
    open_seats=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=7, max_size=7),
    with_agent=st.booleans(),
    per_question=st.integers(1, 2),
    k=st.integers(0, 3),
    m=st.integers(0, 3),
)
def test_every_plan_keeps_the_rules(
    seed, n_people, n_questions, read, judged, open_seats, with_agent, per_question, k, m
):
    names = [f"p{i}" for i in range(n_people)]
    history = History(
        readings=frozenset((f"user:p{i}", p) for i, p in read if i < n_people),
        judge_conflicts={
            (f"user:p{i}", p): (f"p{i} already judged a question on “Story {p}”",)
            for i, p in judged
            if i < n_people
        },
        records={
            f"user:{name}": Record(open_judging=oj, open_debating=od)
            for name, (oj, od) in zip(names, open_seats, strict=False)
        },
    )
    result = plan(
        [question(q, passage=1 + q % 3) for q in range(n_questions)],
        people(*names),
        history,
        agents=[agent("gpt")] if with_agent else [],
        protocols=[DEBATE, CONSULTANCY],
        per_question=per_question,
        max_judging=k,
        max_debating=m,
        seed=seed,
    )
    assert len(result.sessions) + len(result.problems) == n_questions * 2 * per_question
    assert_rules_kept(result, history, k, m)
    for problem in result.problems:
        assert problem.reasons and all(r.startswith("no eligible") for r in problem.reasons)
