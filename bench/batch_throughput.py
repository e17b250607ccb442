"""Batch throughput: how close AI-vs-AI batches come to what the provider's latency allows.

A local stub provider answers every call after a fixed latency L. The script runs B debates at
concurrency C through `run_batch`'s machinery and prints debates per minute against the ideal
C / (calls per debate x L), and the platform's own overhead per turn (time not spent waiting on
the provider).

    .venv/bin/python bench/batch_throughput.py --debates 64 --concurrency 32 --latency 0.5

Uses DATABASE_URL if set (a new, empty database), else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_django import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debates", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per provider call")
    parser.add_argument("--processes", type=int, default=2, help="batch worker processes")
    args = parser.parse_args()

    os.environ["LLM_CONCURRENCY_PER_ENDPOINT"] = str(max(args.concurrency, 1))
    setup_django("batch")
    from django.db import connection

    from llm_agents.batches import batch_create, batch_run, long_lived_code_frozen
    from llm_agents.models import LLMCall
    from tests.factories import make_question

    # The stub provider runs in a process of its own, as a real provider would: its HTTP
    # handling must not compete with the platform for this interpreter.
    stub = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_stubs", "--latency", str(args.latency)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        stub_url = stub.stdout.readline().strip()
        os.environ.update(
            OPENAI_API_KEY="bench", OPENAI_BASE_URL=stub_url + "/v1", ANTHROPIC_API_KEY="bench"
        )
        run = f"bench-{int(time.time())}"
        for i in range(8):
            make_question(passage__external_id=f"{run}-p{i}", external_id=f"{run}-q{i}")
        batch = batch_create(
            batch_id=run,
            protocol_name="debate",
            debater_spec="openai:bench-debater",
            judge_spec="openai:bench-judge",
            questions=args.debates,
            question_filter={"external_id__startswith": run},
        )
        long_lived_code_frozen()  # as run_batch does
        started = time.perf_counter()
        cpu_started = time.process_time()
        summary = batch_run(batch, concurrency=args.concurrency, processes=args.processes)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        stub_cpu = _cpu_seconds(stub.pid)
    finally:
        stub.terminate()
        stub.wait()

    from django.db.models import Avg

    calls = LLMCall.objects.filter(session__batch=batch).count()
    provider_ms = LLMCall.objects.filter(session__batch=batch).aggregate(a=Avg("latency_ms"))["a"]
    calls_per_debate = calls / max(summary.completed, 1)
    per_minute = summary.completed / wall * 60
    ideal = args.concurrency * 60 / (calls_per_debate * args.latency)
    busy = args.concurrency * wall  # worker-seconds available
    overhead_ms = (busy - calls * args.latency) / calls * 1000
    print(
        f"database: {connection.vendor}; {summary.completed}/{args.debates} debates, "
        f"{calls} calls ({calls_per_debate:.1f} per debate), C={args.concurrency} "
        f"in {args.processes} processes, "
        f"L={args.latency * 1000:.0f} ms, wall {wall:.1f} s"
    )
    print(
        f"debates/min: {per_minute:.0f} against an ideal of {ideal:.0f} "
        f"({per_minute / ideal:.0%}); platform overhead per turn: {overhead_ms:.1f} ms "
        f"(worker time not spent waiting on the provider, including idle tail); "
        f"mean call as seen by the client: {provider_ms:.0f} ms"
    )
    if args.processes == 1:
        print(
            f"platform CPU per turn: {cpu / calls * 1000:.1f} ms "
            f"({cpu / wall:.0%} of one core over the run); "
            f"the stub provider's CPU: {stub_cpu / wall:.0%} of one core; "
            f"cores here: {os.cpu_count()}"
        )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
