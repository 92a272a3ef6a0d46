"""Running one figure module alone: `python -m bench.<module> [--mode quick|full]`."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from bench.harness import DEFAULT_POSTGRES
from bench.harness import Figure
from bench.harness import Mode


def number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def show(figures: list[Figure]) -> None:
    for f in figures:
        met = {True: "met", False: "NOT MET", None: "—"}[f.met]
        print(f"figure {f.number}: {f.name}")
        print(f"  value     {number(f.value)} {f.unit}   runs {[number(r) for r in f.runs]}")
        if f.baseline_name:
            runs = [number(r) for r in f.baseline_runs]
            print(f"  baseline  {number(f.baseline)} {f.unit}   runs {runs}  ({f.baseline_name})")
        print(f"  ratio     {number(f.ratio)}   goal {f.goal.text}: {met}")
        if f.note:
            print(f"  note      {f.note}")


def run(measure: Callable[[Mode], list[Figure]], description: str) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mode", choices=["quick", "full"], default="quick")
    arguments = parser.parse_args()
    url = os.environ.get("MEDIATION_BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    started = time.monotonic()
    figures = measure(Mode.named(arguments.mode, url))
    show(figures)
    print(f"({time.monotonic() - started:.0f} s)")
