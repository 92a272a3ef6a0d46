"""Where each read model stands: its position in the event log and which of its two copies
answers, in a table beside its rows, for every store.

A read model has a live view (named after it) and, during a rebuild, a standby view (its name
plus "#rebuild") writing to the other copy. Reading a view's state under a write lock at the
start of a transaction is what makes an apply exactly once; switching moves the standby's
position and copy onto the live view in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

COPIES = ("a", "b")


def other(copy: str) -> str:
    return "b" if copy == "a" else "a"


def rebuild_name(read_model: str) -> str:
    return f"{read_model}#rebuild"


class SQLiteProjectionState:
    def __init__(self, datastore: SQLiteDatastore, read_model: str) -> None:
        self.datastore = datastore
        self.live = read_model
        self.rebuild = rebuild_name(read_model)

    @staticmethod
    def create(c: Any) -> None:
        c.execute(
            "CREATE TABLE IF NOT EXISTS projection_state ("
            "name TEXT PRIMARY KEY, position INTEGER NOT NULL, live_copy TEXT)"
        )

    @staticmethod
    def claim(c: Any, name: str, copy: str | None) -> tuple[int, str]:
        """A view's position and copy; the first statement writes, so the transaction holds
        the write lock from its start."""
        c.execute(
            "INSERT INTO projection_state (name, position, live_copy) VALUES (?, 0, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (name, copy or "a"),
        )
        c.execute("SELECT position, live_copy FROM projection_state WHERE name = ?", (name,))
        row = c.fetchone()
        return int(row["position"]), copy or row["live_copy"]

    @staticmethod
    def peek(c: Any, name: str, copy: str | None) -> tuple[int, str]:
        """A view's position and copy, for a read."""
        c.execute("SELECT position, live_copy FROM projection_state WHERE name = ?", (name,))
        row = c.fetchone()
        if row is None:
            return 0, copy or "a"
        return int(row["position"]), copy or row["live_copy"]

    def position(self, name: str) -> int:
        with self.datastore.transaction(commit=False) as c:
            return self.peek(c, name, None)[0]

    @staticmethod
    def record(c: Any, name: str, position: int) -> None:
        c.execute("UPDATE projection_state SET position = ? WHERE name = ?", (position, name))

    def start_rebuild(self, clear: Callable[[Any, str], None]) -> str:
        """The copy a rebuild writes to: the one in progress, or the other copy emptied."""
        with self.datastore.transaction(commit=True) as c:
            _, live = self.claim(c, self.live, None)
            c.execute("SELECT live_copy FROM projection_state WHERE name = ?", (self.rebuild,))
            row = c.fetchone()
            if row is not None:
                return str(row["live_copy"])
            copy = other(live)
            clear(c, copy)
            c.execute(
                "INSERT INTO projection_state (name, position, live_copy) VALUES (?, 0, ?)",
                (self.rebuild, copy),
            )
            return copy

    def switch(self) -> bool:
        with self.datastore.transaction(commit=True) as c:
            live_position, _ = self.claim(c, self.live, None)
            rebuilt, copy = self.peek(c, self.rebuild, None)
            if rebuilt < live_position:
                return False
            c.execute(
                "UPDATE projection_state SET position = ?, live_copy = ? WHERE name = ?",
                (rebuilt, copy, self.live),
            )
            c.execute("DELETE FROM projection_state WHERE name = ?", (self.rebuild,))
            return True


class PostgresProjectionState:
    def __init__(self, datastore: PostgresDatastore, prefix: str, read_model: str) -> None:
        self.datastore = datastore
        self.table = Identifier(datastore.schema, f"{prefix}_projection_state")
        self.live = read_model
        self.rebuild = rebuild_name(read_model)

    def create(self, curs: Any) -> None:
        curs.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {state} (name text PRIMARY KEY, "
                "position bigint NOT NULL, live_copy text)"
            ).format(state=self.table)
        )

    def claim(self, curs: Any, name: str, copy: str | None) -> tuple[int, str]:
        """A view's position and copy, its row locked until the transaction ends. (The row is
        created only the first time: a worker claims it for every batch, one round trip.)"""
        lock = SQL("SELECT position, live_copy FROM {state} WHERE name = %s FOR UPDATE").format(
            state=self.table
        )
        curs.execute(lock, (name,))
        row = curs.fetchone()
        if row is None:
            curs.execute(
                SQL(
                    "INSERT INTO {state} (name, position, live_copy) VALUES (%s, 0, %s) "
                    "ON CONFLICT (name) DO NOTHING"
                ).format(state=self.table),
                (name, copy or "a"),
            )
            curs.execute(lock, (name,))
            row = curs.fetchone()
        return int(row["position"]), copy or row["live_copy"]

    def peek(self, curs: Any, name: str, copy: str | None) -> tuple[int, str]:
        curs.execute(
            SQL("SELECT position, live_copy FROM {state} WHERE name = %s").format(state=self.table),
            (name,),
        )
        row = curs.fetchone()
        if row is None:
            return 0, copy or "a"
        return int(row["position"]), copy or row["live_copy"]

    def position(self, name: str) -> int:
        with self.datastore.transaction(commit=False) as curs:
            return self.peek(curs, name, None)[0]

    def record(self, curs: Any, name: str, position: int) -> None:
        curs.execute(
            SQL("UPDATE {state} SET position = %s WHERE name = %s").format(state=self.table),
            (position, name),
        )

    def start_rebuild(self, clear: Callable[[Any, str], None]) -> str:
        with self.datastore.transaction(commit=True) as curs:
            _, live = self.claim(curs, self.live, None)
            curs.execute(
                SQL("SELECT live_copy FROM {state} WHERE name = %s").format(state=self.table),
                (self.rebuild,),
            )
            row = curs.fetchone()
            if row is not None:
                return str(row["live_copy"])
            copy = other(live)
            clear(curs, copy)
            curs.execute(
                SQL("INSERT INTO {state} (name, position, live_copy) VALUES (%s, 0, %s)").format(
                    state=self.table
                ),
                (self.rebuild, copy),
            )
            return copy

    def switch(self) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            live_position, _ = self.claim(curs, self.live, None)
            rebuilt, copy = self.claim(curs, self.rebuild, None)
            if rebuilt < live_position:
                return False
            curs.execute(
                SQL("UPDATE {state} SET position = %s, live_copy = %s WHERE name = %s").format(
                    state=self.table
                ),
                (rebuilt, copy, self.live),
            )
            curs.execute(
                SQL("DELETE FROM {state} WHERE name = %s").format(state=self.table),
                (self.rebuild,),
            )
            return True


class MemoryProjectionState:
    """The same, for the in-memory store: one lock over the state and the rows it guards."""

    def __init__(self, read_model: str) -> None:
        self.lock = threading.RLock()
        self.views: dict[str, list[Any]] = {}  # name -> [position, copy]
        self.live = read_model
        self.rebuild = rebuild_name(read_model)

    def view(self, name: str) -> list[Any]:
        return self.views.setdefault(name, [0, "a"])

    def position(self, name: str) -> int:
        with self.lock:
            return int(self.view(name)[0])

    def start_rebuild(self, clear: Callable[[str], None]) -> None:
        with self.lock:
            if self.rebuild not in self.views:
                copy = other(self.view(self.live)[1])
                clear(copy)
                self.views[self.rebuild] = [0, copy]

    def switch(self) -> bool:
        with self.lock:
            rebuilt = self.views[self.rebuild]
            if rebuilt[0] < self.view(self.live)[0]:
                return False
            self.views[self.live] = list(rebuilt)
            del self.views[self.rebuild]
            return True
