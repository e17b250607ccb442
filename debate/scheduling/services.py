"""Scheduling study sessions against the database: load what the stored sessions say about the
pool, plan with the pure planner (`debate/scheduling/plan.py`), and write the plan.

`schedule_preview` only reads. `schedule_create` plans again inside its transaction (so the plan
it writes sees the same history it checked) and writes every session through `session_create`,
with one `session_scheduled` audit event each; a plan that cannot be made whole is refused with
nothing written unless the caller asks for the sessions that can be made (``partial``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q

from debate.ai_holders import AIHolder
from debate.audit import audit_record
from debate.errors import ServiceError
from debate.models import Passage, PassageReading, Question, Rules, Seat, Session
from debate.protocol import EXPERT_ROLES, Protocol, Role
from debate.scheduling.plan import (
    DEFAULT_MAX_DEBATING,
    DEFAULT_MAX_JUDGING,
    History,
    Person,
    Plan,
    PlanQuestion,
    Record,
    ScheduleRequest,
    plan_sessions,
)
from debate.selectors import judge_conflicts
from debate.services import SeatAssignment, paper_rules, session_create


class ScheduleRefused(Exception):
    """The plan was not written; ``plan`` is what was planned, the message says why."""

    def __init__(self, plan: Plan, message: str) -> None:
        self.plan = plan
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class ScheduleResult:
    plan: Plan
    sessions: tuple[Session, ...]


def schedule_preview(
    *,
    questions: Sequence[Question],
    participants: Sequence[User],
    agents: Sequence[AIHolder] = (),
    protocols: Sequence[Protocol | str] = (Protocol.DEBATE,),
    per_question: int = 1,
    max_judging: int = DEFAULT_MAX_JUDGING,
    max_debating: int = DEFAULT_MAX_DEBATING,
    seed: int = 0,
) -> Plan:
    """The plan for these inputs, with reasons and problems; writes nothing."""
    return _plan(
        questions=questions,
        participants=participants,
        agents=agents,
        protocols=protocols,
        per_question=per_question,
        max_judging=max_judging,
        max_debating=max_debating,
        seed=seed,
    )


def schedule_create(
    *,
    questions: Sequence[Question],
    participants: Sequence[User],
    agents: Sequence[AIHolder] = (),
    protocols: Sequence[Protocol | str] = (Protocol.DEBATE,),
    per_question: int = 1,
    max_judging: int = DEFAULT_MAX_JUDGING,
    max_debating: int = DEFAULT_MAX_DEBATING,
    seed: int = 0,
    rules: Mapping[Protocol, Rules] | Mapping[str, Rules] | None = None,
    partial: bool = False,
    expected_fingerprint: str = "",
    actor: User | None = None,
    via: str = "",
) -> ScheduleResult:
    """Plan and create the sessions in one transaction. Refused (``ScheduleRefused``, nothing
    written) when a session cannot be made and ``partial`` is false, or when the plan differs
    from the previewed one named by ``expected_fingerprint``. ``rules`` defaults to the paper's
    rules of each protocol."""
    with transaction.atomic():
        plan = _plan(
            questions=questions,
            participants=participants,
            agents=agents,
            protocols=protocols,
            per_question=per_question,
            max_judging=max_judging,
            max_debating=max_debating,
            seed=seed,
        )
        if expected_fingerprint and plan.fingerprint != expected_fingerprint:
            raise ScheduleRefused(
                plan,
                "The plan changed since the preview (sessions, readings or inputs changed); "
                "nothing was written. Review the new plan.",
            )
        if plan.problems and not partial:
            raise ScheduleRefused(
                plan,
                f"Nothing was written: {len(plan.problems)} of "
                f"{len(plan.problems) + len(plan.sessions)} sessions cannot be made. "
                + " ".join(p.message for p in plan.problems),
            )
        chosen_rules = {Protocol(p): r for p, r in (rules or {}).items()}
        questions_by_key = {q.pk: q for q in questions}
        users = {f"user:{u.pk}": u for u in participants}
        agents_by_key = {f"agent:{a.name}": a for a in agents}
        created = []
        for planned in plan.sessions:
            session_rules = chosen_rules.get(planned.protocol) or paper_rules(planned.protocol)
            session = session_create(
                question=questions_by_key[planned.question.key],
                protocol_name=planned.protocol,
                rules=session_rules,
                answer_order=list(planned.answer_order),
                seats=[
                    SeatAssignment(
                        seat.role,
                        user=users.get(seat.person.key),
                        agent=agents_by_key.get(seat.person.key),
                        honest=seat.honest,
                    )
                    for seat in planned.seats
                ],
            )
            audit_record(
                action="session_scheduled",
                actor=actor,
                via=via,
                session=session,
                after={
                    "seed": plan.seed,
                    "plan": plan.fingerprint,
                    "rules": session_rules.name,
                    "answer_order": list(planned.answer_order),
                    "seats": [
                        {
                            "role": seat.role.value,
                            "holder": seat.person.name,
                            "agent": seat.person.is_agent,
                            "honest": seat.honest,
                            "reason": seat.reason,
                        }
                        for seat in planned.seats
                    ],
                },
            )
            created.append(session)
    return ScheduleResult(plan=plan, sessions=tuple(created))


# --------------------------------------------------------------------------------------------------
# Loading the history
# --------------------------------------------------------------------------------------------------


def _plan(
    *,
    questions: Sequence[Question],
    participants: Sequence[User],
    agents: Sequence[AIHolder],
    protocols: Sequence[Protocol | str],
    per_question: int,
    max_judging: int,
    max_debating: int,
    seed: int,
) -> Plan:
    if not questions:
        raise ServiceError("Choose at least one question.")
    if not protocols:
        raise ServiceError("Choose at least one protocol.")
    undebatable = [q for q in questions if _no_debate_pair(q)]
    if undebatable:
        raise ServiceError(
            "These questions have no best distractor, so there is no second answer to debate: "
            + ", ".join(f"#{q.pk} “{q.text[:60]}”" for q in undebatable)
            + ". Leave them out, or set a best distractor in the admin site."
        )
    request = ScheduleRequest(
        questions=[_plan_question(q) for q in questions],
        people=[Person(f"user:{u.pk}", u.get_username()) for u in participants],
        agents=[Person(f"agent:{a.name}", a.name, is_agent=True) for a in agents],
        protocols=[Protocol(p) for p in protocols],
        per_question=per_question,
        max_judging=max_judging,
        max_debating=max_debating,
        seed=seed,
    )
    return plan_sessions(request, _history(questions, participants, agents))


def _no_debate_pair(question: Question) -> bool:
    try:
        question.debate_pair()
    except ValueError:
        return True
    return False


def _plan_question(question: Question) -> PlanQuestion:
    correct, distractor = question.debate_pair()
    return PlanQuestion(
        key=question.pk,
        text=question.text,
        passage_key=question.passage.story,
        passage_title=question.passage.title,
        correct_index=correct,
        distractor_index=distractor,
        answers=tuple(question.answers),
    )


def _history(
    questions: Sequence[Question], participants: Sequence[User], agents: Sequence[AIHolder]
) -> History:
    """Readings, judge conflicts and seat counts of the pool, in a fixed number of queries plus
    one `judge_conflicts` call per person and passage they have any history with."""
    # A story may come in several renderings (passages with one story key): whoever read or sat
    # on any of them has read the story, so the plan works on stories.
    passages = {q.passage_id: q.passage for q in questions}
    story_keys = {p.story_key for p in passages.values() if p.story_key}
    for passage in Passage.objects.filter(story_key__in=story_keys).exclude(pk__in=list(passages)):
        passages[passage.pk] = passage
    story_of = {pk: p.story for pk, p in passages.items()}
    users = {u.pk: u for u in participants}
    readings = set(
        PassageReading.objects.filter(user__in=list(users), passage__in=list(passages)).values_list(
            "user_id", "passage_id"
        )
    )
    seated = set(
        Seat.objects.filter(
            user__in=list(users), session__question__passage__in=list(passages)
        ).values_list("user_id", "session__question__passage_id")
    )
    # Without a reading or a seat on a story nobody has a conflict with it; the selector says
    # why for the rest, so its wording and rules stay the one source.
    conflicts: dict[tuple[str, str], tuple[str, ...]] = {}
    for user_id, passage_id in sorted(readings | seated):
        key = (f"user:{user_id}", story_of[passage_id])
        if key not in conflicts:
            conflicts[key] = tuple(
                judge_conflicts(user=users[user_id], passage=passages[passage_id])
            )
    return History(
        readings=frozenset((f"user:{u}", story_of[p]) for u, p in readings),
        judge_conflicts={k: v for k, v in conflicts.items() if v},
        records=_records(users, [a.name for a in agents]),
    )


def _records(users: Mapping[int, User], ai_names: Sequence[str]) -> dict[str, Record]:
    """Each holder's open seats and their honest/dishonest, A/B and opponent counts so far."""
    pool = Seat.objects.filter(Q(user__in=list(users)) | Q(ai_player__in=list(ai_names))).order_by()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    open_seats = (
        pool.exclude(session__status=Session.Status.FINISHED)
        .values_list("user_id", "ai_player", "role")
        .annotate(n=Count("id"))
    )
    for user_id, ai_player, role, n in open_seats:
        if role == Role.JUDGE:
            counts[_key(user_id, ai_player)]["open_judging"] += n
        elif role in EXPERT_ROLES:
            counts[_key(user_id, ai_player)]["open_debating"] += n
    opponents: dict[str, Counter[str]] = defaultdict(Counter)
    speaking = pool.filter(role__in=EXPERT_ROLES).values_list(
        "session_id",
        "user_id",
        "ai_player",
        "role",
        "answer_position",
        "session__answer_order",
        "session__question__correct_index",
    )
    debates = set()
    for session_id, user_id, ai_player, role, position, order, correct in speaking:
        key = _key(user_id, ai_player)
        honest = position is not None and position < len(order) and order[position] == correct
        counts[key]["honest" if honest else "dishonest"] += 1
        if role == Role.DEBATER_A:
            counts[key]["as_a"] += 1
        elif role == Role.DEBATER_B:
            counts[key]["as_b"] += 1
        if role != Role.CONSULTANT:
            debates.add(session_id)
    debaters = defaultdict(list)
    for session_id, user_id, ai_player in Seat.objects.filter(
        session_id__in=debates, role__in=[Role.DEBATER_A, Role.DEBATER_B]
    ).values_list("session_id", "user_id", "ai_player"):
        debaters[session_id].append(_key(user_id, ai_player))
    for pair in debaters.values():
        if len(pair) == 2:
            opponents[pair[0]][pair[1]] += 1
            opponents[pair[1]][pair[0]] += 1
    return {
        key: Record(
            open_judging=c["open_judging"],
            open_debating=c["open_debating"],
            honest=c["honest"],
            dishonest=c["dishonest"],
            as_a=c["as_a"],
            as_b=c["as_b"],
            opponents=dict(opponents[key]),
        )
        for key, c in counts.items()
    } | {key: Record(opponents=dict(met)) for key, met in opponents.items() if key not in counts}


def _key(user_id: int | None, ai_player: str) -> str:
    return f"user:{user_id}" if user_id is not None else f"agent:{ai_player}"
