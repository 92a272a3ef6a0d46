"""The statistics read model in SQLite, in PostgreSQL and in memory.

Two tables per copy: each case's facts, and the counters (kind, day reported, line, count).
A batch of events is applied in one transaction that also records the new position; the facts
it starts from are read inside that transaction, after the position check, so two runners can
never both count the same event. Two copies ("a" and "b") let a rebuild work beside the copy
that answers, as for the queues.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

from application.case_statistics import CaseFacts, CaseStatistics, Deltas

COPIES = ("a", "b")
LIVE = "case_statistics"
REBUILD = "case_statistics#rebuild"
Compute = Callable[
    [Callable[[Iterable[UUID]], Mapping[UUID, CaseFacts]]], tuple[dict[UUID, CaseFacts], Deltas]
]
Counters = tuple[list[tuple[str, dict[str, Any], int]], int]


def other(copy: str) -> str:
    return "b" if copy == "a" else "a"


# SQLite


class SQLiteCaseStatistics(CaseStatistics):
    def __init__(
        self, datastore: SQLiteDatastore, copy: str | None = None, name: str = LIVE
    ) -> None:
        self.datastore = datastore
        self.copy = copy
        self.state_name = name
        if copy is None:
            with self.datastore.transaction(commit=True) as c:
                c.execute(
                    "CREATE TABLE IF NOT EXISTS projection_state ("
                    "name TEXT PRIMARY KEY, position INTEGER NOT NULL, live_copy TEXT)"
                )
                for each in COPIES:
                    c.execute(
                        f"CREATE TABLE IF NOT EXISTS stats_facts_{each} ("
                        "case_id TEXT PRIMARY KEY, facts TEXT NOT NULL)"
                    )
                    c.execute(
                        f"CREATE TABLE IF NOT EXISTS stats_counters_{each} ("
                        "kind TEXT NOT NULL, reported_on TEXT NOT NULL, line TEXT NOT NULL, "
                        "count INTEGER NOT NULL, PRIMARY KEY (reported_on, kind, line))"
                    )

    def _state(self, c: Any, name: str | None = None) -> tuple[int, str]:
        c.execute(
            "INSERT INTO projection_state (name, position, live_copy) VALUES (?, 0, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (name or self.state_name, self.copy or "a"),
        )
        c.execute(
            "SELECT position, live_copy FROM projection_state WHERE name = ?",
            (name or self.state_name,),
        )
        row = c.fetchone()
        return int(row["position"]), self.copy or row["live_copy"]

    def position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT position FROM projection_state WHERE name = ?", (self.state_name,))
            row = c.fetchone()
        return int(row["position"]) if row else 0

    def apply(self, position: int, compute: Compute) -> bool:
        with self.datastore.transaction(commit=True) as c:
            reached, copy = self._state(c)
            if reached >= position:
                return False

            def known(case_ids: Iterable[UUID]) -> dict[UUID, CaseFacts]:
                found = {}
                for case_id in case_ids:
                    c.execute(
                        f"SELECT facts FROM stats_facts_{copy} WHERE case_id = ?",  # noqa: S608
                        (case_id.hex,),
                    )
                    row = c.fetchone()
                    if row is not None:
                        found[case_id] = CaseFacts.from_json(row["facts"])
                return found

            facts, deltas = compute(known)
            for case_id, new in facts.items():
                c.execute(
                    f"INSERT INTO stats_facts_{copy} (case_id, facts) VALUES (?, ?) "  # noqa: S608
                    "ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts",
                    (case_id.hex, new.to_json()),
                )
            for (kind, day, line), delta in deltas.items():
                c.execute(
                    f"INSERT INTO stats_counters_{copy} (kind, reported_on, line, count) "  # noqa: S608
                    "VALUES (?, ?, ?, ?) ON CONFLICT (reported_on, kind, line) "
                    "DO UPDATE SET count = count + excluded.count",
                    (kind, day.isoformat(), line, delta),
                )
            c.execute(
                "UPDATE projection_state SET position = ? WHERE name = ?",
                (position, self.state_name),
            )
            return True

    def counters(self, first: date | None, last: date | None) -> Counters:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT position, live_copy FROM projection_state WHERE name = ?",
                (self.state_name,),
            )
            row = c.fetchone()
            position = int(row["position"]) if row else 0
            copy = self.copy or (row["live_copy"] if row else "a")
            c.execute(
                f"SELECT kind, line, count FROM stats_counters_{copy} "  # noqa: S608
                "WHERE reported_on BETWEEN ? AND ? AND count != 0",
                ((first or date.min).isoformat(), (last or date.max).isoformat()),
            )
            rows = c.fetchall()
        return [(r["kind"], json.loads(r["line"]), int(r["count"])) for r in rows], position

    def standby(self) -> SQLiteCaseStatistics:
        with self.datastore.transaction(commit=True) as c:
            _, live = self._state(c)
            c.execute("SELECT live_copy FROM projection_state WHERE name = ?", (REBUILD,))
            row = c.fetchone()
            if row is None:
                copy = other(live)
                c.execute(f"DELETE FROM stats_facts_{copy}")  # noqa: S608
                c.execute(f"DELETE FROM stats_counters_{copy}")  # noqa: S608
                c.execute(
                    "INSERT INTO projection_state (name, position, live_copy) VALUES (?, 0, ?)",
                    (REBUILD, copy),
                )
            else:
                copy = row["live_copy"]
        return SQLiteCaseStatistics(self.datastore, copy=copy, name=REBUILD)

    def switch_to(self, standby: CaseStatistics) -> bool:
        assert isinstance(standby, SQLiteCaseStatistics)
        with self.datastore.transaction(commit=True) as c:
            live_position, _ = self._state(c)
            rebuilt, _ = self._state(c, REBUILD)
            if rebuilt < live_position:
                return False
            c.execute(
                "UPDATE projection_state SET position = ?, live_copy = ? WHERE name = ?",
                (rebuilt, standby.copy, self.state_name),
            )
            c.execute("DELETE FROM projection_state WHERE name = ?", (REBUILD,))
            return True


# PostgreSQL


class PostgresCaseStatistics(CaseStatistics):
    def __init__(
        self,
        datastore: PostgresDatastore,
        prefix: str = "mediation",
        copy: str | None = None,
        name: str = LIVE,
    ) -> None:
        self.datastore = datastore
        self.prefix = prefix
        self.copy = copy
        self.state_name = name
        self.state = Identifier(datastore.schema, f"{prefix}_projection_state")
        if copy is None:
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(
                    SQL(
                        "CREATE TABLE IF NOT EXISTS {state} (name text PRIMARY KEY, "
                        "position bigint NOT NULL, live_copy text)"
                    ).format(state=self.state)
                )
                for each in COPIES:
                    curs.execute(
                        SQL(
                            "CREATE TABLE IF NOT EXISTS {facts} ("
                            "case_id uuid PRIMARY KEY, facts text NOT NULL)"
                        ).format(facts=self.facts(each))
                    )
                    curs.execute(
                        SQL(
                            "CREATE TABLE IF NOT EXISTS {counters} (kind text NOT NULL, "
                            "reported_on date NOT NULL, line text NOT NULL, count bigint NOT NULL, "
                            "PRIMARY KEY (reported_on, kind, line))"
                        ).format(counters=self.counters_table(each))
                    )

    def facts(self, copy: str) -> Identifier:
        return Identifier(self.datastore.schema, f"{self.prefix}_stats_facts_{copy}")

    def counters_table(self, copy: str) -> Identifier:
        return Identifier(self.datastore.schema, f"{self.prefix}_stats_counters_{copy}")

    def _state(self, curs: Any, name: str | None = None) -> tuple[int, str]:
        name = name or self.state_name
        curs.execute(
            SQL(
                "INSERT INTO {state} (name, position, live_copy) VALUES (%s, 0, %s) "
                "ON CONFLICT (name) DO NOTHING"
            ).format(state=self.state),
            (name, self.copy or "a"),
        )
        curs.execute(
            SQL("SELECT position, live_copy FROM {state} WHERE name = %s FOR UPDATE").format(
                state=self.state
            ),
            (name,),
        )
        row = curs.fetchone()
        return int(row["position"]), self.copy or row["live_copy"]

    def position(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT position FROM {state} WHERE name = %s").format(state=self.state),
                (self.state_name,),
            )
            row = curs.fetchone()
        return int(row["position"]) if row else 0

    def apply(self, position: int, compute: Compute) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            reached, copy = self._state(curs)
            if reached >= position:
                return False

            def known(case_ids: Iterable[UUID]) -> dict[UUID, CaseFacts]:
                ids = list(case_ids)
                if not ids:
                    return {}
                curs.execute(
                    SQL("SELECT case_id, facts FROM {facts} WHERE case_id = ANY(%s)").format(
                        facts=self.facts(copy)
                    ),
                    (ids,),
                )
                return {r["case_id"]: CaseFacts.from_json(r["facts"]) for r in curs.fetchall()}

            facts, deltas = compute(known)
            for case_id, new in facts.items():
                curs.execute(
                    SQL(
                        "INSERT INTO {facts} (case_id, facts) VALUES (%s, %s) "
                        "ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts"
                    ).format(facts=self.facts(copy)),
                    (case_id, new.to_json()),
                )
            for (kind, day, line), delta in deltas.items():
                curs.execute(
                    SQL(
                        "INSERT INTO {counters} (kind, reported_on, line, count) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (reported_on, kind, line) "
                        "DO UPDATE SET count = {counters}.count + excluded.count"
                    ).format(counters=self.counters_table(copy)),
                    (kind, day, line, delta),
                )
            curs.execute(
                SQL("UPDATE {state} SET position = %s WHERE name = %s").format(state=self.state),
                (position, self.state_name),
            )
            return True

    def counters(self, first: date | None, last: date | None) -> Counters:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT position, live_copy FROM {state} WHERE name = %s").format(
                    state=self.state
                ),
                (self.state_name,),
            )
            row = curs.fetchone()
            position = int(row["position"]) if row else 0
            copy = self.copy or (row["live_copy"] if row else "a")
            curs.execute(
                SQL(
                    "SELECT kind, line, count FROM {counters} "
                    "WHERE reported_on BETWEEN %s AND %s AND count != 0"
                ).format(counters=self.counters_table(copy)),
                (first or date.min, last or date.max),
            )
            rows = curs.fetchall()
        return [(r["kind"], json.loads(r["line"]), int(r["count"])) for r in rows], position

    def standby(self) -> PostgresCaseStatistics:
        with self.datastore.transaction(commit=True) as curs:
            _, live = self._state(curs)
            curs.execute(
                SQL("SELECT live_copy FROM {state} WHERE name = %s").format(state=self.state),
                (REBUILD,),
            )
            row = curs.fetchone()
            if row is None:
                copy = other(live)
                curs.execute(SQL("DELETE FROM {t}").format(t=self.facts(copy)))
                curs.execute(SQL("DELETE FROM {t}").format(t=self.counters_table(copy)))
                curs.execute(
                    SQL(
                        "INSERT INTO {state} (name, position, live_copy) VALUES (%s, 0, %s)"
                    ).format(state=self.state),
                    (REBUILD, copy),
                )
            else:
                copy = row["live_copy"]
        return PostgresCaseStatistics(self.datastore, self.prefix, copy=copy, name=REBUILD)

    def switch_to(self, standby: CaseStatistics) -> bool:
        assert isinstance(standby, PostgresCaseStatistics)
        with self.datastore.transaction(commit=True) as curs:
            live_position, _ = self._state(curs)
            rebuilt, _ = self._state(curs, REBUILD)
            if rebuilt < live_position:
                return False
            curs.execute(
                SQL("UPDATE {state} SET position = %s, live_copy = %s WHERE name = %s").format(
                    state=self.state
                ),
                (rebuilt, standby.copy, self.state_name),
            )
            curs.execute(
                SQL("DELETE FROM {state} WHERE name = %s").format(state=self.state), (REBUILD,)
            )
            return True


# In memory


class MemoryCaseStatistics(CaseStatistics):
    def __init__(self, shared: dict[str, Any] | None = None, name: str = LIVE) -> None:
        self.shared: dict[str, Any] = (
            shared
            if shared is not None
            else {
                "lock": threading.RLock(),
                "facts": {"a": {}, "b": {}},
                "counters": {"a": {}, "b": {}},
                "state": {},
            }
        )
        self.state_name = name

    def _state(self, name: str | None = None) -> list[Any]:
        state: list[Any] = self.shared["state"].setdefault(name or self.state_name, [0, "a"])
        return state

    def position(self) -> int:
        with self.shared["lock"]:
            return int(self._state()[0])

    def apply(self, position: int, compute: Compute) -> bool:
        with self.shared["lock"]:
            state = self._state()
            if state[0] >= position:
                return False
            facts_table = self.shared["facts"][state[1]]
            counters = self.shared["counters"][state[1]]
            facts, deltas = compute(
                lambda ids: {i: facts_table[i] for i in ids if i in facts_table}
            )
            facts_table.update(facts)
            for key, delta in deltas.items():
                counters[key] = counters.get(key, 0) + delta
            state[0] = position
            return True

    def counters(self, first: date | None, last: date | None) -> Counters:
        low, high = first or date.min, last or date.max
        with self.shared["lock"]:
            state = self._state()
            rows = [
                (kind, json.loads(line), count)
                for (kind, day, line), count in self.shared["counters"][state[1]].items()
                if count and low <= day <= high
            ]
            return rows, int(state[0])

    def standby(self) -> MemoryCaseStatistics:
        with self.shared["lock"]:
            if REBUILD not in self.shared["state"]:
                copy = other(self._state()[1])
                self.shared["facts"][copy] = {}
                self.shared["counters"][copy] = {}
                self.shared["state"][REBUILD] = [0, copy]
        return MemoryCaseStatistics(self.shared, REBUILD)

    def switch_to(self, standby: CaseStatistics) -> bool:
        with self.shared["lock"]:
            live, rebuilt = self._state(), self.shared["state"][REBUILD]
            if rebuilt[0] < live[0]:
                return False
            self.shared["state"][self.state_name] = list(rebuilt)
            del self.shared["state"][REBUILD]
            return True


def case_statistics_for(recorder: Any) -> CaseStatistics:
    """The statistics store beside the application's events, in the same database."""
    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, SQLiteDatastore):
        return SQLiteCaseStatistics(datastore)
    if isinstance(datastore, PostgresDatastore):
        return PostgresCaseStatistics(datastore, recorder.events_table_name.removesuffix("_events"))
    return MemoryCaseStatistics()
