"""What sealing and per-case encryption cost, as ratios to the same service without them.

The baseline is the same application on the library's stock stores: no seal, personal data in
clear, no case key. Both run in the same process, interleaved in rounds, so the machine's noise
hits both alike. Reported: reports per second (each a new case: its events, its tracking index
and, with trust, its wrapped key in one commit) and commands per second, and their ratios.

    .venv/bin/python bench/trust_cost.py
    MEDIATION_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/mediation_test \\
        .venv/bin/python bench/trust_cost.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.persistence import EventStore
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.persistence import Transcoding

from application.clock import SettableClock
from application.keys import Keys
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from domain.platforms import Platform
from domain.values import Category
from domain.values import Company
from domain.values import CompanySize
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Siren
from infrastructure.keyfiles import as_environment
from infrastructure.keyfiles import data_key_ring
from infrastructure.settings import load_settings
from interfaces.composition import open_application

ROUNDS, PER_ROUND = 7, 150


class PlainPersonalText(Transcoding):
    type = PersonalText
    name = "personal_text"

    def encode(self, obj: PersonalText) -> str:
        return obj.text

    def decode(self, data: str) -> PersonalText:
        return PersonalText(data)


class WithoutTrust(MediationApplication):
    """The baseline: the library's own event and snapshot stores, personal data in clear."""

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(PlainPersonalText())

    def construct_event_store(self) -> EventStore[Any]:
        self.sealed_events = EventStore(self.mapper, self.recorder)  # type: ignore[assignment]
        return self.sealed_events

    def construct_snapshot_store(self) -> EventStore[Any]:
        return EventStore(self.mapper, self.factory.aggregate_recorder(purpose="snapshots"))


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
        description=PersonalText("Delisted overnight without any explanation " * 4),
        occurred_on=date(2026, 1, 5),
    )


def reporting(app: MediationApplication) -> Any:
    return app.report_case(report(), actor="bench").case_id


def qualifying(app: MediationApplication, case_id: Any) -> None:
    app.qualify_case(
        case_id,
        category=Category.DELISTING,
        priority=Priority.NORMAL,
        summary=PersonalText("summary"),
        actor="bench",
    )


def rate(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    for _ in range(PER_ROUND):
        action()
    return PER_ROUND / (time.perf_counter() - started)


def main() -> None:
    clock = SettableClock(datetime(2026, 2, 2, 9, tzinfo=UTC))
    keys = {
        name.removeprefix("MEDIATION_").lower(): value
        for name, value in as_environment(Keys.generate()).items()
    }
    stores = {"sqlite": lambda: f"sqlite:///{tempfile.mkdtemp()}/bench.db"}
    if os.environ.get("MEDIATION_BENCH_DATABASE_URL"):
        stores["postgres"] = lambda: os.environ["MEDIATION_BENCH_DATABASE_URL"]
    print(f"median of {ROUNDS} rounds of {PER_ROUND}; ratio = with trust / without")
    for name, url in stores.items():
        settings = [
            load_settings(
                database_url=url(),
                database_schema=(schema := f"b{uuid.uuid4().hex[:8]}"),
                data_keys_file=Path(tempfile.mkdtemp()) / f"{schema}.data-keys.json",
                **keys,
            )
            for _ in range(2)
        ]
        trusted = open_application(settings[0], clock)
        open_application(settings[1], clock).close()  # prepares the schema
        plain = WithoutTrust(
            settings[1].eventsourcing_env(), clock=clock, data_keys=data_key_ring(settings[1])
        )
        results: dict[str, dict[str, list[float]]] = {
            "report": {"trust": [], "plain": []},
            "qualify": {"trust": [], "plain": []},
        }
        for _ in range(ROUNDS):
            for app, label in ((trusted, "trust"), (plain, "plain")):
                results["report"][label].append(rate(lambda a=app: reporting(a)))
                case_id = reporting(app)
                results["qualify"][label].append(rate(lambda a=app, c=case_id: qualifying(a, c)))
        for operation, by_label in results.items():
            with_trust = statistics.median(by_label["trust"])
            without = statistics.median(by_label["plain"])
            print(
                f"  {name:<9} {operation:<8} {with_trust:8.0f}/s with trust, {without:8.0f}/s "
                f"without   ratio {with_trust / without:.2f}"
            )
        trusted.close()
        plain.close()
        if name == "postgres":
            for used in settings:
                drop_schema(url(), used.database_schema)


def drop_schema(url: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
