"""Batch throughput: how close AI-vs-AI batches come to what the provider's latency allows.

A local stub provider answers every call after a fixed latency L. The script runs B debates at
concurrency C through `run_batch`'s machinery and prints debates per minute against the ideal
C / (calls per debate x L), and the platform's own overhead per turn (time not spent waiting on
the provider).

    .venv/bin/python bench/batch_throughput.py --debates 64 --concurrency 32 --latency 0.5

With `--engine celery --workers W` the turns go through Celery as in production: W worker
processes (`celery -A config worker --pool threads`, C / W threads each) take them from a
redis-server started for the run (or REDIS_URL), and the platform's CPU per turn counts this
process and the workers.

    .venv/bin/python bench/batch_throughput.py --engine celery --workers 2 --concurrency 32

Uses DATABASE_URL if set (a new, empty database), else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_django import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debates", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per provider call")
    parser.add_argument("--processes", type=int, default=2, help="local engine: processes")
    parser.add_argument("--engine", choices=["local", "celery"], default="local")
    parser.add_argument("--workers", type=int, default=1, help="celery engine: worker processes")
    args = parser.parse_args()

    os.environ["LLM_CONCURRENCY_PER_ENDPOINT"] = str(max(args.concurrency, 1))
    redis = None
    if args.engine == "celery" and not os.environ.get("REDIS_URL"):
        redis = _redis_server()
        os.environ["REDIS_URL"] = redis[1]
    setup_django("batch")
    from django.db import connection

    from llm_agents.batches import batch_create, batch_run, long_lived_code_frozen
    from llm_agents.models import LLMCall
    from tests.factories import make_question

    workers: list[subprocess.Popen] = []
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
        if args.engine == "celery":
            workers = _celery_workers(args.workers, args.concurrency)
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
        from llm_agents import batches

        batches.FOLLOW_POLL_S = 0.1  # the end is seen within 0.1 s
        workers_cpu = sum(_cpu_seconds(w.pid) for w in workers)
        started = time.perf_counter()
        cpu_started = time.process_time()
        summary = batch_run(
            batch, concurrency=args.concurrency, processes=args.processes, engine=args.engine
        )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        cpu += sum(_cpu_seconds(w.pid) for w in workers) - workers_cpu
        stub_cpu = _cpu_seconds(stub.pid)
    finally:
        stub.terminate()
        stub.wait()
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        if redis is not None:
            redis[0].kill()
            redis[0].wait()

    from django.db.models import Avg

    calls = LLMCall.objects.filter(session__batch_link__batch=batch).count()
    provider_ms = LLMCall.objects.filter(session__batch_link__batch=batch).aggregate(
        a=Avg("latency_ms")
    )["a"]
    calls_per_debate = calls / max(summary.completed, 1)
    per_minute = summary.completed / wall * 60
    ideal = args.concurrency * 60 / (calls_per_debate * args.latency)
    busy = args.concurrency * wall  # worker-seconds available
    overhead_ms = (busy - calls * args.latency) / calls * 1000
    where = (
        f"in {args.workers} Celery worker(s)"
        if args.engine == "celery"
        else f"in {args.processes} processes"
    )
    print(
        f"database: {connection.vendor}; engine {args.engine}; {summary.completed}/{args.debates} "
        f"debates, {calls} calls ({calls_per_debate:.1f} per debate), C={args.concurrency} "
        f"{where}, L={args.latency * 1000:.0f} ms, wall {wall:.1f} s"
    )
    print(
        f"debates/min: {per_minute:.0f} against an ideal of {ideal:.0f} "
        f"({per_minute / ideal:.0%}); platform overhead per turn: {overhead_ms:.1f} ms "
        f"(worker time not spent waiting on the provider, including idle tail); "
        f"mean call as seen by the client: {provider_ms:.0f} ms"
    )
    if args.processes == 1 or args.engine == "celery":
        print(
            f"platform CPU per turn: {cpu / calls * 1000:.1f} ms "
            f"({cpu / wall:.0%} of one core over the run); "
            f"the stub provider's CPU: {stub_cpu / wall:.0%} of one core; "
            f"cores here: {os.cpu_count()}"
        )


def _redis_server() -> tuple[subprocess.Popen, str]:
    """A redis-server of this run's own, on a free port."""
    if not shutil.which("redis-server"):
        sys.exit("--engine celery needs redis-server installed (or REDIS_URL)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", tempfile.mkdtemp()]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def _celery_workers(count: int, concurrency: int) -> list[subprocess.Popen]:
    """`count` Celery workers sharing `concurrency` threads, on this run's database and Redis;
    returns once each says it is ready."""
    logs = Path(tempfile.mkdtemp())
    workers = []
    for i in range(count):
        threads = concurrency // count + (i < concurrency % count)
        log = logs / f"worker{i}.log"
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "threads"]
        command += ["--concurrency", str(threads), "-n", f"bench{i}@%h", "--loglevel", "INFO"]
        command += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
        with log.open("wb") as out:
            workers.append(
                subprocess.Popen(
                    command,
                    cwd=Path(__file__).resolve().parent.parent,
                    env={**os.environ, "LOG_LEVEL": "WARNING"},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 120
    while not all(" ready." in (logs / f"worker{i}.log").read_text() for i in range(count)):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            sys.exit(f"the Celery workers did not start: see {logs}")
        time.sleep(0.2)
    return workers


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
