"""How long one move takes through the services: lock, replay, check, save, announce.

Plays N whole debates (prior, openings, K sequential rounds, final judgment) through
`speech_submit` and `judgment_record` and prints latency percentiles per move and moves per second.
Runs against a fresh temporary SQLite file by default, or the (existing) database in DATABASE_URL;
it migrates that database and leaves its rows there.

    .venv/bin/python bench/move_latency.py --debates 50 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_django import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debates", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="sequential rounds per debate")
    args = parser.parse_args()

    setup_django("moves")
    from django.db import connection

    from debate import protocol
    from debate.protocol import Role
    from tests.factories import judge, make_debate, quote, speak

    timings: list[float] = []
    counts = {"queries": 0, "replays": 0, "moves": 0, "counting": False}

    def count_query(execute, sql, params, many, context):
        if counts["counting"]:
            counts["queries"] += 1
        return execute(sql, params, many, context)

    real_replay = protocol.replay

    def counted_replay(*args, **kwargs):
        if counts["counting"]:
            counts["replays"] += 1
        return real_replay(*args, **kwargs)

    protocol.replay = counted_replay
    wrapper = connection.execute_wrapper(count_query)  # kept: its exit would remove the wrapper
    wrapper.__enter__()

    def timed(move, *args, **kwargs) -> None:
        # Everything a move costs the server: the service and the after-commit work (the
        # notifications, the pushes, the AI scheduling), which runs at once outside a transaction.
        counts["counting"] = True
        started = time.perf_counter()
        move(*args, **kwargs)
        timings.append(time.perf_counter() - started)
        counts["counting"] = False
        counts["moves"] += 1

    wall = time.perf_counter()
    for _ in range(args.debates):
        session = make_debate()
        evidence = quote(session, "seven ships passed the point")
        timed(judge, session, [0.5, 0.5])
        timed(speak, session, Role.DEBATER_A, "Opening A " + evidence)
        timed(speak, session, Role.DEBATER_B, "Opening B " + evidence)
        for _ in range(args.rounds):
            timed(judge, session, [0.6, 0.4], "Go on.")
            timed(speak, session, Role.DEBATER_A, "A argues " + evidence)
            timed(speak, session, Role.DEBATER_B, "<quote>Seven ships passed</quote> says B")
        timed(judge, session, [0.7, 0.3], "Done.", end=True)
    wall = time.perf_counter() - wall

    ms = sorted(t * 1000 for t in timings)
    q = statistics.quantiles(ms, n=100)
    print(f"database: {connection.vendor}; debates: {args.debates}; moves: {len(ms)}")
    print(
        f"per move: p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {ms[-1]:.1f} ms"
    )
    print(f"throughput (one client, sequential): {len(ms) / sum(timings):.0f} moves/s")
    moves = counts["moves"]
    print(
        f"per move: {counts['queries'] / moves:.1f} SQL queries, "
        f"{counts['replays'] / moves:.2f} history replays"
    )
    print(f"wall time including session creation: {wall:.1f} s")


if __name__ == "__main__":
    main()
