"""Figure 4: rebuilding every read model from the whole log, against reading the log.

Measured: `rebuild_all()` of every read model of `projection_runner(app)` (queues, statistics)
from scratch, as `mediation projections rebuild` runs it (2,000 events per transaction, the log
read once for all of them); events per second = events in the log / time to rebuild them all.
Baseline, in the same run: reading and decoding the same events as the projections read them
and nothing more: `recorder.select_notifications` in pages of 2,000, each record's seal opened
and checked, `projection_mapper.to_domain_event` (exactly `MediationApplication.event_log()
.read`). Runs alternate which goes first. A ratio of 1 would mean the read models' own work
is free. Before each rebuild the PostgreSQL schema is vacuumed, untimed (the bench server runs
with autovacuum off: without it every run would start on the dead rows of the runs before and
slow down run after run).

The store: mode.rebuild_events events (1M, quick mode 100k) of the demo's realistic cases (see
bench/filling.py), seals and per-case encryption on, in PostgreSQL schema
`bench_rebuild_<events>` and in a SQLite file `rebuild_<events>.db` in the temporary folder.
Filling is not measured, and both stores are kept for the next run (MEDIATION_BENCH_REFILL=1
to fill them again). On the 2-core bench machine filling 100k events takes about 45 s, 1M about
5 min (3.5 min generating and writing, then the read models; 9.5 min before they wrote their
rows in batches). Measuring takes about 1.5 min in quick mode; in full mode (1M events, 5
runs) about 11 min for PostgreSQL and 8 for SQLite (estimated from quick mode), plus the first
SQLite fill.

    python -m bench.rebuild [--mode quick|full]
"""

from __future__ import annotations

import time
from typing import Any

from application.mediation import MediationApplication
from application.projections import EventLog
from application.projections import open_seal
from application.projections import rebuild_all
from bench.filling import Filled
from bench.filling import filled_postgres
from bench.filling import filled_sqlite
from bench.filling import say
from bench.harness import Figure
from bench.harness import Goal
from bench.harness import Mode
from bench.standalone import run
from interfaces.composition import projection_runner

BATCH = 2_000


def read_log(app: MediationApplication) -> int:
    """Read and decode the whole log as the projections do; the number of events."""
    position, count = 1, 0
    while True:
        page = [
            (n.id, app.projection_mapper.to_domain_event(open_seal(app.sealer, n)))
            for n in app.recorder.select_notifications(position, BATCH)
        ]
        if not page:
            return count
        count += len(page)
        position = page[-1][0] + 1


def finish_interrupted(projection: Any, log: EventLog) -> None:
    """Complete a rebuild that an earlier, interrupted run left half done: the measured ones
    must start from scratch, not resume."""
    state = projection.view.state  # the store's projection state (infrastructure)
    if state.position(state.rebuild) > 0:
        say(f"  finishing an interrupted rebuild of {projection.name}")
        rebuild_all([projection], log, batch=BATCH)


def measure_store(filled: Filled, store: str, mode: Mode) -> Figure:
    app = filled.open()
    runner = projection_runner(app)
    log = app.event_log()
    events = app.log_position()
    for projection in runner.projections:
        finish_interrupted(projection, log)
    rebuilt: list[float] = []
    read: list[float] = []
    started = time.monotonic()
    try:
        for number in range(mode.runs):
            for which in ("read", "rebuild") if number % 2 == 0 else ("rebuild", "read"):
                if which == "read":
                    began = time.perf_counter()
                    count = read_log(app)
                    assert count == events, (count, events)
                    read.append(events / (time.perf_counter() - began))
                else:
                    filled.vacuum()  # untimed: the dead rows of the previous runs
                    began = time.perf_counter()
                    rebuild_all(runner.projections, log, batch=BATCH)
                    rebuilt.append(events / (time.perf_counter() - began))
            say(
                f"  {store} run {number + 1}/{mode.runs}: read {read[-1]:,.0f} events/s, "
                f"rebuild {rebuilt[-1]:,.0f} events/s"
            )
    finally:
        app.close()
    names = [p.name for p in runner.projections]
    fill = "from the cache" if filled.cached else f"filled in {filled.fill_seconds:.0f} s"
    return Figure(
        number=4,
        name=f"rebuilding all read models from {events:,} events ({store})",
        unit="events/s",
        runs=rebuilt,
        goal=Goal.ratio_at_least(0.25),
        baseline_name="reading and decoding the log",
        baseline_runs=read,
        note=(
            f"{len(names)} read models ({', '.join(names)}) rebuilt together (one read of the "
            f"log); {filled.cases:,} demo cases (+ their tracking-code index events); "
            f"store {fill}; measured in {time.monotonic() - started:.0f} s"
        ),
    )


def measure(mode: Mode) -> list[Figure]:
    events = mode.rebuild_events
    figures = [
        measure_store(
            filled_postgres(
                mode.postgres_url, f"bench_rebuild_{events}", events=events, read_models=False
            ),
            "PostgreSQL",
            mode,
        )
    ]
    figures.append(
        measure_store(
            filled_sqlite(f"rebuild_{events}", events=events, read_models=False), "SQLite", mode
        )
    )
    return figures


if __name__ == "__main__":
    run(measure, (__doc__ or "").splitlines()[0])
