"""How long importing the NYU debate dataset takes, and what it holds.

Imports a folder of NYU debate files (by default the paper's 413 in ../shared/data) into a fresh
database and prints the time, the counts and the rate. `--debates N` imports N debates instead,
cycling the folder's files under new names (the published set has 631: `--debates 631`), so the
time for a folder larger than the one at hand is measured, not guessed.

    .venv/bin/python bench/nyu_import.py
    .venv/bin/python bench/nyu_import.py --debates 631
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_django import ROOT, setup_django

SHARED = ROOT.parent / "shared" / "data" / "nyu-debate-2023"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=SHARED, help="a folder of NYU debate files")
    parser.add_argument("--debates", type=int, help="import this many (cycling the files)")
    args = parser.parse_args()
    folder = args.path
    if not folder.exists():
        sys.exit(f"No NYU debates at {folder}: give --path.")
    scratch = None
    if args.debates:
        scratch = Path(tempfile.mkdtemp())
        folder = _cycled(args.path, args.debates, scratch)

    setup_django("nyu_import")
    from django.db import connection

    from judging.nyu.importer import nyu_import

    started = time.perf_counter()
    summary = nyu_import(path=folder)
    elapsed = time.perf_counter() - started
    if scratch:
        shutil.rmtree(scratch)
    print(f"database: {connection.vendor}; files: {summary.files}; sessions: {summary.sessions}")
    print(
        f"import: {elapsed:.1f} s ({summary.sessions / elapsed:.0f} debates/s); "
        f"skipped: {len(summary.skipped)}"
    )
    print(
        f"passages {summary.passages_created}, questions {summary.questions_created}, "
        f"speeches {summary.speeches}, quotes {summary.quotes}, votes {summary.votes}, "
        f"judgments {summary.judgments}, offline judgments {summary.offline_judgments}, "
        f"surveys {summary.surveys}"
    )
    for file, reason in summary.skipped[:10]:
        print(f"  skipped {file}: {reason}")


def _cycled(source: Path, count: int, into: Path) -> Path:
    """``count`` debate files taken from ``source`` in turn, each under a name of its own, with
    metadata naming them all."""
    files = sorted(p for p in source.rglob("*.json") if "metadata" not in p.name)
    metadata = {}
    meta_file = source / "debates-metadata.json"
    if meta_file.exists():
        metadata = {m["name"]: m for m in json.loads(meta_file.read_text())}
    entries = []
    (into / "debates").mkdir(parents=True)
    for n, file in zip(range(count), itertools.cycle(files), strict=False):
        name = file.stem if n < len(files) else f"{file.stem}-copy{n // len(files)}"
        shutil.copyfile(file, into / "debates" / f"{name}.json")
        entries.append({**metadata.get(file.stem, {}), "name": name})
    (into / "debates-metadata.json").write_text(json.dumps(entries))
    return into


if __name__ == "__main__":
    main()
