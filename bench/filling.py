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
is built from the log with the product's `rebuild_all`. A fill of N events stops at exactly N:
the last cases are cut short (their later events have not happened yet).

Caching. A filled store is kept and reused by the next run: a PostgreSQL schema named by the
caller (e.g. `bench_rebuild_100000`) or a SQLite file in the temporary folder
(`p2b-mediation-bench/`). A table `bench_fill` in the store, written last, holds what was asked
for, what was written and the store's keys (benchmark data only: production keys never live in
the database). A store without it (an interrupted fill) or made by another FILL_VERSION is
dropped and filled again; MEDIATION_BENCH_REFILL=1 forces a new fill. When the code that builds
the read models changes (READ_MODEL_SOURCES), a kept store's read models are built again from
its events, untimed.
"""

from __future__ import annotations

import hashlib
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
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
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
from application.keys import KeySet
from application.mediation import MediationApplication
from application.personal_data import WrappedKey
from application.projections import open_seal
from application.projections import rebuild_all
from bench.harness import ROOT
from domain.errors import DomainError
from infrastructure.keyfiles import as_environment
from infrastructure.settings import Settings
from infrastructure.settings import Store
from infrastructure.settings import load_settings
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from interfaces.demo_cli import one_case

FILL_VERSION = 2
"""Bump when the filling changes: stores filled by another version are filled again."""

CHUNK_CASES = 4_000
# Records per transaction when writing: bounded, so that no statement carries a whole chunk
# (when the PostgreSQL recorder still pipelined a statement per case key, 4,000 keys in one
# transaction hung psycopg).
WRITE_BATCH = 1_000
CACHE_DIR = Path(tempfile.gettempdir()) / "p2b-mediation-bench"
FILL_TABLE = "bench_fill"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# Keys and settings.


def new_keys() -> dict[str, str]:
    """A fresh set of keys, as settings (seal_keys, data_keys, signing_key): the data key is
    given, so that the in-memory chunks and the target's ring wrap case keys under one key."""
    generated = replace(Keys.generate(), data=KeySet.generate("data-1"))
    return {
        name.removeprefix("MEDIATION_").lower(): value
        for name, value in as_environment(generated).items()
    }


def checkpoint_dir() -> Path:
    """A checkpoint folder that does not exist: no checkpoint is read or written here."""
    return CACHE_DIR / "no-checkpoints"


def postgres_settings(url: str, schema: str, keys: dict[str, str]) -> Settings:
    return load_settings(
        database_url=url,
        database_schema=schema,
        checkpoint_dir=checkpoint_dir(),
        data_keys_file=CACHE_DIR / f"{schema}.data-keys.json",
        **keys,
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


def vacuum_schema(url: str, schema: str) -> None:
    """VACUUM ANALYZE every table of the schema."""
    with connect(url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (name,) in tables:
            connection.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(schema, name)))


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

    def vacuum(self) -> None:
        """VACUUM ANALYZE every table of a PostgreSQL store (nothing for SQLite). The bench
        server runs with autovacuum off (its CI configuration), so the dead rows that every
        rebuild and upsert leaves would otherwise pile up from one run to the next."""
        if self.settings.store is Store.POSTGRES:
            vacuum_schema(self.settings.database_url, self.settings.database_schema)


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
    names = ", ".join(p.name for p in runner.projections)
    started = time.monotonic()
    rebuild_all(runner.projections, app.event_log(), batch=2_000, progress=Progress(names))
    say(f"  {names} built in {time.monotonic() - started:.0f} s")


def _asked(cases: int | None, events: int | None) -> str:
    return f"{cases:,} cases" if cases is not None else f"{events:,} events"


def _wanted(cases: int | None, events: int | None) -> str:
    return json.dumps({"version": FILL_VERSION, "cases": cases, "events": events})


READ_MODEL_SOURCES = (
    "application/projections.py",
    "application/case_queues.py",
    "application/case_statistics.py",
    "infrastructure/read_model_store.py",
    "infrastructure/queue_stores.py",
    "infrastructure/statistics_stores.py",
)


def read_models_fingerprint() -> str:
    """What the read models are built by: when it changes, a kept store's read models are
    built again (its events stay)."""
    digest = hashlib.sha256()
    for name in READ_MODEL_SOURCES:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Record:
    """What `bench_fill` says of a kept store."""

    wanted: str
    keys: dict[str, str]
    cases: int
    events: int
    read_models: str | None


class PostgresCache:
    def __init__(self, url: str, schema: str) -> None:
        self.url, self.schema = url, schema
        self.table = sql.Identifier(schema, FILL_TABLE)
        self.name = f"schema {schema}"

    def record(self) -> Record | None:
        with connect(self.url) as connection:
            found = connection.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (f"{self.schema}.{FILL_TABLE}",)
            ).fetchone()
            if not (found and found[0]):
                return None
            connection.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS read_models text").format(
                    self.table
                )
            )
            row = connection.execute(
                sql.SQL("SELECT wanted, keys, cases, events, read_models FROM {}").format(
                    self.table
                )
            ).fetchone()
        return None if row is None else Record(row[0], json.loads(row[1]), *row[2:])

    def drop(self) -> None:
        drop_schema(self.url, self.schema)

    def settings(self, keys: dict[str, str]) -> Settings:
        return postgres_settings(self.url, self.schema, keys)

    def write(self, record: Record, seconds: float) -> None:
        with connect(self.url) as connection:
            connection.execute(
                sql.SQL(
                    "CREATE TABLE {} (wanted text, keys text, cases bigint, events bigint, "
                    "seconds double precision, filled_at timestamptz DEFAULT now(), "
                    "read_models text)"
                ).format(self.table)
            )
            connection.execute(
                sql.SQL(
                    "INSERT INTO {} (wanted, keys, cases, events, seconds, read_models) "
                    "VALUES (%s, %s, %s, %s, %s, %s)"
                ).format(self.table),
                (record.wanted, json.dumps(record.keys), record.cases, record.events, seconds,
                 record.read_models),
            )  # fmt: skip
        self.analyze()

    def set_read_models(self, fingerprint: str) -> None:
        with connect(self.url) as connection:
            connection.execute(
                sql.SQL("UPDATE {} SET read_models = %s").format(self.table), (fingerprint,)
            )
        self.analyze()

    def analyze(self) -> None:
        vacuum_schema(self.url, self.schema)


class SQLiteCache:
    def __init__(self, name: str) -> None:
        CACHE_DIR.mkdir(exist_ok=True)
        self.stem = name
        self.path = CACHE_DIR / f"{name}.db"
        self.name = str(self.path)

    def _run(self, statement: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        connection = sqlite3.connect(self.path)
        try:
            with connection:
                return connection.execute(statement, parameters).fetchall()
        finally:
            connection.close()

    def record(self) -> Record | None:
        if not self.path.exists():
            return None
        try:
            with suppress(sqlite3.OperationalError):  # a column added since
                self._run(f"ALTER TABLE {FILL_TABLE} ADD COLUMN read_models TEXT")
            rows = self._run(
                f"SELECT wanted, keys, cases, events, read_models FROM {FILL_TABLE}"  # noqa: S608
            )
        except sqlite3.OperationalError:
            return None
        return Record(rows[0][0], json.loads(rows[0][1]), *rows[0][2:]) if rows else None

    def drop(self) -> None:
        for stale in CACHE_DIR.glob(f"{self.stem}.db*"):
            stale.unlink()

    def settings(self, keys: dict[str, str]) -> Settings:
        return sqlite_settings(self.path, keys)

    def write(self, record: Record, seconds: float) -> None:
        self._run(
            f"CREATE TABLE {FILL_TABLE} (wanted TEXT, keys TEXT, cases INTEGER, "
            "events INTEGER, seconds REAL, read_models TEXT)"
        )
        self._run(
            f"INSERT INTO {FILL_TABLE} VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
            (record.wanted, json.dumps(record.keys), record.cases, record.events, seconds,
             record.read_models),
        )  # fmt: skip

    def set_read_models(self, fingerprint: str) -> None:
        self._run(f"UPDATE {FILL_TABLE} SET read_models = ?", (fingerprint,))  # noqa: S608


def _filled(
    cache: PostgresCache | SQLiteCache,
    cases: int | None,
    events: int | None,
    read_models: bool,
) -> Filled:
    wanted = _wanted(cases, events)
    fingerprint = read_models_fingerprint()
    refill = os.environ.get("MEDIATION_BENCH_REFILL") == "1"
    found = cache.record()
    if found is not None and found.wanted == wanted and not refill:
        say(f"  reusing {cache.name}: {found.cases:,} cases, {found.events:,} events")
        settings = cache.settings(found.keys)
        if read_models and found.read_models != fingerprint:
            say("  the read models' code changed since they were built: building them again")
            app = open_application(settings, announce=say)
            try:
                catch_up(app)
            finally:
                app.close()
            cache.set_read_models(fingerprint)
        return Filled(settings, found.cases, found.events, 0.0, cached=True)
    cache.drop()
    say(f"  filling {cache.name} ({_asked(cases, events)})")
    started = time.monotonic()
    keys = new_keys()
    settings = cache.settings(keys)
    app = open_application(settings, announce=say)
    try:
        written_cases, written_events = fill(app, keys, cases=cases, events=events)
        catch_up(app)
    finally:
        app.close()
    seconds = time.monotonic() - started
    cache.write(Record(wanted, keys, written_cases, written_events, fingerprint), seconds)
    say(f"  filled {cache.name} in {seconds:.0f} s")
    return Filled(settings, written_cases, written_events, seconds, cached=False)


def filled_postgres(
    url: str,
    schema: str,
    *,
    cases: int | None = None,
    events: int | None = None,
    read_models: bool = True,
) -> Filled:
    """The schema filled with `cases` cases or `events` events, kept from an earlier run if
    it was filled for the same request; its read models up to date with their code unless
    `read_models` is False (for a caller that rebuilds them anyway)."""
    ensure_database(url)
    return _filled(PostgresCache(url, schema), cases, events, read_models)


def filled_sqlite(
    name: str,
    *,
    cases: int | None = None,
    events: int | None = None,
    read_models: bool = True,
) -> Filled:
    """A SQLite file `name`.db in the cache folder, filled as `filled_postgres` does."""
    return _filled(SQLiteCache(name), cases, events, read_models)


@contextmanager
def sqlite_tempdir() -> Iterator[Path]:
    """A temporary folder for a fresh SQLite file, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="bench-sqlite-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
