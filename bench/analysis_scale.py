"""Analysis at scale: N synthetic finished sessions, then time `analyze --json` and the staff
analysis page, and count their SQL queries (they must not grow with N).

    .venv/bin/python bench/analysis_scale.py --sizes 1000,10000,100000

Each size gets a new database (a temporary SQLite file, or DATABASE_URL's if set: it must be an
empty database). BENCH_SQLITE_PATH=/tmp/a.sqlite3 keeps the file, and a later run with the same
size measures it again without making the sessions anew. Sessions are realistic in shape:
debates and consultancies, human and AI, a prior, 1-6 speech rounds with quotes, and a final
judgment.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_django import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--profile", action="store_true", help="print where analyze spends time")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if len(sizes) > 1:
        # One process per size, so each starts from a fresh database and memory.
        import subprocess

        for size in sizes:
            subprocess.run([sys.executable, __file__, "--sizes", str(size)], check=True)
        return
    (size,) = sizes
    setup_django(f"analysis-{size}")
    from django.conf import settings

    # Pages render without collectstatic (the manifest is a deployment step, not measured).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from debate.models import Session

    started = time.perf_counter()
    if Session.objects.count() != size:  # BENCH_SQLITE_PATH may hold the sessions already
        generate(size)
    made = time.perf_counter() - started
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_user

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        call_command("analyze", "--json", stdout=io.StringIO())
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    with CaptureQueriesContext(connection) as cli_queries:
        started = time.perf_counter()
        out = io.StringIO()
        call_command("analyze", "--json", stdout=out)
        cli = time.perf_counter() - started
    cli_query_count = len(cli_queries)  # read now: the log is cleared below
    settings = json.loads(out.getvalue())["settings"]
    client = Client(SERVER_NAME="localhost")
    from django.contrib.auth import get_user_model

    # A kept database (BENCH_SQLITE_PATH) has the staff user of its first run.
    staff = get_user_model().objects.filter(username="bench-staff").first()
    client.force_login(staff or make_user("bench-staff", is_staff=True))
    reset_queries()
    with CaptureQueriesContext(connection) as page_queries:
        started = time.perf_counter()
        response = client.get("/analysis/", secure=True)
        page = time.perf_counter() - started
    page_query_count = len(page_queries)
    assert response.status_code == 200, response.status_code
    started = time.perf_counter()
    client.get("/analysis/", secure=True)  # a server's second request: templates compiled
    warm = time.perf_counter() - started
    n = sum(v["n"] for v in settings.values())
    print(
        f"{size:>7} sessions ({connection.vendor}; made in {made:.1f} s): "
        f"analyze --json {cli:.2f} s ({cli_query_count} queries), "
        f"page {page:.2f} s first, {warm:.2f} s after ({page_query_count} queries, "
        f"{len(response.content) // 1024} KiB); "
        f"{n} judgings in {len(settings)} settings"
    )


def generate(size: int) -> None:
    """Bulk-insert ``size`` finished sessions with explicit ids (no per-row round trips)."""
    from datetime import UTC, datetime, timedelta

    from django.contrib.auth import get_user_model

    from debate.models import Judgment, Passage, Question, Quote, Round, Seat, Session, Speech
    from debate.services import paper_rules
    from llm_agents.models import Agent, SeatAgent

    rng = random.Random(size)
    text = ("The keeper counted ships at dusk and wrote each one down. " * 160).strip()
    passages = Passage.objects.bulk_create(
        Passage(title=f"Story {i}", source="bench", external_id=str(i), text=text)
        for i in range(50)
    )
    questions = Question.objects.bulk_create(
        Question(
            passage=p,
            external_id="q",
            text="Who counted?",
            answers=["The keeper", "The inspector"],
            correct_index=0,
            best_distractor_index=1,
        )
        for p in passages
    )
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench-{i}") for i in range(200)
    )
    agent = Agent.objects.create(name="bench-agent", provider="openai", model="m")
    rules = {"debate": paper_rules("debate"), "consultancy": paper_rules("consultancy")}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sessions, seats, rounds, speeches, quotes, judgments = [], [], [], [], [], []
    ids = {"seat": 0, "round": 0, "speech": 0}

    def next_id(kind: str) -> int:
        ids[kind] += 1
        return ids[kind]

    for pk in range(1, size + 1):
        protocol = rng.choice(("debate", "consultancy"))
        ai = rng.random() < 0.4
        at = start + timedelta(minutes=pk)
        sessions.append(
            Session(
                id=pk,
                question=rng.choice(questions),
                protocol=protocol,
                rules=rules[protocol],
                answer_order=[0, 1] if rng.random() < 0.5 else [1, 0],
                status=Session.Status.FINISHED,
                created_at=at,
                started_at=at,
                finished_at=at,
            )
        )
        order = sessions[-1].answer_order
        judge = Seat(id=next_id("seat"), session_id=pk, role="judge", user=rng.choice(users))
        experts = (
            [("debater_a", 0), ("debater_b", 1)]
            if protocol == "debate"
            else [("consultant", rng.randint(0, 1))]
        )
        expert_seats = [
            Seat(
                id=next_id("seat"),
                session_id=pk,
                role=role,
                answer_position=position,
                **({"ai_player": agent.name} if ai else {"user": rng.choice(users)}),
            )
            for role, position in experts
        ]
        seats += [judge, *expert_seats]
        correct = order.index(0)
        speech_rounds = rng.randint(1, 6)
        kinds = ["judge"] + (["simultaneous"] if protocol == "debate" else []) + ["judge"]
        kinds = kinds[: 2 if protocol == "consultancy" else 3]
        while sum(k != "judge" for k in kinds) < speech_rounds:
            kinds += ["sequential", "judge"]
        p = 0.5
        for index, kind in enumerate(kinds):
            round_id = next_id("round")
            rounds.append(Round(id=round_id, session_id=pk, index=index, kind=kind, created_at=at))
            if kind == "judge":
                last = index == len(kinds) - 1
                p = min(0.99, max(0.01, p + rng.uniform(-0.3, 0.4)))
                shown = [p, 1 - p] if correct == 0 else [1 - p, p]
                judgments.append(
                    Judgment(
                        session_id=pk,
                        round_id=round_id,
                        seat_id=judge.id,
                        kind="live",
                        probabilities=shown,
                        end=last,
                        created_at=at,
                    )
                )
                continue
            for seat in expert_seats:
                speech_id = next_id("speech")
                begin = rng.randrange(0, len(text) - 300)
                speeches.append(
                    Speech(
                        id=speech_id,
                        round_id=round_id,
                        seat_id=seat.id,
                        text="An argument.",
                        char_count=rng.randint(300, 750),
                        quote_char_count=200,
                        created_at=at,
                    )
                )
                quotes.append(
                    Quote(
                        speech_id=speech_id,
                        position=0,
                        start=begin,
                        end=begin + 200,
                        verified=True,
                        text=text[begin : begin + 200],
                    )
                )
    for model, rows in (
        (Session, sessions),
        (Seat, seats),
        (Round, rounds),
        (Speech, speeches),
        (Quote, quotes),
        (Judgment, judgments),
    ):
        model.objects.bulk_create(rows, batch_size=5000)
    SeatAgent.objects.bulk_create(
        (SeatAgent(seat_id=s.id, agent=agent) for s in seats if s.ai_player), batch_size=5000
    )


if __name__ == "__main__":
    os.environ.setdefault("DEBUG", "false")
    main()
