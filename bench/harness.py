"""What every benchmark shares: the run's mode, a figure and its goal, medians, the machine.

Every figure is a ratio against a baseline measured in the same run on the same machine (this
machine is shared and noisy), or a latency with an absolute goal. Each is the median of
several runs; the raw runs are kept in the JSON file.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
RESULTS_JSON = ROOT / "bench" / "results.json"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/mediation_bench"
NOT_MET = "Goals not met: the profiles and what it would take are in `bench/ANALYSIS.md`."


@dataclass(frozen=True)
class Mode:
    """How much to measure: quick (a few minutes) or full."""

    name: str
    runs: int  # each figure is the median of this many runs
    seconds: float  # length of one load run over HTTP
    rebuild_events: int  # figure 4
    many_cases: int  # figure 6: the large store
    few_cases: int  # figure 6: the baseline store
    postgres_url: str = DEFAULT_POSTGRES

    @classmethod
    def named(cls, name: str, postgres_url: str = DEFAULT_POSTGRES) -> Mode:
        if name == "quick":
            return cls("quick", 3, 5.0, 100_000, 20_000, 2_000, postgres_url)
        if name == "full":
            return cls("full", 5, 15.0, 1_000_000, 200_000, 2_000, postgres_url)
        raise ValueError(f"no mode {name!r} (quick, full)")


@dataclass(frozen=True)
class Goal:
    """What a figure must reach: a ratio at least / at most a bound, or a value under one."""

    text: str
    check: Callable[[float | None, float], bool] | None = field(default=None, compare=False)

    @classmethod
    def ratio_at_least(cls, bound: float) -> Goal:
        return cls(f"ratio >= {bound:g}", lambda ratio, _: ratio is not None and ratio >= bound)

    @classmethod
    def ratio_at_most(cls, bound: float) -> Goal:
        return cls(f"ratio <= {bound:g}", lambda ratio, _: ratio is not None and ratio <= bound)

    @classmethod
    def value_below(cls, bound: float, unit: str) -> Goal:
        return cls(f"< {bound:g} {unit}", lambda _, value: value < bound)

    @classmethod
    def reported(cls) -> Goal:
        return cls("reported")


@dataclass
class Figure:
    number: int
    name: str
    unit: str
    runs: list[float]
    goal: Goal
    baseline_name: str | None = None
    baseline_runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def value(self) -> float:
        return statistics.median(self.runs)

    @property
    def baseline(self) -> float | None:
        return statistics.median(self.baseline_runs) if self.baseline_runs else None

    @property
    def ratio(self) -> float | None:
        """value / baseline, from the medians."""
        baseline = self.baseline
        return None if not baseline else self.value / baseline

    @property
    def met(self) -> bool | None:
        return None if self.goal.check is None else self.goal.check(self.ratio, self.value)

    def as_json(self) -> dict[str, Any]:
        found = asdict(self)
        found["goal"] = self.goal.text
        found.update(value=self.value, baseline=self.baseline, ratio=self.ratio, met=self.met)
        return found


def repeat(times: int, measure: Callable[[], float]) -> list[float]:
    return [measure() for _ in range(times)]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of the values fall (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "postgresql": _postgres_version(),
    }


def _postgres_version() -> str:
    try:
        found = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, timeout=5, check=False
        )
        return found.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def write_results(
    figures: Sequence[Figure], mode: Mode, command: str, seconds: float, *, only: bool = False
) -> None:
    """Write RESULTS.md and results.json. With `only` (some figures measured again), the
    other figures of the last results are kept as they were, each with its own date."""
    found = machine()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    measured = [
        {**f.as_json(), "measured_at": when, "command": command, "mode": mode.name} for f in figures
    ]
    numbers = {f.number for f in figures}
    kept = [r for r in _last_results() if r["number"] not in numbers] if only else []
    rows = sorted([*kept, *measured], key=lambda r: r["number"])
    lines = [
        "# Benchmark results",
        "",
        f"Measured {when} by `{command}` ({mode.name} mode, {seconds / 60:.0f} min; each "
        f"figure the median of {mode.runs} runs).",
    ]
    if kept:
        runs = sorted({(r["measured_at"], r["command"]) for r in kept})
        lines.append(
            "Figures "
            + ", ".join(str(n) for n in sorted({r["number"] for r in kept}))
            + " are kept from "
            + "; ".join(f"`{c}` ({at})" for at, c in runs)
            + "."
        )
    lines += [
        "",
        f"Machine: {found['cpu']}, {found['cores']} cores, {found['memory']}; {found['os']}; "
        f"Python {found['python']}; {found['postgresql']}.",
        "",
        "| # | figure | value | baseline | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        baseline = (
            f"{_number(row['baseline'])} {row['unit']} ({row['baseline_name']})"
            if row["baseline_name"]
            else "—"
        )
        met = {True: "yes", False: "**no**", None: "—"}[row["met"]]
        lines.append(
            f"| {row['number']} | {row['name']} | {_number(row['value'])} {row['unit']} | "
            f"{baseline} | {_number(row['ratio'])} | {row['goal']} | {met} |"
        )
    notes = [f"- {r['number']}. {r['name']}: {r['note']}" for r in rows if r["note"]]
    if notes:
        lines += ["", "Notes:", "", *notes]
    lines += ["", "Raw runs: `bench/results.json`."]
    if any(r["met"] is False for r in rows):
        lines.append(NOT_MET)
    lines.append("")
    RESULTS_MD.write_text("\n".join(lines))
    RESULTS_JSON.write_text(
        json.dumps(
            {
                "measured_at": when,
                "command": command,
                "mode": asdict(mode),
                "machine": found,
                "figures": rows,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )


def _last_results() -> list[dict[str, Any]]:
    """The figures of the last results.json, each with when and how it was measured."""
    try:
        last = json.loads(RESULTS_JSON.read_text())
    except (OSError, ValueError):
        return []
    return [
        {
            "measured_at": last["measured_at"],
            "command": last["command"],
            "mode": last["mode"]["name"],
            **figure,
        }
        for figure in last["figures"]
    ]
