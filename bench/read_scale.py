"""Figure 6: the reads that must not slow down as cases pile up, at many cases against few.

Two PostgreSQL schemas of the demo's realistic cases (bench/filling.py: spread over platforms,
categories, workflow paths and the year before the fill; seals and per-case encryption on),
mode.few_cases (2k) and mode.many_cases (200k, quick mode 20k), their read models caught up.
Each query is answered in process by the same read-model calls as its HTTP route, without
HTTP or JSON:

- a queue page: `GET /queues/awaiting-platform` (first page, 50 items, and its next cursor);
- the same filtered by platform (`?platform=amazon`, the most common one);
- `GET /statistics` for the whole period as of today (every counter read, then the answer
  computed from them).

Each run sends 200 of each (a slow one fewer: as many as take 30 s at many cases, at least 20),
interleaved across queries and stores (few, many, few, …) so the machine's noise hits both
alike, and keeps the 95th percentile; a figure is the median over the runs of the p95 at many
cases, its baseline the same at few cases.

Both schemas (`bench_read_<cases>`) are kept for the next run (MEDIATION_BENCH_REFILL=1 to
fill them again; when the read models' code changes, they are built again from the kept
events). On the 2-core bench machine filling 2k cases takes about 10 s, 20k about 45 s, 200k
about 5 min: generating and writing the cases 3 min, then building the read models from 1.07M
events 1.8 min (6.5 min before the read models wrote their rows in batches). Measuring takes
about 1.5 min in quick mode, 4.5 min in full mode (GET /statistics takes 1.5 s at 200k cases).

    python -m bench.read_scale [--mode quick|full]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from application.case_queues import QUEUES
from application.case_queues import CaseQueues
from application.case_queues import Cursor
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import sort_value
from application.case_statistics import CaseStatistics
from application.case_statistics import statistics
from application.mediation import MediationApplication
from bench.filling import Filled
from bench.filling import filled_postgres
from bench.filling import say
from bench.harness import Figure
from bench.harness import Goal
from bench.harness import Mode
from bench.harness import percentile
from bench.standalone import run
from domain.platforms import Platform
from interfaces.composition import projection_runner

REQUESTS = 200
# A query slower than BUDGET_SECONDS / REQUESTS at many cases is sent fewer times per run (as
# many as fit in the budget, at least MIN_REQUESTS): GET /statistics takes seconds at 200k.
BUDGET_SECONDS = 30.0
MIN_REQUESTS = 20
LIMIT = 50
PLATFORM = Platform.parse("Amazon").key


class Reads:
    """The read models of one filled store, asked as the HTTP routes ask them."""

    def __init__(self, filled: Filled) -> None:
        self.filled = filled
        self.app: MediationApplication = filled.open()
        runner = projection_runner(self.app)
        self.queues: CaseQueues = runner.view(CaseQueues.name)
        self.statistics: CaseStatistics = runner.view(CaseStatistics.name)

    def queue_page(self, platform: str | None = None) -> Any:
        """interfaces/http/queues.py: queue_page, first page."""
        queue = Queue.AWAITING_PLATFORM
        today = self.app.clock.now().date()
        filters = QueueFilters(platform=platform)
        items, reached = self.queues.page(queue, filters, today, LIMIT + 1, None)
        next_cursor = None
        if len(items) > LIMIT:
            last = items[LIMIT - 1]
            next_cursor = Cursor(sort_value(last, QUEUES[queue].order), last.id).encode()
        return items[:LIMIT], next_cursor, reached

    def platform_page(self) -> Any:
        return self.queue_page(PLATFORM)

    def all_figures(self) -> dict[str, Any]:
        """interfaces/http/figures.py: _figures, whole period, as of today."""
        today = self.app.clock.now().date()
        counters, position = self.statistics.counters(None, None, today)
        return {"position": position, **statistics(counters, today)}

    def close(self) -> None:
        self.app.close()


QUERIES: dict[str, Callable[[Reads], Any]] = {
    f"a queue page (awaiting-platform, {LIMIT} items)": Reads.queue_page,
    f"a queue page filtered by platform ({PLATFORM})": Reads.platform_page,
    "GET /statistics (whole period, as of today)": Reads.all_figures,
}


def measure(mode: Mode) -> list[Figure]:
    stores = {
        size: filled_postgres(mode.postgres_url, f"bench_read_{size}", cases=size)
        for size in (mode.few_cases, mode.many_cases)
    }
    reads = {size: Reads(filled) for size, filled in stores.items()}
    p95: dict[tuple[str, int], list[float]] = {(q, s): [] for q in QUERIES for s in reads}
    started = time.monotonic()
    try:
        requests = {}
        for name, query in QUERIES.items():  # warm the pools and caches; how long it takes
            for reader in reads.values():
                query(reader)
            began = time.perf_counter()
            query(reads[mode.many_cases])
            took = time.perf_counter() - began
            requests[name] = max(MIN_REQUESTS, min(REQUESTS, int(BUDGET_SECONDS / took)))
        for number in range(mode.runs):
            timings: dict[tuple[str, int], list[float]] = {key: [] for key in p95}
            for round_ in range(REQUESTS):
                for name, query in QUERIES.items():
                    if round_ >= requests[name]:
                        continue
                    for size, reader in reads.items():
                        began = time.perf_counter()
                        query(reader)
                        timings[(name, size)].append((time.perf_counter() - began) * 1e3)
            for key, values in timings.items():
                p95[key].append(percentile(values, 0.95))
            say(
                f"  run {number + 1}/{mode.runs}: "
                + "; ".join(
                    f"{name.split(' (')[0]} {p95[(name, mode.few_cases)][-1]:.2f} → "
                    f"{p95[(name, mode.many_cases)][-1]:.2f} ms"
                    for name in QUERIES
                )
            )
        counters = {
            size: len(r.statistics.counters(None, None, date.max)[0]) for size, r in reads.items()
        }
    finally:
        for reader in reads.values():
            reader.close()
    seconds = time.monotonic() - started
    fills = ", ".join(
        f"{size:,} cases: {filled.events:,} events, "
        + ("from the cache" if filled.cached else f"filled in {filled.fill_seconds:.0f} s")
        for size, filled in stores.items()
    )
    return [
        Figure(
            number=6,
            name=f"{name} with {mode.many_cases:,} cases (PostgreSQL, in process), p95",
            unit="ms",
            runs=p95[(name, mode.many_cases)],
            goal=Goal.ratio_at_most(2),
            baseline_name=f"the same with {mode.few_cases:,} cases",
            baseline_runs=p95[(name, mode.few_cases)],
            note=(
                f"{requests[name]} requests per run and store; {fills}; measured in "
                f"{seconds:.0f} s"
                + (
                    f"; statistics counter rows read: {counters[mode.few_cases]:,} vs "
                    f"{counters[mode.many_cases]:,}"
                    if "statistics" in name
                    else ""
                )
            ),
        )
        for name in QUERIES
    ]


if __name__ == "__main__":
    run(measure, (__doc__ or "").splitlines()[0])
