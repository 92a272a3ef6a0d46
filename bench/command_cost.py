"""What a command costs on a long case, as a ratio to the same command on a short one.

Snapshots should make a command on a case with 1,000 events cost about what it costs at 10.
Both are measured in the same run, interleaved, so the machine's noise hits both alike; the
answer is the ratio of the medians (1.0 = no cost for the long history).

    .venv/bin/python bench/command_cost.py                      # SQLite file
    MEDIATION_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/mediation_test \\
        .venv/bin/python bench/command_cost.py                  # and PostgreSQL
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.clock import SettableClock
from application.keys import Keys
from application.mediation import MediationApplication, ReportRequest
from domain.platforms import Platform
from domain.values import (
    Category,
    Company,
    CompanySize,
    PersonalText,
    Priority,
    Siren,
)
from infrastructure.keyfiles import as_environment
from infrastructure.settings import load_settings
from interfaces.composition import open_application

SHORT, LONG, SAMPLES = 10, 1000, 200


def report() -> ReportRequest:
    return ReportRequest(
        company=Company(
            "Atelier",
            Siren("732829320"),
            CompanySize.MICRO,
            PersonalText("Jeanne"),
            PersonalText("j@atelier.fr"),
        ),
        platform=Platform.parse("Amazon"),
        description=PersonalText("Delisted"),
        occurred_on=datetime(2026, 1, 5, tzinfo=UTC).date(),
    )


def qualify(app: MediationApplication, case_id: Any) -> None:
    app.qualify_case(
        case_id,
        category=Category.DELISTING,
        priority=Priority.NORMAL,
        summary=PersonalText("s"),
        actor="bench",
    )


def case_with(app: MediationApplication, events: int) -> Any:
    case_id = app.report_case(report(), actor="bench").case_id
    for _ in range(events - 1):
        qualify(app, case_id)
    return case_id


def measure(app: MediationApplication) -> tuple[float, float]:
    short, long = case_with(app, SHORT), case_with(app, LONG)
    timings: dict[Any, list[float]] = {short: [], long: []}
    for _ in range(SAMPLES):
        for case_id in (short, long):
            started = time.perf_counter()
            qualify(app, case_id)
            timings[case_id].append(time.perf_counter() - started)
    return statistics.median(timings[short]), statistics.median(timings[long])


def drop_schema(url: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def main() -> None:
    clock = SettableClock(datetime(2026, 2, 2, 9, tzinfo=UTC))
    stores = {"sqlite": f"sqlite:///{tempfile.mkdtemp()}/bench.db"}
    if os.environ.get("MEDIATION_BENCH_DATABASE_URL"):
        stores["postgres"] = os.environ["MEDIATION_BENCH_DATABASE_URL"]
    print(f"a command on a case of {LONG} events vs {SHORT} events, median of {SAMPLES}")
    for name, url in stores.items():
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        keys = {
            name.removeprefix("MEDIATION_").lower(): value
            for name, value in as_environment(Keys.generate()).items()
        }
        settings = load_settings(database_url=url, database_schema=schema, **keys)
        app = open_application(settings, clock)
        try:
            short, long = measure(app)
        finally:
            app.close()
            if name == "postgres":
                drop_schema(url, schema)
        ratio = long / short
        print(f"  {name:<9} {short * 1e3:7.2f} ms vs {long * 1e3:7.2f} ms   ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
