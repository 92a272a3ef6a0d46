"""The skeleton every read model's store shares, in SQLite (a file, or in memory) and PostgreSQL.

A read model declares its tables once, as columns with Python types (`Table`, `Shape`); the
dialect of its database turns them into DDL, upserts and values. Its format version is a short
hash of that shape: the tables' and state's names carry it, so a store whose rows were kept in
another shape starts at position 0 in tables of its own and is built from the log on the
runner's first start, and the other shape's tables are dropped when the store opens.

Each store keeps its rows and its position in the event log (the `projection_state` table) in
the same database as the events, and writes both in one transaction: an event's effect is
committed with the position that says it was applied, so a crash at any instant neither loses
nor repeats it. There are two copies of the rows ("a" and "b"): one answers, the other is where
a rebuild works; a switch makes the rebuilt copy answer, in one transaction, so readers never
see a half-built read model.

The library's tracking recorders keep one position per name and no copy: they cannot say which
copy answers, so the position table is this module's own.
"""

from __future__ import annotations

import copy as copying
import dataclasses
import hashlib
import types
import typing
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import Any
from typing import Self
from typing import TypeVar
from uuid import UUID
from uuid import uuid4

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.case_queues import sortable

COPIES = ("a", "b")
SQLITE_CHUNK = 500  # values per IN (...): well under SQLite's limit of bound parameters
T = TypeVar("T")
S = TypeVar("S", bound="ReadModelStore")


def other(copy: str) -> str:
    return "b" if copy == "a" else "a"


def rebuild_name(read_model: str) -> str:
    return f"{read_model}#rebuild"


# The shape of a read model.


@dataclass(frozen=True)
class Column:
    name: str
    type: type  # UUID, str, int, date, datetime, or an Enum kept by its value
    not_null: bool = False


@dataclass(frozen=True)
class Index:
    name: str
    columns: str
    where: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[Index, ...] = ()
    without_rowid: bool = False  # SQLite only: the rows kept in the key's order

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def columns_of(row: type, key: str) -> tuple[Column, ...]:
    """The columns of a dataclass's fields, in order, typed by their annotations (`X | None`
    is X); `key` is NOT NULL, the others may be (a row is written a few columns at a time)."""
    hints = typing.get_type_hints(row)
    columns = []
    for field in dataclasses.fields(row):
        kind = hints[field.name]
        if isinstance(kind, types.UnionType):
            (kind,) = (t for t in typing.get_args(kind) if t is not type(None))
        columns.append(Column(field.name, kind, not_null=field.name == key))
    return tuple(columns)


@dataclass(frozen=True)
class Shape:
    """A read model's tables; `also` names what else its rows hold (a serialized value's
    fields), so that it counts in the format too."""

    state: str  # the read model's name in the position table, before its format
    family: str  # the tables' names begin with it
    tables: tuple[Table, ...]
    also: tuple[str, ...] = ()

    @cached_property
    def version(self) -> str:
        """A short hash of the tables' names, columns, types and keys: it changes with them."""
        described = [
            (t.name, [(c.name, c.type.__name__, c.not_null) for c in t.columns], t.key)
            for t in self.tables
        ]
        return hashlib.sha256(repr((described, self.also)).encode()).hexdigest()[:8]

    @property
    def live(self) -> str:
        return f"{self.state}.v{self.version}"

    @property
    def stem(self) -> str:
        """What the names of this format's tables begin with."""
        return f"{self.family}_v{self.version}"

    def table_name(self, table: Table, copy: str) -> str:
        return f"{self.stem}_{table.name}_{copy}"

    def is_other_format(self, table_name: str) -> bool:
        return table_name.startswith(f"{self.family}_") and not table_name.startswith(
            f"{self.stem}_"
        )

    def is_other_state(self, name: str) -> bool:
        ours = name in (self.live, rebuild_name(self.live))
        return not ours and (
            name == self.state or name.startswith((f"{self.state}.", f"{self.state}#"))
        )


STATE = Table(
    "projection_state",
    (Column("name", str, not_null=True), Column("position", int, not_null=True),
     Column("live_copy", str)),
    key=("name",),
)  # fmt: skip
"""Where each view stands: its position in the log, and the copy it answers from."""


# The dialects.


class Dialect:
    """What differs between the databases: names, types, values, and a few statements."""

    mark = "?"
    types: typing.ClassVar[dict[type, str]] = {}
    claim_writes_first = True  # else the row is locked by a SELECT ... FOR UPDATE
    lock = ""
    skip_locked = ""  # PostgreSQL: a SELECT passes over the rows another transaction holds
    without_rowid = ""

    def name(self, bare: str) -> str:
        """The name of a table as statements write it."""
        return bare

    def sql_type(self, kind: type) -> str:
        return self.types[str if issubclass(kind, Enum) else kind]

    def cast(self, kind: type) -> str:
        """A placeholder for a value compared with a column of that type."""
        return self.mark

    def encode(self, value: Any) -> Any:
        return value.value if isinstance(value, Enum) else value

    def decode(self, kind: type[T], value: Any) -> T:
        if value is None or isinstance(value, kind):
            return typing.cast(T, value)
        return typing.cast(T, typing.cast(Any, kind)(value))

    def create(self, c: Any, table: Table, name: str) -> None:
        columns = [
            f"{col.name} {self.sql_type(col.type)}{' NOT NULL' if col.not_null else ''}"
            for col in table.columns
        ]
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.name(name)} ("
            f"{', '.join(columns)}, PRIMARY KEY ({', '.join(table.key)}))"
            + (self.without_rowid if table.without_rowid else "")
        )
        for index in table.indexes:
            c.execute(
                f"CREATE INDEX IF NOT EXISTS {self.index_name(f'{name}_by_{index.name}')} "
                f"ON {self.name(name)} ({index.columns})"
                + (f" WHERE {index.where}" if index.where else "")
            )

    def index_name(self, bare: str) -> str:
        return bare

    def table_names(self, c: Any) -> list[str]:
        raise NotImplementedError

    def upsert(
        self,
        c: Any,
        table: Table,
        name: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        add: frozenset[str] = frozenset(),
    ) -> None:
        """Insert the rows, or update their other columns where their key exists: set them,
        or for a column in `add`, add to them."""
        if not rows:
            return
        assignments = ", ".join(
            f"{col} = {self.name(name)}.{col} + excluded.{col}"
            if col in add
            else f"{col} = excluded.{col}"
            for col in columns
            if col not in table.key
        )
        self._insert(
            c,
            table,
            f"INSERT INTO {self.name(name)} ({', '.join(columns)}) {{values}} "
            f"ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {assignments}",
            columns,
            rows,
        )

    def insert_new(
        self, c: Any, table: Table, name: str, columns: Sequence[str], rows: Sequence[Any]
    ) -> None:
        """Insert the rows whose key is not there yet, and leave the others as they are."""
        if rows:
            self._insert(
                c,
                table,
                f"INSERT INTO {self.name(name)} ({', '.join(columns)}) {{values}} "
                f"ON CONFLICT ({', '.join(table.key)}) DO NOTHING",
                columns,
                rows,
            )

    def _insert(
        self, c: Any, table: Table, statement: str, columns: Sequence[str], rows: Any
    ) -> None:
        raise NotImplementedError

    def select_in(self, c: Any, statement: str, values: Sequence[Any]) -> Iterator[Any]:
        """The rows of `statement`, whose `{values}` is a condition `column IN values`
        (written `IN {values}`)."""
        raise NotImplementedError


class SQLiteDialect(Dialect):
    """SQLite keeps instants as fixed-width UTC text (see `sortable`), so text order is time
    order, dates as ISO text and ids as hex."""

    types: typing.ClassVar[dict[type, str]] = {
        UUID: "TEXT",
        str: "TEXT",
        int: "INTEGER",
        date: "TEXT",
        datetime: "TEXT",
    }
    without_rowid = " WITHOUT ROWID"

    def encode(self, value: Any) -> Any:
        if isinstance(value, date):
            return sortable(value)
        if isinstance(value, UUID):
            return value.hex
        return super().encode(value)

    def decode(self, kind: type[T], value: Any) -> T:
        if isinstance(value, str) and kind in (date, datetime):
            return typing.cast(T, kind.fromisoformat(value))  # type: ignore[attr-defined]
        return super().decode(kind, value)

    def table_names(self, c: Any) -> list[str]:
        c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [row["name"] for row in c.fetchall()]

    def _insert(
        self, c: Any, table: Table, statement: str, columns: Sequence[str], rows: Any
    ) -> None:
        marks = ", ".join("?" for _ in columns)
        c.executemany(
            statement.format(values=f"VALUES ({marks})"),
            [[self.encode(v) for v in row] for row in rows],
        )

    def select_in(self, c: Any, statement: str, values: Sequence[Any]) -> Iterator[Any]:
        for start in range(0, len(values), SQLITE_CHUNK):
            chunk = [self.encode(v) for v in values[start : start + SQLITE_CHUNK]]
            c.execute(statement.format(values=f"({', '.join('?' for _ in chunk)})"), chunk)
            yield from c.fetchall()


class PostgresDialect(Dialect):
    """PostgreSQL keeps each value in its own type; the tables are named in the store's schema
    with its prefix."""

    mark = "%s"
    types: typing.ClassVar[dict[type, str]] = {
        UUID: "uuid",
        str: "text",
        int: "bigint",
        date: "date",
        datetime: "timestamptz",
    }
    claim_writes_first = False  # a worker claims its row for every batch: one round trip
    lock = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, schema: str, prefix: str) -> None:
        self.schema, self.prefix = schema, prefix

    def name(self, bare: str) -> str:
        return f"{quoted(self.schema)}.{self.index_name(bare)}"

    def index_name(self, bare: str) -> str:
        return quoted(f"{self.prefix}_{bare}")

    def cast(self, kind: type) -> str:
        return f"%s::{self.sql_type(kind)}"

    def table_names(self, c: Any) -> list[str]:
        c.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (self.schema,),
        )
        own = f"{self.prefix}_"
        return [
            row["table_name"].removeprefix(own)
            for row in c.fetchall()
            if row["table_name"].startswith(own)
        ]

    def _insert(
        self, c: Any, table: Table, statement: str, columns: Sequence[str], rows: Any
    ) -> None:
        # The rows as one binary array per column, in one statement: a rebuild writes hundreds
        # of thousands, and psycopg's work per row in executemany was a third of its time.
        arrays = ", ".join(f"%b::{self.sql_type(table.column(col).type)}[]" for col in columns)
        c.execute(
            statement.format(values=f"SELECT * FROM unnest({arrays})"),
            [[self.encode(v) for v in column] for column in zip(*rows, strict=True)],
        )

    def select_in(self, c: Any, statement: str, values: Sequence[Any]) -> Iterator[Any]:
        if values:
            c.execute(statement.replace("IN {values}", "= ANY(%s)"), (list(values),))
            yield from c.fetchall()


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# The store.


class ReadModelStore:
    """Position, claim, record, standby and switch for one read model, and its tables: a
    read model's store adds its writes (through `applied`) and its queries (through `reading`)."""

    shape: Shape

    def __init__(self, datastore: Any, dialect: Dialect) -> None:
        self.datastore = datastore
        self.dialect = dialect
        self.copy: str | None = None  # None: whichever copy is live
        self.state_name = self.shape.live
        self.state = ProjectionState(dialect, self.shape.live)
        self._create_tables()

    @classmethod
    def on_sqlite(cls, datastore: SQLiteDatastore) -> Self:
        """The store in a SQLite file, beside the events."""
        return cls(datastore, SQLiteDialect())

    @classmethod
    def on_postgres(cls, datastore: PostgresDatastore, prefix: str = "mediation") -> Self:
        """The store in PostgreSQL, beside the events (their tables' prefix)."""
        return cls(datastore, PostgresDialect(datastore.schema, prefix))

    @classmethod
    def in_memory(cls) -> Self:
        """The store for an application in memory: SQLite in memory, the same queries."""
        return cls.on_sqlite(memory_datastore())

    @classmethod
    def beside(cls, recorder: Any) -> Self:
        """The store beside the application's events, in the same database (for events in
        memory, a SQLite database in memory of its own)."""
        datastore = getattr(recorder, "datastore", None)
        if isinstance(datastore, SQLiteDatastore):
            return cls.on_sqlite(datastore)
        if isinstance(datastore, PostgresDatastore):
            return cls.on_postgres(datastore, recorder.events_table_name.removesuffix("_events"))
        return cls.in_memory()

    def table(self, table: Table, copy: str) -> str:
        """A table of a copy, as statements name it."""
        return self.dialect.name(self.shape.table_name(table, copy))

    def _create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            self.dialect.create(c, STATE, self.state.table_name)
            for copy in COPIES:
                for table in self.shape.tables:
                    self.dialect.create(c, table, self.shape.table_name(table, copy))
        # Read first, and write only if there is something to drop: in SQLite a write
        # transaction that begins with a read could not wait for another process's write.
        with self.datastore.transaction(commit=False) as c:
            tables = [n for n in self.dialect.table_names(c) if self.shape.is_other_format(n)]
            c.execute(f"SELECT name FROM {self.state.table}")
            states = [r["name"] for r in c.fetchall() if self.shape.is_other_state(r["name"])]
        if tables or states:
            with self.datastore.transaction(commit=True) as c:
                for name in tables:
                    c.execute(f"DROP TABLE IF EXISTS {self.dialect.name(name)}")
                for name in states:
                    c.execute(f"DELETE FROM {self.state.table} WHERE name = {self.dialect.mark}",
                              (name,))  # fmt: skip

    def position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return self.state.peek(c, self.state_name, None)[0]

    def applied(self, position: int, write: Callable[[Any, str], None]) -> bool:
        """Claim the view, and unless it has reached `position`, write (with the cursor, in
        the copy) and record `position`, in one transaction: every event is applied once."""
        with self.datastore.transaction(commit=True) as c:
            reached, copy = self.state.claim(c, self.state_name, self.copy)
            if reached >= position:
                return False
            write(c, copy)
            self.state.record(c, self.state_name, position)
            return True

    @contextmanager
    def reading(self) -> Iterator[tuple[Any, str, int]]:
        """A cursor, the copy to read and the position it reflects."""
        with self.datastore.transaction(commit=False) as c:
            position, copy = self.state.peek(c, self.state_name, self.copy)
            yield c, copy, position

    def rows_as(self, kind: Callable[..., T], table: Table, rows: Sequence[Any]) -> list[T]:
        """The rows read from `table`, each made a `kind` from its columns by name."""
        decode = self.dialect.decode
        return [
            kind(**{c.name: decode(c.type, row[c.name]) for c in table.columns}) for row in rows
        ]

    def _empty(self, c: Any, copy: str) -> None:
        for table in self.shape.tables:
            c.execute(f"DELETE FROM {self.table(table, copy)}")

    def clear(self) -> None:
        """Forget everything (for a rebuild from the start of the log)."""
        with self.datastore.transaction(commit=True) as c:
            _, copy = self.state.claim(c, self.state_name, self.copy)
            self._empty(c, copy)
            self.state.record(c, self.state_name, 0)

    def standby(self: S) -> S:
        with self.datastore.transaction(commit=True) as c:
            copy = self.state.start_rebuild(c, self._empty)
        twin = copying.copy(self)
        twin.copy, twin.state_name = copy, rebuild_name(self.shape.live)
        return twin

    def switch_to(self, standby: Any) -> bool:
        with self.datastore.transaction(commit=True) as c:
            return self.state.switch(c)


class ProjectionState:
    """A read model's live view (named after it) and, during a rebuild, its standby view (its
    name plus "#rebuild") writing to the other copy. Claiming a view's row, so that the
    transaction holds it from its start, is what makes an apply exactly once; switching moves
    the standby's position and copy onto the live view in one transaction."""

    def __init__(self, dialect: Dialect, read_model: str) -> None:
        self.dialect = dialect
        self.table_name = STATE.name
        self.table = dialect.name(STATE.name)
        self.live = read_model
        self.rebuild = rebuild_name(read_model)

    def claim(self, c: Any, name: str, copy: str | None) -> tuple[int, str]:
        """A view's position and copy, its row written or locked first so that the
        transaction holds it until it ends (created the first time)."""
        m = self.dialect.mark
        select = f"SELECT position, live_copy FROM {self.table} WHERE name = {m}{self.dialect.lock}"
        row = None
        if not self.dialect.claim_writes_first:
            c.execute(select, (name,))
            row = c.fetchone()
        if row is None:
            c.execute(
                f"INSERT INTO {self.table} (name, position, live_copy) VALUES ({m}, 0, {m}) "
                "ON CONFLICT (name) DO NOTHING",
                (name, copy or "a"),
            )
            c.execute(select, (name,))
            row = c.fetchone()
        return int(row["position"]), copy or row["live_copy"]

    def peek(self, c: Any, name: str, copy: str | None) -> tuple[int, str]:
        """A view's position and copy, for a read."""
        m = self.dialect.mark
        c.execute(f"SELECT position, live_copy FROM {self.table} WHERE name = {m}", (name,))
        row = c.fetchone()
        if row is None:
            return 0, copy or "a"
        return int(row["position"]), copy or row["live_copy"]

    def record(self, c: Any, name: str, position: int) -> None:
        m = self.dialect.mark
        c.execute(f"UPDATE {self.table} SET position = {m} WHERE name = {m}", (position, name))

    def start_rebuild(self, c: Any, empty: Callable[[Any, str], None]) -> str:
        """The copy a rebuild writes to: the one in progress, or the other copy emptied."""
        _, live = self.claim(c, self.live, None)
        m = self.dialect.mark
        c.execute(f"SELECT live_copy FROM {self.table} WHERE name = {m}", (self.rebuild,))
        row = c.fetchone()
        if row is not None:
            return str(row["live_copy"])
        copy = other(live)
        empty(c, copy)
        c.execute(
            f"INSERT INTO {self.table} (name, position, live_copy) VALUES ({m}, 0, {m})",
            (self.rebuild, copy),
        )
        return copy

    def switch(self, c: Any) -> bool:
        live_position, _ = self.claim(c, self.live, None)
        rebuilt, copy = self.claim(c, self.rebuild, None)
        if rebuilt < live_position:
            return False
        m = self.dialect.mark
        c.execute(
            f"UPDATE {self.table} SET position = {m}, live_copy = {m} WHERE name = {m}",
            (rebuilt, copy, self.live),
        )
        c.execute(f"DELETE FROM {self.table} WHERE name = {m}", (self.rebuild,))
        return True


def memory_datastore() -> SQLiteDatastore:
    """A SQLite database in memory, shared by the connections of its pool (and no others)."""
    return SQLiteDatastore(f"file:read-model-{uuid4().hex}?mode=memory&cache=shared")
