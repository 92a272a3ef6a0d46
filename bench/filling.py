"""Stores for the in-process benchmarks (figures 3, 4, 6): the bench database, fresh schemas,
keys, and stores filled with realistic cases, kept between runs.

Filling. The cases are the demo's (`interfaces.demo_cli.one_case`: realistic spread over
platforms, categories and workflow paths, over the year before the fill), made by the
application's own commands with seals and per-case encryption on, in worker processes, each on
an in-memory store with the same keys as the target, 4,000 cases at a time. Each chunk's sealed
records are put in the order of their instants (the demo writes a case from report to
resolution at once; a service's log interleaves cases over weeks, so that a projection batch
touches about as many cases as it has events), then written with its snapshots and wrapped
case keys into the target store through the target application's own recorders, a
transaction per 1,000 records (`insert_events(..., new_case_keys=...)`). The stored bytes are
those the service would have written: a seal covers the case id, version, topic and stored
state, never the log position. This is about ten times faster than running the commands
against PostgreSQL (each command a load and a commit: about 70 cases/s per process on the
2-core bench machine, against about 750 cases/s per process in memory). Then every read model
is built from the log with the product's `rebuild`. A fill of N events stops at exactly N: the
last cases are cut short (their later events have not happened yet).

Caching. A filled store is kept and reused by the next run: a PostgreSQL schema named by the
caller (e.g. `bench_rebuild_100000`) or a SQLite file in the temporary folder
(`p2b-mediation-bench/`). A table `bench_fill` in the store, written last, holds what was asked
for, what was written and the store's keys (benchmark data only: production keys never live in
the database). A store without it (an interrupted fill) or made by another FILL_VERSION is
dropped and filled again; MEDIATION_BENCH_REFILL=1 forces a new fill.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from application.clock import SettableClock
from application.errors import ApplicationError
from application.keys import Keys
from application.mediation import MediationApplication
from application.personal_data import WrappedKey
from application.projections import open_seal, rebuild
from domain.errors import DomainError
from infrastructure.keyfiles import as_environment
from infrastructure.settings import Settings, load_settings
from interfaces.composition import open_application, projection_runner
from interfaces.demo_cli import one_case

FILL_VERSION = 2
"""Bump when the filling changes: stores filled by another version are filled again."""

CHUNK_CASES = 4_000
# Records per transaction when writing: the library's PostgreSQL recorder pipelines one
# statement per case key, and a pipeline of thousands of them (a whole chunk) hung psycopg.
WRITE_BATCH = 1_000
CACHE_DIR = Path(tempfile.gettempdir()) / "p2b-mediation-bench"
FILL_TABLE = "bench_fill"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# Keys and settings.


def new_keys() -> dict[str, str]:
    """A fresh set of keys, as settings (seal_keys, data_keys, signing_key)."""
    return {
        name.removeprefix("MEDIATION_").lower(): value
        for name, value in as_environment(Keys.generate()).items()
    }


def checkpoint_dir() -> Path:
    """An empty checkpoint folder: none is read or written by these benchmarks."""
    return Path(tempfile.mkdtemp(prefix="bench-checkpoints-"))


def postgres_settings(url: str, schema: str, keys: dict[str, str]) -> Settings:
    return load_settings(
        database_url=url, database_schema=schema, checkpoint_dir=checkpoint_dir(), **keys
    )


def sqlite_settings(path: Path, keys: dict[str, str]) -> Settings:
    return load_settings(database_url=f"sqlite:///{path}", checkpoint_dir=checkpoint_dir(), **keys)


# The bench database and its schemas.


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def ensure_database(url: str) -> None:
    """Create the database the URL names if it does not exist yet."""
    name = urlsplit(url).path.lstrip("/")
    try:
        connect(url).close()
        return
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise
    server = urlsplit(url)._replace(path="/postgres").geturl()
    # suppress: made meanwhile by another benchmark
    with connect(server) as connection, suppress(psycopg.errors.DuplicateDatabase):
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_schema(url: str, schema: str) -> None:
    with connect(url) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


@contextmanager
def fresh_schema(url: str, prefix: str = "bench") -> Iterator[str]:
    """A new schema name on the bench database (created if missing), dropped afterwards."""
    ensure_database(url)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        drop_schema(url, schema)


# Filling.


@dataclass
class Filled:
    """A store full of cases, its read models caught up."""

    settings: Settings
    cases: int
    events: int
    fill_seconds: float  # 0 when taken from the cache
    cached: bool

    def open(self) -> MediationApplication:
        return open_application(self.settings, announce=say)


@dataclass(frozen=True)
class Chunk:
    index: int
    cases: int
    seed: int
    now: datetime
    keys: dict[str, str]


@dataclass
class Generated:
    records: list[StoredEvent]  # in the order of their instants
    case_keys: dict[UUID, WrappedKey]
    snapshots: list[StoredEvent] = field(default_factory=list)


def generate(chunk: Chunk) -> Generated:
    """Run the demo's cases through the application's commands on an in-memory store; their
    records ordered by when they happened, as a log written over the year would have them."""
    settings = load_settings(database_url="memory:", checkpoint_dir=checkpoint_dir(), **chunk.keys)
    clock = SettableClock(chunk.now)
    app = open_application(settings, clock)
    rng = random.Random(chunk.seed)  # noqa: S311 (demo data)
    for _ in range(chunk.cases):
        with suppress(DomainError, ApplicationError):  # a path the rules refuse, as in the demo
            one_case(app, clock, rng, chunk.now)
    notifications = app.recorder.select_notifications(1, app.log_position())
    when = {
        n.id: app.projection_mapper.to_domain_event(open_seal(app.sealer, n)).timestamp
        for n in notifications
    }
    records = [
        StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
        for n in sorted(notifications, key=lambda n: (when[n.id], n.id))
    ]
    assert app.snapshots is not None
    snapshots = list(getattr(app.snapshots.recorder, "_stored_events", []))
    case_keys = dict(getattr(app.recorder, "_case_keys", {}))
    app.close()
    return Generated(records, case_keys, snapshots)


def _write(app: MediationApplication, generated: Generated, events: int) -> tuple[int, int]:
    """Write the first `events` records of a chunk, a transaction per WRITE_BATCH records, each
    case's key with its first event; (cases begun, events written)."""
    records = generated.records[:events]
    began = 0
    for start in range(0, len(records), WRITE_BATCH):
        batch = records[start : start + WRITE_BATCH]
        keys = {
            r.originator_id: generated.case_keys[r.originator_id]
            for r in batch
            if r.originator_version == 1 and r.originator_id in generated.case_keys
        }
        app.recorder.insert_events(batch, new_case_keys=keys)
        began += len(keys)
    written = {(r.originator_id, r.originator_version) for r in records}
    snapshots = [
        s for s in generated.snapshots if (s.originator_id, s.originator_version) in written
    ]
    if snapshots:
        assert app.snapshots is not None
        app.snapshots.recorder.insert_events(snapshots)
    return began, len(records)


def fill(app: MediationApplication, keys: dict[str, str], *, cases: int | None = None,
         events: int | None = None, seed: int = 2026) -> tuple[int, int]:  # fmt: skip
    """Write `cases` cases, or `events` events (the last cases cut short: their later events
    have not happened yet); (cases, events)."""
    assert (cases is None) != (events is None)
    target = cases if cases is not None else events
    unit = "cases" if cases is not None else "events"
    now = datetime.now(UTC).replace(microsecond=0)
    workers = max(1, os.cpu_count() or 1)
    started = time.monotonic()
    written_cases = written_events = 0
    submitted = 0

    def next_chunk() -> Chunk | None:
        nonlocal submitted
        size = CHUNK_CASES
        if cases is not None:
            size = min(CHUNK_CASES, cases - submitted * CHUNK_CASES)
            if size <= 0:
                return None
        chunk = Chunk(submitted, size, seed * 1_000_003 + submitted, now, keys)
        submitted += 1
        return chunk

    context = multiprocessing.get_context("spawn")  # the parent holds connection pools
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque[Future[Generated]] = deque()
        for _ in range(workers + 1):
            chunk = next_chunk()
            if chunk is not None:
                pending.append(pool.submit(generate, chunk))
        while pending:
            generated = pending.popleft().result()
            take = len(generated.records)
            if events is not None:
                take = min(take, events - written_events)
            began, wrote = _write(app, generated, take)
            written_cases += began
            written_events += wrote
            done = written_cases if cases is not None else written_events
            elapsed = time.monotonic() - started
            say(f"  filled {done:,} / {target:,} {unit} ({elapsed:.0f} s)")
            if done >= (target or 0):
                for future in pending:
                    future.cancel()
                break
            chunk = next_chunk()
            if chunk is not None:
                pending.append(pool.submit(generate, chunk))
    return written_cases, written_events


class Progress:
    """Prints where a rebuild is, every ten seconds."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last = time.monotonic()

    def __call__(self, done: int, head: int) -> None:
        if time.monotonic() - self.last >= 10:
            self.last = time.monotonic()
            say(f"  {self.name}: {done:,} / {head:,} events")


def catch_up(app: MediationApplication) -> None:
    """Build every read model from the whole log."""
    runner = projection_runner(app)
    for projection in runner.projections:
        started = time.monotonic()
        rebuild(projection, app.event_log(), batch=2_000, progress=Progress(projection.name))
        say(f"  {projection.name} built in {time.monotonic() - started:.0f} s")


def _asked(cases: int | None, events: int | None) -> str:
    return f"{cases:,} cases" if cases is not None else f"{events:,} events"


def _wanted(cases: int | None, events: int | None) -> str:
    return json.dumps({"version": FILL_VERSION, "cases": cases, "events": events})


def filled_postgres(
    url: str, schema: str, *, cases: int | None = None, events: int | None = None
) -> Filled:
    """The schema filled with `cases` cases or about `events` events, from the cache if it
    was filled for the same request."""
    ensure_database(url)
    wanted = _wanted(cases, events)
    table = sql.Identifier(schema, FILL_TABLE)
    refill = os.environ.get("MEDIATION_BENCH_REFILL") == "1"
    with connect(url) as connection:
        found = connection.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.{FILL_TABLE}",)
        ).fetchone()
        row = None
        if found and found[0]:
            row = connection.execute(
                sql.SQL("SELECT wanted, keys, cases, events FROM {}").format(table)
            ).fetchone()
    if row is not None and row[0] == wanted and not refill:
        say(f"  reusing schema {schema}: {row[2]:,} cases, {row[3]:,} events")
        settings = postgres_settings(url, schema, json.loads(row[1]))
        return Filled(settings, row[2], row[3], 0.0, cached=True)
    drop_schema(url, schema)
    say(f"  filling schema {schema} ({_asked(cases, events)})")
    started = time.monotonic()
    keys = new_keys()
    settings = postgres_settings(url, schema, keys)
    app = open_application(settings, announce=say)
    try:
        written_cases, written_events = fill(app, keys, cases=cases, events=events)
        catch_up(app)
    finally:
        app.close()
    seconds = time.monotonic() - started
    with connect(url) as connection:
        connection.execute(
            sql.SQL(
                "CREATE TABLE {} (wanted text, keys text, cases bigint, events bigint, "
                "seconds double precision, filled_at timestamptz DEFAULT now())"
            ).format(table)
        )
        connection.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s)").format(table),
            (wanted, json.dumps(keys), written_cases, written_events, seconds),
        )
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (name,) in tables:
            connection.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, name)))
    say(f"  filled {schema} in {seconds:.0f} s")
    return Filled(settings, written_cases, written_events, seconds, cached=False)


def filled_sqlite(name: str, *, cases: int | None = None, events: int | None = None) -> Filled:
    """A SQLite file `name`.db in the cache folder, filled as `filled_postgres` does."""
    CACHE_DIR.mkdir(exist_ok=True)
    path = CACHE_DIR / f"{name}.db"
    wanted = _wanted(cases, events)
    refill = os.environ.get("MEDIATION_BENCH_REFILL") == "1"
    row = None
    if path.exists():
        with sqlite3.connect(path) as connection:
            try:
                row = connection.execute(
                    f"SELECT wanted, keys, cases, events FROM {FILL_TABLE}"  # noqa: S608
                ).fetchone()
            except sqlite3.OperationalError:
                row = None
        connection.close()
    if row is not None and row[0] == wanted and not refill:
        say(f"  reusing {path}: {row[2]:,} cases, {row[3]:,} events")
        settings = sqlite_settings(path, json.loads(row[1]))
        return Filled(settings, row[2], row[3], 0.0, cached=True)
    for stale in CACHE_DIR.glob(f"{name}.db*"):
        stale.unlink()
    say(f"  filling {path} ({_asked(cases, events)})")
    started = time.monotonic()
    keys = new_keys()
    settings = sqlite_settings(path, keys)
    app = open_application(settings, announce=say)
    try:
        written_cases, written_events = fill(app, keys, cases=cases, events=events)
        catch_up(app)
    finally:
        app.close()
    seconds = time.monotonic() - started
    with sqlite3.connect(path) as connection:
        connection.execute(
            f"CREATE TABLE {FILL_TABLE} (wanted TEXT, keys TEXT, cases INTEGER, "
            "events INTEGER, seconds REAL)"
        )
        connection.execute(
            f"INSERT INTO {FILL_TABLE} VALUES (?, ?, ?, ?, ?)",  # noqa: S608
            (wanted, json.dumps(keys), written_cases, written_events, seconds),
        )
    connection.close()
    say(f"  filled {path} in {seconds:.0f} s")
    return Filled(settings, written_cases, written_events, seconds, cached=False)


@contextmanager
def sqlite_tempdir() -> Iterator[Path]:
    """A temporary folder for a fresh SQLite file, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="bench-sqlite-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
