"""Figure 3: what a command costs on a long case, as a ratio to the same command on a short one.

Snapshots (one every SNAPSHOT_INTERVAL events, application/case_store.py) should make a command
on a case with 1,000 events cost about what it costs on a case with 10. Measured in process, on
PostgreSQL (the production store: a fresh schema on the bench database, dropped after) and on
SQLite (a file in a temporary folder), seals and per-case encryption on, as in production.

Each run builds a case of 1,000 events and 200 cases of 10 events (not timed), then times a
qualify command 200 times on each, interleaved (long, short, long, short…) so that the
machine's noise hits both alike. Every short sample is on a case of exactly 10 events; the long
samples are on the long case from version 1,000 on, so they cross snapshots as a long-lived
case does (each command replays the 0 to SNAPSHOT_INTERVAL - 1 events after the last snapshot,
and one in SNAPSHOT_INTERVAL has a snapshot written after it answers). Snapshots are written by
a thread of their own after the command has answered; between samples the benchmark waits for
that thread (untimed), or the long case's snapshot would land on the next short sample. So the
figure is a command's own latency; the snapshots' CPU shows in the throughput figures (1, 2).
The figure is the median over the runs of the 95th percentile of each.

    python -m bench.command_cost [--mode quick|full]
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from application.case_store import SNAPSHOT_INTERVAL
from application.clock import SettableClock
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from bench.filling import fresh_schema
from bench.filling import new_keys
from bench.filling import postgres_settings
from bench.filling import say
from bench.filling import sqlite_settings
from bench.filling import sqlite_tempdir
from bench.harness import Figure
from bench.harness import Goal
from bench.harness import Mode
from bench.harness import percentile
from bench.standalone import run
from domain.platforms import Platform
from domain.values import Category
from domain.values import Company
from domain.values import CompanySize
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Siren
from infrastructure.settings import Settings
from interfaces.composition import open_application

SHORT, LONG, SAMPLES = 10, 1000, 200
STORES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}


def report() -> ReportRequest:
    return ReportRequest(
        company=Company(
            PersonalText("Atelier"),
            Siren("732829320"),
            CompanySize.MICRO,
            PersonalText("Jeanne Dupont"),
            PersonalText("jeanne@atelier.fr"),
        ),
        platform=Platform.parse("Amazon"),
        description=PersonalText("Delisted overnight without any explanation"),
        occurred_on=date(2026, 1, 5),
    )


def qualify(app: MediationApplication, case_id: Any) -> None:
    app.qualify_case(
        case_id,
        category=Category.DELISTING,
        priority=Priority.NORMAL,
        summary=PersonalText("Delisting of 40 offers without a statement of reasons"),
        actor="bench",
    )


def case_with(app: MediationApplication, events: int) -> Any:
    case_id = app.report_case(report(), actor="bench").case_id
    for _ in range(events - 1):
        qualify(app, case_id)
    return case_id


def timed(app: MediationApplication, case_id: Any) -> float:
    started = time.perf_counter()
    qualify(app, case_id)
    took = (time.perf_counter() - started) * 1e3
    app.wait_for_snapshots()  # untimed: a snapshot due must not land on the next sample
    return took


def one_run(app: MediationApplication) -> tuple[list[float], list[float]]:
    """Timings (ms) of the command on the long case and on short cases, interleaved."""
    long_case = case_with(app, LONG)
    short_cases = [case_with(app, SHORT) for _ in range(SAMPLES)]
    long, short = [], []
    for short_case in short_cases:
        long.append(timed(app, long_case))
        short.append(timed(app, short_case))
    return long, short


@contextmanager
def store(kind: str, mode: Mode) -> Iterator[Settings]:
    keys = new_keys()
    if kind == "postgres":
        with fresh_schema(mode.postgres_url) as schema:
            yield postgres_settings(mode.postgres_url, schema, keys)
    else:
        with sqlite_tempdir() as folder:
            yield sqlite_settings(folder / "bench.db", keys)


def measure_store(kind: str, mode: Mode) -> Figure:
    long_p95: list[float] = []
    short_p95: list[float] = []
    long_p50: list[float] = []
    short_p50: list[float] = []
    started = time.monotonic()
    with store(kind, mode) as settings:
        clock = SettableClock(datetime(2026, 2, 2, 9, tzinfo=UTC))
        app = open_application(settings, clock, announce=say)
        try:
            for number in range(mode.runs):
                long, short = one_run(app)
                long_p95.append(percentile(long, 0.95))
                short_p95.append(percentile(short, 0.95))
                long_p50.append(statistics.median(long))
                short_p50.append(statistics.median(short))
                say(
                    f"  {kind} run {number + 1}/{mode.runs}: p95 {long_p95[-1]:.2f} ms at "
                    f"{LONG} events, {short_p95[-1]:.2f} ms at {SHORT}"
                )
        finally:
            app.close()
    medians = statistics.median(long_p50), statistics.median(short_p50)
    return Figure(
        number=3,
        name=f"a command on a case of {LONG:,} events, p95 ({STORES[kind]}, in process)",
        unit="ms",
        runs=long_p95,
        goal=Goal.ratio_at_most(1.2),
        baseline_name=f"the same on a case of {SHORT} events",
        baseline_runs=short_p95,
        note=(
            f"qualify, {SAMPLES} samples of each per run, interleaved; long samples at versions "
            f"{LONG}–{LONG + SAMPLES}, across snapshots (every {SNAPSHOT_INTERVAL} events); "
            "medians "
            f"{medians[0]:.2f} vs {medians[1]:.2f} ms (ratio {medians[0] / medians[1]:.2f}); "
            f"{time.monotonic() - started:.0f} s"
        ),
    )


def measure(mode: Mode) -> list[Figure]:
    return [measure_store(kind, mode) for kind in STORES]


if __name__ == "__main__":
    run(measure, (__doc__ or "").splitlines()[0])
