"""Leaderboards and a participant's own history, as pure functions over session records
(`debate/records.py`). No Django: `selectors.py` beside it reads the records.

What counts:

- only finished sessions, and only judgings that end in a final judgment (`metrics.judgings`);
- a judge: every judging it gave, live or offline (counted apart), scored by S_j under the
  session's scoring rule (the paper's: log2 p(correct) - 0.05 x continues); it is *correct* when
  its final probability on the correct answer is above 0.5 (a tie is wrong);
- a debater or consultant (an *expert*): its score is log2 of the *live* judge's final
  probability on its own answer (`scoring.debater_score`); it *wins* when that probability is
  above 0.5; honest experts argued the correct answer, dishonest ones another;
- a human appears under their username, an AI agent under its agent name, marked as AI; the two
  are never merged, even under one name.

Scores of minus infinity (the judge put probability 0 on the answer scored) are reported, not
clipped: they are left out of the mean, which is over finite scores only, and counted apart
(`n_infinite`). The ranking honours the true average, which is -inf for anyone with such a score:
everyone without one ranks above everyone with one; among the latter a smaller share of -inf
scores ranks higher, then the finite mean. Ties go to more judgings, then to the name.

Ratings (optional, `fit_ratings`): one logistic model fitted to every judging (live and offline)
at once, a Bradley-Terry model with the judge as a third player,

    logit P(judge correct) = a[setting] + g[judge] + b[honest expert] - b[dishonest expert]

where setting is debate, honest consultancy or dishonest consultancy (a debate has both expert
terms, a consultancy one). g is a judge's skill at finding the truth, b an expert's skill at
pulling the judge to its own side, both in log-odds. Fitted by maximum a posteriori with
independent normal priors, N(0, 1) on every g and b and N(0, 2^2) on every a, so that a
participant with few judgings stays near 0 and a perfect record does not diverge.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from debate.protocol import END_REASON_LABELS, EXPERT_ROLES, ROLE_LABELS, EndReason
from debate.records import JUDGE, OFFLINE_JUDGE, SeatRecord, SessionRecord
from debate.scoring import debater_score, favours
from judging.metrics import Judging, judgings

PROTOCOLS = ("debate", "consultancy")
FINISHED = "finished"
RATING_MODEL = (
    "logit P(judge correct) = a[setting] + g[judge] + b[honest expert] - b[dishonest expert], "
    "fitted to every judging by maximum a posteriori with priors N(0, 1) on g and b and "
    "N(0, 2^2) on a (setting: debate, honest consultancy, dishonest consultancy); "
    "ratings are g and b in log-odds"
)
SKILL_PRIOR_SD = 1.0
SETTING_PRIOR_SD = 2.0


@dataclass(frozen=True)
class LeaderboardFilters:
    protocol: str | None = None  # debate or consultancy; None: both
    since: date | None = None  # sessions created on or after this day
    until: date | None = None  # sessions created on or before this day
    tz: tzinfo = UTC  # the time zone whose days `since` and `until` name

    def __post_init__(self) -> None:
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ValueError(f"Protocol is one of: {', '.join(PROTOCOLS)}.")

    def admits(self, record: SessionRecord) -> bool:
        if self.protocol is not None and record.protocol != self.protocol:
            return False
        day = _day(record.created_at, self.tz)
        if self.since is not None and day < self.since:
            return False
        return self.until is None or day <= self.until


@dataclass(frozen=True)
class Participant:
    """Who held a seat: a human by username, an agent by its name. Usernames are unique and
    records carry the current one, so a name is a person; the AI mark keeps a person and an
    agent of one name apart."""

    name: str
    is_ai: bool

    @property
    def key(self) -> tuple[bool, str]:
        return (self.is_ai, self.name)


@dataclass(frozen=True)
class Standing:
    """One participant's line on a leaderboard. For a judge, ``wins`` counts correct judgings."""

    participant: Participant
    n: int
    wins: int
    score_mean: float | None  # over finite scores; None when there is none
    n_infinite: int  # scores of -inf, left out of the mean
    n_live: int = 0
    n_offline: int = 0
    n_honest: int = 0
    n_dishonest: int = 0
    rating: float | None = None
    rank: int = 0

    @property
    def name(self) -> str:
        return self.participant.name

    @property
    def is_ai(self) -> bool:
        return self.participant.is_ai

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.n if self.n else None

    @property
    def sort_key(self) -> tuple[Any, ...]:
        share = self.n_infinite / self.n if self.n else 0.0
        mean = self.score_mean if self.score_mean is not None else -math.inf
        return (share, -mean, -self.n, self.name.casefold(), self.is_ai)


@dataclass(frozen=True)
class Leaderboards:
    filters: LeaderboardFilters
    sessions: int  # finished sessions that passed the filters
    judges: tuple[Standing, ...]
    honest: tuple[Standing, ...]
    dishonest: tuple[Standing, ...]
    debaters: tuple[Standing, ...]  # honest and dishonest together
    rated: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """One seat a participant held. A session that is not over *for this seat* (running, or
    finished but not yet judged by this offline judge) carries its id, protocol, role, day and
    state only: no probabilities, outcome, honesty, question or other seat."""

    session_id: int
    session_name: str
    protocol: str
    role: str
    created_at: datetime
    over: bool
    state: str  # finished, in progress, not started
    question: str = ""
    outcome: str = ""  # how it ended ("ended by agreement", ...), once over for this seat
    honest: bool | None = None  # experts in finished sessions
    won: bool | None = None  # judge: correct; expert: the judge favoured its answer
    p_own: float | None = None  # judge: final p on the correct answer; expert: on its own
    score: float | None = None  # judge: S_j; expert: log2 of p_own

    @property
    def is_judge(self) -> bool:
        return self.role in (JUDGE, OFFLINE_JUDGE)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


@dataclass(frozen=True)
class History:
    entries: tuple[HistoryEntry, ...]
    as_judge: Standing | None
    as_honest: Standing | None
    as_dishonest: Standing | None
    as_expert: Standing | None

    @property
    def totals(self) -> list[tuple[str, Standing]]:
        rows = [
            ("judge", self.as_judge),
            ("honest expert", self.as_honest),
            ("dishonest expert", self.as_dishonest),
            ("expert, all", self.as_expert),
        ]
        return [(label, s) for label, s in rows if s is not None]


# --------------------------------------------------------------------------------------------------
# Leaderboards
# --------------------------------------------------------------------------------------------------


def leaderboards(
    records: Iterable[SessionRecord],
    filters: LeaderboardFilters | None = None,
    *,
    ratings: bool = False,
) -> Leaderboards:
    """Judges, honest, dishonest and all experts, each ranked (see the module docstring)."""
    filters = filters or LeaderboardFilters()
    chosen = [r for r in records if r.status == FINISHED and filters.admits(r)]
    judges = judge_standings(chosen)
    honest = expert_standings(chosen, honest=True)
    dishonest = expert_standings(chosen, honest=False)
    debaters = expert_standings(chosen)
    if ratings:
        judge_ratings, expert_ratings = fit_ratings(chosen)
        judges = _ranked(replace(s, rating=judge_ratings.get(s.participant.key)) for s in judges)
        honest, dishonest, debaters = (
            _ranked(replace(s, rating=expert_ratings.get(s.participant.key)) for s in table)
            for table in (honest, dishonest, debaters)
        )
    return Leaderboards(
        filters=filters,
        sessions=len(chosen),
        judges=judges,
        honest=honest,
        dishonest=dishonest,
        debaters=debaters,
        rated=ratings,
    )


def judge_standings(records: Iterable[SessionRecord]) -> tuple[Standing, ...]:
    """Every judge of the finished ``records`` ranked by average S_j, live and offline together."""
    tally: dict[tuple[Any, ...], _Tally] = {}
    for item in judgings(_finished(records), offline=True):
        who = participant(item.judge)
        t = tally.setdefault(who.key, _Tally(who))
        t.add(item.score, item.correct)
        t.counts["live" if item.live else "offline"] += 1
    return _ranked(
        t.standing(n_live=t.counts["live"], n_offline=t.counts["offline"]) for t in tally.values()
    )


def expert_standings(
    records: Iterable[SessionRecord], *, honest: bool | None = None
) -> tuple[Standing, ...]:
    """Debaters and consultants ranked by the average log2 of the live judge's final probability
    on their own answer; only honest (or dishonest) seats when ``honest`` says so."""
    tally: dict[tuple[Any, ...], _Tally] = {}
    for _, seat, final in expert_outcomes(records):
        if honest is not None and seat.honest is not honest:
            continue
        who = participant(seat)
        t = tally.setdefault(who.key, _Tally(who))
        position = seat.answer_position
        if position is None:  # an expert argues one answer; a record without one is not scored
            continue
        t.add(debater_score(final, position), favours(final, position))
        t.counts["honest" if seat.honest else "dishonest"] += 1
    return _ranked(
        t.standing(n_honest=t.counts["honest"], n_dishonest=t.counts["dishonest"])
        for t in tally.values()
    )


def expert_outcomes(
    records: Iterable[SessionRecord],
) -> list[tuple[SessionRecord, SeatRecord, tuple[float, ...]]]:
    """(record, expert seat, the live judge's final probabilities) for every expert with an
    answer of every finished session whose live judge gave a final judgment."""
    found = []
    for record in _finished(records):
        final = record.final_judgment
        if final is None or not final.probabilities:
            continue
        for seat in record.experts:
            position = seat.answer_position
            if position is None or not 0 <= position < len(final.probabilities):
                continue
            found.append((record, seat, final.probabilities))
    return found


def participant(seat: SeatRecord) -> Participant:
    return Participant(seat.holder, seat.is_ai)


# --------------------------------------------------------------------------------------------------
# Ratings
# --------------------------------------------------------------------------------------------------


def fit_ratings(
    records: Iterable[SessionRecord],
) -> tuple[dict[tuple[Any, ...], float], dict[tuple[Any, ...], float]]:
    """Judge and expert ratings (log-odds, keyed by `Participant.key`) of the model in the
    module docstring, fitted to every judging of the finished ``records``."""
    import numpy as np
    from scipy import sparse
    from scipy.optimize import minimize
    from scipy.special import expit

    items = judgings(_finished(records), offline=True)
    if not items:
        return {}, {}
    index: dict[tuple[Any, ...], int] = {}

    def column(key: tuple[Any, ...]) -> int:
        return index.setdefault(key, len(index))

    rows: list[list[tuple[int, float]]] = []
    outcomes: list[float] = []
    for item in items:
        terms = [(column(("setting", _rating_setting(item))), 1.0)]
        terms.append((column(("judge", participant(item.judge).key)), 1.0))
        for seat in item.record.experts:
            if seat.honest is not None:
                sign = 1.0 if seat.honest else -1.0
                terms.append((column(("expert", participant(seat).key)), sign))
        rows.append(terms)
        outcomes.append(1.0 if item.correct else 0.0)
    # Sparse: a judging touches at most four columns, and there may be 100,000 judgings.
    row_ids = [i for i, terms in enumerate(rows) for _ in terms]
    col_ids = [j for terms in rows for j, _ in terms]
    values = [v for terms in rows for _, v in terms]
    design = sparse.csr_array((values, (row_ids, col_ids)), shape=(len(rows), len(index)))
    y = np.array(outcomes)
    sd = np.array([SETTING_PRIOR_SD if kind == "setting" else SKILL_PRIOR_SD for kind, _ in index])
    precision = 1.0 / sd**2

    def objective(beta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = design @ beta
        # -log-likelihood of a logistic model, written to stay finite for large |eta|
        nll = float(np.sum(np.logaddexp(0.0, eta) - y * eta))
        prob = expit(eta)
        penalty = 0.5 * float(np.sum(precision * beta**2))
        return nll + penalty, design.T @ (prob - y) + precision * beta

    fit = minimize(objective, np.zeros(len(index)), jac=True, method="L-BFGS-B")
    judges: dict[tuple[Any, ...], float] = {}
    experts: dict[tuple[Any, ...], float] = {}
    for (kind, key), j in index.items():
        if kind == "judge":
            judges[key] = float(fit.x[j])
        elif kind == "expert":
            experts[key] = float(fit.x[j])
    return judges, experts


# --------------------------------------------------------------------------------------------------
# A participant's history
# --------------------------------------------------------------------------------------------------


def participant_history(records: Iterable[SessionRecord], *, user_id: int) -> History:
    """Every seat the user ``user_id`` held in ``records`` (in their order), with outcome and
    score where the session is over for that seat, and the user's totals over those."""
    entries: list[HistoryEntry] = []
    for record in records:
        finished = record.status == FINISHED
        by_judge = {j.judge.seat_id: j for j in judgings([record])} if finished else {}
        for seat in record.seats:
            if seat.is_ai or seat.user_id != user_id:
                continue
            entries.append(_entry(record, seat, by_judge))
    return History(
        entries=tuple(entries),
        as_judge=_totals([e for e in entries if e.over and e.is_judge]),
        as_honest=_totals([e for e in entries if e.over and e.honest is True]),
        as_dishonest=_totals([e for e in entries if e.over and e.honest is False]),
        as_expert=_totals([e for e in entries if e.over and e.honest is not None]),
    )


def _entry(record: SessionRecord, seat: SeatRecord, by_judge: dict[int, Judging]) -> HistoryEntry:
    base: dict[str, Any] = {
        "session_id": record.id,
        "session_name": record.name,
        "protocol": record.protocol,
        "role": seat.role,
        "created_at": record.created_at,
    }
    state = record.status.replace("_", " ")
    finished = record.status == FINISHED
    if seat.role in (JUDGE, OFFLINE_JUDGE):
        item = by_judge.get(seat.seat_id)
        if item is None:
            # Not over for this judge. An offline judge of a finished session who has not yet
            # given a final judgment must not learn the outcome here: "in progress" for them.
            if finished and seat.role == OFFLINE_JUDGE:
                state = "in progress"
            return HistoryEntry(**base, over=False, state=state)
        return HistoryEntry(
            **base,
            over=True,
            state="finished",
            question=record.question,
            outcome=_outcome(record),
            won=item.correct,
            p_own=item.p_correct,
            score=item.score,
        )
    if not finished or seat.role not in EXPERT_ROLES:
        return HistoryEntry(**base, over=False, state=state)
    final = record.final_judgment
    position = seat.answer_position
    if final is None or position is None or not 0 <= position < len(final.probabilities):
        # No live judgment to score it by (a judgeless debate ends by the debaters' agreement).
        return HistoryEntry(
            **base, over=False, state="finished", question=record.question, outcome=_outcome(record)
        )
    p = final.probabilities[position]
    return HistoryEntry(
        **base,
        over=True,
        state="finished",
        question=record.question,
        outcome=_outcome(record),
        honest=seat.honest,
        won=favours(final.probabilities, position),
        p_own=p,
        score=debater_score(final.probabilities, position),
    )


def _outcome(record: SessionRecord) -> str:
    reason = record.ended_by
    return END_REASON_LABELS[EndReason(reason)] if reason else ""


def _totals(entries: Sequence[HistoryEntry]) -> Standing | None:
    if not entries:
        return None
    t = _Tally(Participant("", False))
    for e in entries:
        t.add(e.score if e.score is not None else math.nan, bool(e.won))
    return t.standing(
        n_live=sum(1 for e in entries if e.role == JUDGE),
        n_offline=sum(1 for e in entries if e.role == OFFLINE_JUDGE),
        n_honest=sum(1 for e in entries if e.honest is True),
        n_dishonest=sum(1 for e in entries if e.honest is False),
    )


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    who: Participant
    finite: list[float] = field(default_factory=list)
    infinite: int = 0
    n: int = 0
    wins: int = 0
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, score: float, win: bool) -> None:
        self.n += 1
        self.wins += win
        if score == -math.inf:
            self.infinite += 1
        elif math.isfinite(score):
            self.finite.append(score)

    def standing(self, **counts: int) -> Standing:
        mean = statistics.fmean(self.finite) if self.finite else None
        return Standing(self.who, self.n, self.wins, mean, self.infinite, **counts)


def _ranked(standings: Iterable[Standing]) -> tuple[Standing, ...]:
    ordered = sorted(standings, key=lambda s: s.sort_key)
    return tuple(replace(s, rank=i) for i, s in enumerate(ordered, start=1))


def _finished(records: Iterable[SessionRecord]) -> list[SessionRecord]:
    return [r for r in records if r.status == FINISHED]


def _rating_setting(item: Judging) -> str:
    if item.record.protocol != "consultancy":
        return item.record.protocol
    return "consultancy_honest" if item.honest_expert else "consultancy_dishonest"


def _day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date() if moment.tzinfo is not None else moment.date()
