"""Run the benchmarks and write bench/RESULTS.md and bench/results.json.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m bench                 # quick mode: a few minutes
    .venv/bin/python -m bench --mode full     # the full figures (1M events, 200k cases)
    .venv/bin/python -m bench --only 1,2      # some figures again; the others kept as they were

PostgreSQL: MEDIATION_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/
mediation_bench, created if missing; every figure works in schemas of its own).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from bench import command_cost
from bench import http_figures
from bench import read_scale
from bench import rebuild
from bench.harness import DEFAULT_POSTGRES
from bench.harness import Figure
from bench.harness import Mode
from bench.harness import write_results

FIGURES: dict[int, Callable[[Mode], list[Figure]]] = {
    1: lambda mode: http_figures.commands(mode, "postgres"),
    2: lambda mode: http_figures.commands(mode, "sqlite"),
    3: command_cost.measure,
    4: rebuild.measure,
    5: http_figures.visibility,
    6: read_scale.measure,
    7: http_figures.reads,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["quick", "full"], default="quick")
    parser.add_argument("--only", help="comma-separated figure numbers (default: all)")
    arguments = parser.parse_args()
    chosen = sorted(FIGURES) if not arguments.only else [int(n) for n in arguments.only.split(",")]
    url = os.environ.get("MEDIATION_BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    mode = Mode.named(arguments.mode, url)
    started = time.monotonic()
    figures: list[Figure] = []
    for number in chosen:
        print(f"figure {number} ({mode.name})…", file=sys.stderr, flush=True)
        figures += FIGURES[number](mode)
    command = " ".join(["python -m bench", *sys.argv[1:]])
    write_results(figures, mode, command, time.monotonic() - started, only=bool(arguments.only))
    print(f"wrote bench/RESULTS.md and bench/results.json ({len(figures)} figures)")


if __name__ == "__main__":
    main()
