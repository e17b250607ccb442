"""Scheduling study sessions as a pure function: who judges and who argues which question.

Plain values in: the questions, the pool of people (and AI agents for debater seats), what the
database says about them (who read which passage, why someone may not judge a passage, their open
seats and their counts so far) and a seed. A `Plan` out: every session with its seats, the answer
order shown, a short reason for each seat, and a problem for each session that cannot be made,
naming who was ruled out and why. `debate/scheduling/services.py` loads the history and writes.

The rules a plan keeps:

1. a judge never judges a passage they read, debated on or judged (any question on it) before,
   counting the judgings made earlier in the same plan;
2. a human debater or consultant has read the passage; agents may argue any passage;
3. a person holds at most ``max_judging`` open judge seats and ``max_debating`` open debater or
   consultant seats, counting those already open and the plan's own (agents have no limit);
4. load, honesty, debater A/B and opponents are balanced per holder, greedily: seats go to the
   least loaded eligible people (people who read the passage before agents; of equal pairs, the
   one that met least often); in a debate the holder with fewer honest seats so far argues the
   correct answer and the one with fewer A seats speaks first;
5. the consultant is honest in exactly half of the plan's consultancies (an odd count tosses a
   seeded coin for the last one), spread so each consultant ends as near even as that allows;
6. each session shows the correct answer and the best distractor in a seeded random order.

Same inputs and seed give the same plan: the pool and the questions are sorted by key first and
every tie is broken by one seeded random generator.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from debate.errors import ServiceError
from debate.protocol import LETTERS, Protocol, Role

DEFAULT_MAX_JUDGING = 2
DEFAULT_MAX_DEBATING = 2


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Someone who can hold a seat: a participant, or an AI agent (debater seats only)."""

    key: str  # unique in a plan, e.g. "user:5" or "agent:2"
    name: str
    is_agent: bool = False

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class PlanQuestion:
    key: int
    text: str
    passage_key: str  # the story: every rendering of one story shares it
    passage_title: str
    correct_index: int
    distractor_index: int  # the best distractor: the other answer a session shows
    answers: tuple[str, ...] = ()  # every option's text, in the question's own order

    @property
    def label(self) -> str:
        text = " ".join(self.text.split())
        return f"“{text if len(text) <= 60 else text[:57] + '...'}”"


@dataclass(frozen=True)
class Record:
    """What a holder holds now (open sessions) and has done so far (all sessions)."""

    open_judging: int = 0
    open_debating: int = 0  # debater and consultant seats
    honest: int = 0
    dishonest: int = 0
    as_a: int = 0
    as_b: int = 0
    opponents: Mapping[str, int] = field(default_factory=dict)  # person key -> debates against


@dataclass(frozen=True)
class History:
    """What the stored sessions say about the pool."""

    readings: frozenset[tuple[str, str]] = frozenset()  # (person key, passage key): has read it
    judge_conflicts: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)
    records: Mapping[str, Record] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleRequest:
    questions: Sequence[PlanQuestion]
    people: Sequence[Person]
    agents: Sequence[Person] = ()
    protocols: Sequence[Protocol] = (Protocol.DEBATE,)
    per_question: int = 1  # sessions per question and protocol
    max_judging: int = DEFAULT_MAX_JUDGING
    max_debating: int = DEFAULT_MAX_DEBATING
    seed: int = 0


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedSeat:
    role: Role
    person: Person
    honest: bool | None  # None for the judge
    reason: str


@dataclass(frozen=True)
class PlannedSession:
    question: PlanQuestion
    protocol: Protocol
    number: int  # 1..per_question
    answer_order: tuple[int, int]
    seats: tuple[PlannedSeat, ...]

    def seat(self, role: Role) -> PlannedSeat:
        return next(s for s in self.seats if s.role is role)

    @property
    def shown_answers(self) -> tuple[tuple[str, str, bool], ...]:
        """The answers as the session will show them: (letter, text, whether correct)."""
        return tuple(
            (
                LETTERS[position],
                self.question.answers[index] if index < len(self.question.answers) else "",
                index == self.question.correct_index,
            )
            for position, index in enumerate(self.answer_order)
        )


@dataclass(frozen=True)
class Problem:
    """A session that cannot be made, and why, naming everyone ruled out."""

    question: PlanQuestion
    protocol: Protocol
    number: int
    reasons: tuple[str, ...]

    @property
    def message(self) -> str:
        where = f"{self.question.label} on “{self.question.passage_title}”"
        return f"Question {where} ({self.protocol} {self.number}): " + " ".join(
            f"{reason}." for reason in self.reasons
        )


@dataclass(frozen=True)
class Plan:
    sessions: tuple[PlannedSession, ...]
    problems: tuple[Problem, ...]
    seed: int
    max_judging: int
    max_debating: int

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def consultancies(self) -> tuple[int, int]:
        """(honest consultants, consultancies) in the plan."""
        seats = [
            s.seat(Role.CONSULTANT) for s in self.sessions if s.protocol is Protocol.CONSULTANCY
        ]
        return sum(1 for s in seats if s.honest), len(seats)

    @property
    def fingerprint(self) -> str:
        """Names this exact plan, so a confirmation can check it writes what was previewed."""
        data = [
            [
                s.question.key,
                s.protocol.value,
                s.number,
                list(s.answer_order),
                [[seat.role.value, seat.person.key, seat.honest] for seat in s.seats],
            ]
            for s in self.sessions
        ] + [p.message for p in self.problems]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def plan_sessions(request: ScheduleRequest, history: History) -> Plan:
    """The plan for ``request`` given ``history``; see the module's docstring for its rules."""
    if request.per_question < 1:
        raise ServiceError("Sessions per question must be at least 1.")
    if request.max_judging < 0 or request.max_debating < 0:
        raise ServiceError("The limits of open sessions cannot be negative.")
    planner = _Planner(request, history)
    staffed, problems = planner.staff()
    return Plan(
        sessions=tuple(planner.arrange(staffed)),
        problems=tuple(problems),
        seed=request.seed,
        max_judging=request.max_judging,
        max_debating=request.max_debating,
    )


def plan_as_text(plan: Plan) -> str:
    """The plan as lines of text: each session, its seats with their reasons, then problems."""
    honest, consultancies = plan.consultancies
    lines = [
        f"Plan (seed {plan.seed}): {_count(len(plan.sessions), 'session')}, "
        f"{_count(len(plan.problems), 'problem')}."
    ]
    for number, session in enumerate(plan.sessions, 1):
        q = session.question
        shown = ", ".join(
            f"{i}{' (correct)' if i == q.correct_index else ''}" for i in session.answer_order
        )
        lines.append(
            f"{number}. {session.protocol} on {q.label} (“{q.passage_title}”), "
            f"answers shown in order {shown}"
        )
        for seat in session.seats:
            side = "" if seat.honest is None else (" honest" if seat.honest else " dishonest")
            lines.append(f"   {seat.role:<11} {seat.person.name}{side}: {seat.reason}")
    if consultancies:
        lines.append(f"Consultants honest in {honest} of {consultancies} consultancies.")
    if plan.problems:
        lines.append("Cannot be made:")
        lines.extend(f" - {p.message}" for p in plan.problems)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The planner: first who sits where (staff), then honesty, A/B and answer order (arrange)
# --------------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """A holder's counts as the plan grows."""

    record: Record
    planned_judging: int = 0
    planned_debating: int = 0
    honest: int = 0
    dishonest: int = 0
    as_a: int = 0
    as_b: int = 0
    opponents: Counter[str] = field(default_factory=Counter)
    judged: set[str] = field(default_factory=set)  # passages judged in this plan

    def __post_init__(self) -> None:
        self.honest, self.dishonest = self.record.honest, self.record.dishonest
        self.as_a, self.as_b = self.record.as_a, self.record.as_b
        self.opponents.update(self.record.opponents)

    @property
    def open_judging(self) -> int:
        return self.record.open_judging + self.planned_judging

    @property
    def open_debating(self) -> int:
        return self.record.open_debating + self.planned_debating


@dataclass
class _Staffed:
    question: PlanQuestion
    protocol: Protocol
    number: int
    judge: Person
    speakers: list[Person]
    reasons: dict[str, str]  # person key -> why they got the seat (load part)


class _Planner:
    def __init__(self, request: ScheduleRequest, history: History) -> None:
        self.request = request
        self.history = history
        self.rng = random.Random(request.seed)
        self.people = sorted(_unique(request.people), key=lambda p: p.key)
        self.agents = sorted(_unique(request.agents), key=lambda p: p.key)
        self.tallies = {
            p.key: _Tally(history.records.get(p.key, Record())) for p in self.people + self.agents
        }

    # --- who sits where ---------------------------------------------------------------------

    def staff(self) -> tuple[list[_Staffed], list[Problem]]:
        staffed, problems = [], []
        questions = sorted({q.key: q for q in self.request.questions}.values(), key=lambda q: q.key)
        protocols = list(dict.fromkeys(Protocol(p) for p in self.request.protocols))
        for question in questions:
            for chosen in protocols:
                for number in range(1, self.request.per_question + 1):
                    reasons: dict[str, str] = {}
                    speakers = self._speakers(question, chosen, reasons)
                    judge = self._judge(question, reasons)
                    if isinstance(speakers, str) or isinstance(judge, str):
                        missing = (speakers, judge)
                        problems.append(
                            Problem(
                                question,
                                chosen,
                                number,
                                tuple(m for m in missing if isinstance(m, str)),
                            )
                        )
                        continue
                    self._take(question, judge, speakers)
                    staffed.append(_Staffed(question, chosen, number, judge, speakers, reasons))
        return staffed, problems

    def _judge(self, question: PlanQuestion, reasons: dict[str, str]) -> Person | str:
        """The judge for a session on ``question``, or why nobody can judge it."""
        title = f"“{question.passage_title}”"
        free, refusals = [], []
        for person in self.people:
            tally = self.tallies[person.key]
            why = list(self.history.judge_conflicts.get((person.key, question.passage_key), ()))
            if not why and (person.key, question.passage_key) in self.history.readings:
                why.append(f"{person} has read {title}")
            if question.passage_key in tally.judged:
                why.append(f"{person} already judges a session on {title} in this plan")
            if tally.open_judging >= self.request.max_judging:
                why.append(
                    f"{person} is at the limit of {self.request.max_judging} open judgings"
                    + _planned_part(tally.planned_judging)
                )
            if why:
                refusals.append("; ".join(why))
            else:
                free.append(person)
        if not free:
            return "no eligible judge: " + ("; ".join(refusals) or "nobody is in the pool")
        judge = min(free, key=lambda p: (self.tallies[p.key].open_judging, self.rng.random()))
        load = self.tallies[judge.key].open_judging
        reasons[judge.key] = (
            f"has not read, argued or judged {title}; "
            f"{_count(load, 'open judging')} of max {self.request.max_judging}"
        )
        return judge

    def _speakers(
        self, question: PlanQuestion, chosen: Protocol, reasons: dict[str, str]
    ) -> list[Person] | str:
        """The debaters (or the consultant) for a session on ``question``, or why they are
        missing."""
        needed = 2 if chosen is Protocol.DEBATE else 1
        title = f"“{question.passage_title}”"
        limit = self.request.max_debating
        free, refusals = [], []
        for person in self.people:
            tally = self.tallies[person.key]
            why = []
            if (person.key, question.passage_key) not in self.history.readings:
                why.append(f"{person} has not read {title}")
            if tally.open_debating >= limit:
                why.append(
                    f"{person} is at the limit of {limit} open debates"
                    + _planned_part(tally.planned_debating)
                )
            if why:
                refusals.append("; ".join(why))
            else:
                free.append(person)
        candidates: list[Person] = free + self.agents
        if len(candidates) < needed:
            seat = "debaters (2 needed)" if needed == 2 else "consultant"
            named = [f"only {_names(candidates)} is free"] if candidates else []
            return f"no eligible {seat}: " + "; ".join(
                named + refusals + ([] if self.agents else ["no AI agent is in the pool"])
            )
        if needed == 1:
            picked = [
                min(
                    candidates,
                    key=lambda p: (
                        p.is_agent,
                        self.tallies[p.key].open_debating,
                        self.rng.random(),
                    ),
                )
            ]
        else:

            def preference(pair: tuple[Person, Person]) -> tuple[int, int, int, float]:
                return (
                    sum(p.is_agent for p in pair),
                    sum(self.tallies[p.key].open_debating for p in pair),
                    self.tallies[pair[0].key].opponents[pair[1].key],
                    self.rng.random(),
                )

            pairs = [(one, other) for one, other in combinations(candidates, 2)]
            best = min(pairs, key=preference)
            picked = list(best)
        for person in picked:
            tally = self.tallies[person.key]
            if person.is_agent:
                reasons[person.key] = (
                    f"AI agent, may argue any passage (too few free readers of {title}); "
                    f"{_count(tally.open_debating, 'open debate')}, no limit"
                )
            else:
                reasons[person.key] = (
                    f"read {title}; {_count(tally.open_debating, 'open debate')} of max {limit}"
                )
        if needed == 2:
            first, second = picked
            met = self.tallies[first.key].opponents[second.key]
            for one, other in ((first, second), (second, first)):
                reasons[one.key] += (
                    f"; first debate against {other}"
                    if not met
                    else f"; met {other} {_count(met, 'time')} before"
                )
        return picked

    def _take(self, question: PlanQuestion, judge: Person, speakers: list[Person]) -> None:
        judging = self.tallies[judge.key]
        judging.planned_judging += 1
        judging.judged.add(question.passage_key)
        for person in speakers:
            self.tallies[person.key].planned_debating += 1
        if len(speakers) == 2:
            first, second = speakers
            self.tallies[first.key].opponents[second.key] += 1
            self.tallies[second.key].opponents[first.key] += 1

    # --- honesty, A/B and the answer order --------------------------------------------------

    def arrange(self, staffed: list[_Staffed]) -> list[PlannedSession]:
        """Answer orders and debates in plan order, then the consultants' honesty all at once
        (so that exactly half can be honest while each consultant stays balanced)."""
        orders: list[tuple[int, int]] = []
        seats: dict[int, tuple[PlannedSeat, ...]] = {}
        for index, s in enumerate(staffed):
            order = [s.question.correct_index, s.question.distractor_index]
            self.rng.shuffle(order)
            orders.append((order[0], order[1]))
            if s.protocol is Protocol.DEBATE:
                first, second = s.speakers
                honest_one = self._lower(first, second, lambda t: t.honest - t.dishonest)
                speaker_a = self._lower(first, second, lambda t: t.as_a - t.as_b)
                speaker_b = second if speaker_a is first else first
                seats[index] = (
                    self._seat(Role.DEBATER_A, speaker_a, speaker_a is honest_one, s.reasons),
                    self._seat(Role.DEBATER_B, speaker_b, speaker_b is honest_one, s.reasons),
                )
        consultancies = [i for i, s in enumerate(staffed) if s.protocol is Protocol.CONSULTANCY]
        consultants = [staffed[i].speakers[0] for i in consultancies]
        honesty, targets = self._consultant_honesty(consultants)
        for index, consultant, honest in zip(consultancies, consultants, honesty, strict=True):
            honest_here, here = targets[consultant.key]
            note = f"; honest in {honest_here} of {_count(here, 'consultancy')} here"
            seat = self._seat(Role.CONSULTANT, consultant, honest, staffed[index].reasons, note)
            seats[index] = (seat,)
        return [
            PlannedSession(
                s.question,
                s.protocol,
                s.number,
                orders[index],
                (PlannedSeat(Role.JUDGE, s.judge, None, s.reasons[s.judge.key]), *seats[index]),
            )
            for index, s in enumerate(staffed)
        ]

    def _consultant_honesty(
        self, consultants: list[Person]
    ) -> tuple[list[bool], dict[str, tuple[int, int]]]:
        """Whether each consultancy's consultant is honest: exactly half of them (an odd count
        tosses a coin for the last one), and each consultant as near even as that allows, given
        their honest and dishonest seats so far. Also (honest, consultancies) per consultant."""
        total = len(consultants)
        quota = total // 2 + int(total % 2 == 1 and self.rng.random() < 0.5)
        sessions: dict[str, list[int]] = {}
        for index, person in enumerate(consultants):
            sessions.setdefault(person.key, []).append(index)
        keys = sorted(sessions)
        lean = {k: self.tallies[k].honest - self.tallies[k].dishonest for k in keys}
        target = {k: min(len(sessions[k]), max(0, (len(sessions[k]) - lean[k]) // 2)) for k in keys}

        def imbalance(key: str, honest: int) -> int:
            return abs(lean[key] + 2 * honest - len(sessions[key]))

        planned = sum(target.values())
        while planned != quota:
            step = 1 if planned < quota else -1
            key = min(
                (k for k in keys if 0 <= target[k] + step <= len(sessions[k])),
                key=lambda k: (imbalance(k, target[k] + step), self.rng.random()),
            )
            target[key] += step
            planned += step
        honesty = [False] * total
        for key in keys:
            for index in self.rng.sample(sessions[key], target[key]):
                honesty[index] = True
        return honesty, {k: (target[k], len(sessions[k])) for k in keys}

    def _lower(self, first: Person, second: Person, measure: Callable[[_Tally], int]) -> Person:
        """Of two holders, the one lower on ``measure`` of their tally (a seeded coin on a tie)."""
        one, other = measure(self.tallies[first.key]), measure(self.tallies[second.key])
        if one == other:
            return first if self.rng.random() < 0.5 else second
        return first if one < other else second

    def _seat(
        self, role: Role, person: Person, honest: bool, reasons: dict[str, str], note: str = ""
    ) -> PlannedSeat:
        """The seat, its reason completed with the counts that decided it; then count it."""
        tally = self.tallies[person.key]
        so_far = "so far" if role is not Role.CONSULTANT else "so far, with this plan's debates"
        reason = (
            f"{reasons[person.key]}; honest {tally.honest} vs dishonest {tally.dishonest} {so_far}"
        )
        if role is not Role.CONSULTANT:
            reason += f"; A {tally.as_a} vs B {tally.as_b} so far"
            tally.as_a += role is Role.DEBATER_A
            tally.as_b += role is Role.DEBATER_B
        tally.honest += honest
        tally.dishonest += not honest
        return PlannedSeat(role, person, honest, reason + note)


def _unique(people: Iterable[Person]) -> list[Person]:
    return list({p.key: p for p in people}.values())


def _planned_part(planned: int) -> str:
    return f" ({planned} in this plan)" if planned else ""


def _names(people: Sequence[Person]) -> str:
    return ", ".join(p.name for p in people)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
