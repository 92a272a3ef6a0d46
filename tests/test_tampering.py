"""Tampering with the stored history, by someone with write access to the database.

Each tampering is done with raw SQL on the store itself (the SQLite file, the PostgreSQL
schema), always writing bytes, by someone who does not hold the seal key. Each must be
detected twice: by verification (`GET /cases/{id}/integrity` and `mediation audit verify`)
and by loading (reads and commands answer the integrity-failure problem, nothing is recorded,
and the log names the case and the version). A case untouched beside the tampered one still
loads and verifies. Before each tampering, the same checks say the history is intact.

Also: two writers on one case still conflict cleanly with seals on, and a case's dossier
verifies offline and stops verifying when one byte of it is changed.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient
from psycopg import sql

from application.audit import canonical
from application.audit import verify_dossier
from application.case_store import SNAPSHOT_INTERVAL
from application.clock import SettableClock
from application.keys import public_key_hex
from application.sealing import EVENT_SEAL
from application.sealing import SNAPSHOT_SEAL
from application.sealing import chain_hash
from infrastructure.settings import Settings
from infrastructure.settings import Store
from interfaces.http.app import create_app
from tests.conftest import ACTORS
from tests.conftest import TEST_KEYS
from tests.conftest import auth
from tests.conftest import report_body
from tests.conftest import store_environment
from tests.interfaces.problems import PROBLEM_JSON
from tests.interfaces.problems import assert_problem

ROOT = Path(__file__).resolve().parents[1]
MEDIATION = [sys.executable, "-c", "from interfaces.cli import main; main()"]
CLI_TIMEOUT_SECONDS = 120
RACE_TIMEOUT_SECONDS = 30
DIGEST_BYTES = 32
INTEGRITY_LOG = "mediation.integrity"


# The store, as someone with write access to the database sees it.


class RawStore:
    """The case's rows in the database, read and written with raw SQL, bytes in and out."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.postgres = settings.store is Store.POSTGRES

    @contextmanager
    def _sqlite(self) -> Iterator[sqlite3.Connection]:
        path = self.settings.sqlite_path
        assert path is not None
        with closing(sqlite3.connect(path, timeout=10)) as connection, connection:
            yield connection

    @contextmanager
    def _postgres(self) -> Iterator[psycopg.Connection[Any]]:
        url = self.settings.database_url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(url, autocommit=True) as connection:
            yield connection

    def _table(self, purpose: str) -> sql.Identifier:
        return sql.Identifier(self.settings.database_schema, f"mediation_{purpose}")

    def _run(self, purpose: str, sqlite_text: str, postgres_text: str, *params: Any) -> list[Any]:
        """One statement on the events or snapshots table; the case id as each store keeps it."""
        values = [p.hex if isinstance(p, UUID) and not self.postgres else p for p in params]
        if self.postgres:
            statement = sql.SQL(postgres_text).format(table=self._table(purpose))
            with self._postgres() as connection:
                cursor = connection.execute(statement, values)
                return cursor.fetchall() if cursor.description else []
        table = {"events": "stored_events", "snapshots": "stored_snapshots"}[purpose]
        with self._sqlite() as connection:
            return connection.execute(sqlite_text.format(table=table), values).fetchall()

    def events(self, case_id: str) -> list[tuple[int, str, bytes]]:
        rows = self._run(
            "events",
            "SELECT originator_version, topic, state FROM {table} "
            "WHERE originator_id = ? ORDER BY originator_version",
            "SELECT originator_version, topic, state FROM {table} "
            "WHERE originator_id = %s ORDER BY originator_version",
            UUID(case_id),
        )
        return [(int(v), str(t), bytes(s)) for v, t, s in rows]

    def state(self, case_id: str, version: int) -> bytes:
        return next(s for v, _, s in self.events(case_id) if v == version)

    def set_state(self, case_id: str, version: int, state: bytes) -> None:
        self._run(
            "events",
            "UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            "UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
            state,
            UUID(case_id),
            version,
        )
        assert self.state(case_id, version) == state
        self._check_blobs("events")

    def delete(self, case_id: str, version: int) -> None:
        self._run(
            "events",
            "DELETE FROM {table} WHERE originator_id = ? AND originator_version = ?",
            "DELETE FROM {table} WHERE originator_id = %s AND originator_version = %s",
            UUID(case_id),
            version,
        )
        assert version not in [v for v, _, _ in self.events(case_id)]

    def insert(self, case_id: str, version: int, topic: str, state: bytes) -> None:
        self._run(
            "events",
            "INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            "INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s)",
            UUID(case_id),
            version,
            topic,
            state,
        )
        assert self.state(case_id, version) == state
        self._check_blobs("events")

    def snapshots(self, case_id: str) -> list[tuple[int, bytes]]:
        rows = self._run(
            "snapshots",
            "SELECT originator_version, state FROM {table} "
            "WHERE originator_id = ? ORDER BY originator_version",
            "SELECT originator_version, state FROM {table} "
            "WHERE originator_id = %s ORDER BY originator_version",
            UUID(case_id),
        )
        return [(int(v), bytes(s)) for v, s in rows]

    def set_snapshot_state(self, case_id: str, version: int, state: bytes) -> None:
        self._run(
            "snapshots",
            "UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            "UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
            state,
            UUID(case_id),
            version,
        )
        assert dict(self.snapshots(case_id))[version] == state
        self._check_blobs("snapshots")

    def _check_blobs(self, purpose: str) -> None:
        """What was written is still bytes (a blob, a bytea), never text."""
        if self.postgres:
            return  # the column is bytea: text cannot be stored in it
        kinds = self._run(purpose, "SELECT DISTINCT typeof(state) FROM {table}", "")
        assert kinds == [("blob",)]


def split_seal(state: bytes, magic: bytes = EVENT_SEAL) -> tuple[str, bytes, bytes, bytes]:
    """(key id, hash, mac, the library's state) of a sealed stored state."""
    assert state.startswith(magic), state[:16]
    at = len(magic)
    kid_length = state[at]
    key_id = state[at + 1 : at + 1 + kid_length].decode()
    at += 1 + kid_length
    digest, mac = state[at : at + DIGEST_BYTES], state[at + DIGEST_BYTES : at + 2 * DIGEST_BYTES]
    return key_id, digest, mac, state[at + 2 * DIGEST_BYTES :]


def flip_bit(state: bytes, needle: bytes, magic: bytes = EVENT_SEAL) -> bytes:
    """The state with one bit flipped in the last byte of `needle`, in the library's part (after
    the seal header): the record stays well-formed, only the seal can tell."""
    _, _, _, library_state = split_seal(state, magic)
    header = len(state) - len(library_state)
    found = library_state.index(needle)
    at = header + found + len(needle) - 1
    changed = state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :]
    assert len(changed) == len(state)
    assert sum(a != b for a, b in zip(changed, state, strict=True)) == 1
    return changed


# The service, as its users and auditors see it.


def cli_env(settings: Settings | None) -> dict[str, str]:
    """This process's environment without MEDIATION_* variables; with `settings`, the store,
    the checkpoint folder and the keys they name."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    if settings is not None:
        env.update(store_environment(settings))
    return env


def mediation_cli(
    settings: Settings | None, *args: str, cwd: Path = ROOT, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MEDIATION, *args],
        cwd=cwd,
        env={**cli_env(settings), **env},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


def problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("PROBLEM")]


def qualify(http: TestClient, case_id: str, summary: str, **headers: str) -> Any:
    return http.post(
        f"/cases/{case_id}/qualify",
        json={"category": "ranking", "priority": "normal", "summary": summary},
        headers={**auth("caseworker"), **headers},
    )


def open_case(http: TestClient, clock: SettableClock, qualifications: int) -> str:
    """A case reported, then qualified `qualifications` times: 1 + qualifications events."""
    reported = http.post("/cases", json=report_body(), headers=auth("caseworker"))
    assert reported.status_code == 201, reported.text
    case_id = str(reported.json()["id"])
    for n in range(qualifications):
        clock.advance(timedelta(minutes=1))
        answer = qualify(http, case_id, f"Review number {n}.")
        assert answer.status_code == 200, answer.text
    return case_id


def integrity(http: TestClient, case_id: str) -> dict[str, Any]:
    answer = http.get(f"/cases/{case_id}/integrity", headers=auth("auditor"))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["case_id"] == case_id
    return body


def assert_intact(
    http: TestClient, settings: Settings, case_ids: list[str], events: dict[str, int]
) -> None:
    """Every check says the cases are intact: so each test could fail."""
    for case_id in case_ids:
        report = integrity(http, case_id)
        assert report["verified"] is True, report
        assert report["problems"] == []
        assert report["head_version"] == events[case_id]
        read = http.get(f"/cases/{case_id}", headers=auth("caseworker"))
        assert read.status_code == 200, read.text
        assert read.json()["version"] == events[case_id]
        history = http.get(f"/cases/{case_id}/history", headers=auth("caseworker"))
        assert history.status_code == 200, history.text
    verified = mediation_cli(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert problem_lines(verified.stdout) == []
    assert "VERIFIED" in verified.stdout


def refusal_problems(what: str, answer: Any, case_id: str, version: int) -> list[str]:
    """What is wrong with `answer`, which must be the integrity-failure problem (empty: none)."""
    if answer.status_code != 409 or not answer.headers.get("content-type", "").startswith(
        PROBLEM_JSON
    ):
        return [
            f"{what} answered {answer.status_code}, not the integrity-failure problem: "
            f"{answer.text[:300]}"
        ]
    body = answer.json()
    wrong = []
    if not str(body.get("type", "")).endswith("integrity-failure"):
        wrong.append(f"{what}: problem type {body.get('type')!r}")
    if "case_id" in body and body["case_id"] != case_id:
        wrong.append(f"{what}: names case {body['case_id']}, not {case_id}")
    if "version" in body and body["version"] != version:
        wrong.append(f"{what}: names version {body['version']}, not {version}")
    return wrong


def assert_detected(
    http: TestClient,
    raw: RawStore,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    case_id: str,
    version: int,
    bystander: str,
    also: frozenset[int] = frozenset(),
) -> None:
    """The tampering with `case_id` at `version` is found by verification and by loading, and
    reported for that case only. `also`: other versions a report may rightly name too."""
    # Verification, over HTTP.
    report = integrity(http, case_id)
    assert report["verified"] is False, report
    named = {p["version"] for p in report["problems"]}
    assert version in named, report
    assert named <= {version, *also}, report

    # Verification, from the shell: the whole log, then each case alone.
    whole = mediation_cli(settings, "audit", "verify")
    assert whole.returncode == 1, whole.stdout + whole.stderr
    lines = problem_lines(whole.stdout)
    assert any(line.startswith(f"PROBLEM case {case_id}: version {version}:") for line in lines), (
        whole.stdout
    )
    assert not any(bystander in line for line in lines), whole.stdout
    assert "NOT VERIFIED" in whole.stdout
    alone = mediation_cli(settings, "audit", "verify", "--case", case_id)
    assert alone.returncode == 1, alone.stdout + alone.stderr
    assert any(
        line.startswith(f"PROBLEM case {case_id}: version {version}:")
        for line in problem_lines(alone.stdout)
    ), alone.stdout
    other = mediation_cli(settings, "audit", "verify", "--case", bystander)
    assert other.returncode == 0, other.stdout + other.stderr
    assert problem_lines(other.stdout) == []

    # Loading: every read and command refuses the case, and the log says which and where.
    # Each finding is noted, so that one failure does not hide the others.
    wrong: list[str] = []
    stored = raw.events(case_id)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=INTEGRITY_LOG):
        read = http.get(f"/cases/{case_id}", headers=auth("caseworker"))
    wrong += refusal_problems("GET /cases/{id}", read, case_id, version)
    logged = [r.getMessage() for r in caplog.records if r.name == INTEGRITY_LOG]
    if not any(case_id in m and f"version {version}" in m for m in logged):
        wrong.append(
            f"GET /cases/{{id}}: the log does not name the case and version {version}: {logged}"
        )
    history = http.get(f"/cases/{case_id}/history", headers=auth("caseworker"))
    wrong += refusal_problems("GET /cases/{id}/history", history, case_id, version)
    command = qualify(http, case_id, "Written over a tampered history.")
    wrong += refusal_problems("POST /cases/{id}/qualify", command, case_id, version)
    if raw.events(case_id) != stored:
        wrong.append("POST /cases/{id}/qualify recorded an event on a tampered case")

    # The case beside it is untouched, and says so.
    beside = http.get(f"/cases/{bystander}", headers=auth("caseworker"))
    assert beside.status_code == 200, beside.text
    assert integrity(http, bystander)["verified"] is True
    assert not wrong, "\n".join(wrong)


@pytest.fixture
def raw(durable_settings: Settings) -> RawStore:
    return RawStore(durable_settings)


@pytest.fixture
def bystander(http: TestClient, clock: SettableClock) -> str:
    """A case in the same store that nobody touches."""
    return open_case(http, clock, qualifications=2)


# The tamperings.


def test_one_byte_flipped_in_a_stored_event_is_detected(
    http: TestClient,
    raw: RawStore,
    durable_settings: Settings,
    clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
    bystander: str,
) -> None:
    case_id = open_case(http, clock, qualifications=3)
    assert_intact(http, durable_settings, [case_id, bystander], {case_id: 4, bystander: 3})

    # The actor of version 3 becomes "caseworker-0": still a well-formed event.
    actor = ACTORS["caseworker"].encode()
    assert actor.endswith(b"1")
    raw.set_state(case_id, 3, flip_bit(raw.state(case_id, 3), b'"actor":"' + actor))

    assert_detected(http, raw, durable_settings, caplog, case_id, 3, bystander)


def test_an_event_deleted_from_the_middle_is_detected(
    http: TestClient,
    raw: RawStore,
    durable_settings: Settings,
    clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
    bystander: str,
) -> None:
    case_id = open_case(http, clock, qualifications=3)
    assert_intact(http, durable_settings, [case_id, bystander], {case_id: 4, bystander: 3})

    raw.delete(case_id, 2)
    assert [v for v, _, _ in raw.events(case_id)] == [1, 3, 4]

    assert_detected(http, raw, durable_settings, caplog, case_id, 2, bystander)


def test_two_events_swapped_are_detected(
    http: TestClient,
    raw: RawStore,
    durable_settings: Settings,
    clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
    bystander: str,
) -> None:
    case_id = open_case(http, clock, qualifications=3)
    assert_intact(http, durable_settings, [case_id, bystander], {case_id: 4, bystander: 3})

    second, third = raw.state(case_id, 2), raw.state(case_id, 3)
    assert second != third
    raw.set_state(case_id, 2, third)
    raw.set_state(case_id, 3, second)

    # Version 4 is untouched, but the row before it now carries version 2's seal: a report may
    # name it too.
    also = frozenset({3, 4})
    assert_detected(http, raw, durable_settings, caplog, case_id, 2, bystander, also=also)


def test_an_event_appended_without_the_seal_key_is_detected(
    http: TestClient,
    raw: RawStore,
    durable_settings: Settings,
    clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
    bystander: str,
) -> None:
    case_id = open_case(http, clock, qualifications=3)
    assert_intact(http, durable_settings, [case_id, bystander], {case_id: 4, bystander: 3})

    # A copy of the last event as version 5: its chain hash computed right, as anyone can;
    # its MAC made up, since the forger does not hold the seal key.
    last_version, topic, last_state = raw.events(case_id)[-1]
    assert last_version == 4
    key_id, previous, _, library_state = split_seal(last_state)
    record = StoredEvent(UUID(case_id), 5, topic, library_state)
    digest = chain_hash(previous, record)
    kid = key_id.encode()
    forged = EVENT_SEAL + bytes([len(kid)]) + kid + digest + os.urandom(32) + library_state
    raw.insert(case_id, 5, topic, forged)

    assert_detected(http, raw, durable_settings, caplog, case_id, 5, bystander)


def test_an_edited_snapshot_is_detected(
    http: TestClient,
    raw: RawStore,
    durable_settings: Settings,
    clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
    bystander: str,
) -> None:
    qualifications = SNAPSHOT_INTERVAL + 1
    case_id = open_case(http, clock, qualifications=qualifications)
    http.app.state.mediation.wait_for_snapshots()  # type: ignore[attr-defined]
    events = qualifications + 1
    assert_intact(http, durable_settings, [case_id, bystander], {case_id: events, bystander: 3})
    snapshots = raw.snapshots(case_id)
    assert [v for v, _ in snapshots] == [SNAPSHOT_INTERVAL]
    assert integrity(http, case_id)["snapshots"] == 1

    # The snapshot's count of rounds with the platform becomes 1: still a well-formed snapshot.
    version, state = snapshots[0]
    needle = b'"platform_rounds":0'
    raw.set_snapshot_state(case_id, version, flip_bit(state, needle, SNAPSHOT_SEAL))

    assert_detected(http, raw, durable_settings, caplog, case_id, version, bystander)


def test_the_last_event_removed_is_detected_with_a_checkpoint(
    http: TestClient,
    raw: RawStore,
    durable_settings: Settings,
    clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
    bystander: str,
) -> None:
    case_id = open_case(http, clock, qualifications=3)
    written = mediation_cli(durable_settings, "audit", "checkpoint")
    assert written.returncode == 0, written.stdout + written.stderr
    assert list(durable_settings.checkpoint_dir.glob("checkpoint-*.json"))
    assert_intact(http, durable_settings, [case_id, bystander], {case_id: 4, bystander: 3})
    assert integrity(http, case_id)["checkpoint"] is not None

    raw.delete(case_id, 4)
    assert [v for v, _, _ in raw.events(case_id)] == [1, 2, 3]

    assert_detected(http, raw, durable_settings, caplog, case_id, 4, bystander)


# Concurrency and dossiers, with seals on.


def test_two_writers_on_one_case_still_conflict_cleanly(
    http: TestClient,
    raw: RawStore,
    durable_settings: Settings,
    clock: SettableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two instances of the service load the same version of a case; both then write. Each
    waits for the other at the clock (read after loading, before saving), so both commands
    really race for the same version."""
    case_id = open_case(http, clock, qualifications=0)
    app = create_app(durable_settings, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as other:
        # The scheduled jobs read the clock too: let their first runs end before it is a gate.
        for client in (http, other):
            for schedule in client.app.state.schedules:  # type: ignore[attr-defined]
                assert schedule.wait_for_runs(1, timeout=RACE_TIMEOUT_SECONDS)
        barrier = threading.Barrier(2, timeout=RACE_TIMEOUT_SECONDS)
        real_now = clock.now

        def rendezvous() -> Any:
            barrier.wait()
            return real_now()

        writers = [(http, "Summary by the first writer."), (other, "Summary by the second.")]
        with monkeypatch.context() as patch, ThreadPoolExecutor(max_workers=2) as pool:
            patch.setattr(clock, "now", rendezvous)
            futures = [
                pool.submit(qualify, client, case_id, summary, **{"If-Match": '"1"'})
                for client, summary in writers
            ]
            answers = [f.result(timeout=2 * RACE_TIMEOUT_SECONDS) for f in futures]

        statuses = sorted(a.status_code for a in answers)
        assert statuses[0] == 200, [a.text for a in answers]
        assert statuses[1] in (409, 412), [a.text for a in answers]
        won = next(i for i, a in enumerate(answers) if a.status_code == 200)
        lost = answers[1 - won]
        body = assert_problem(lost, lost.status_code)
        assert body["type"].endswith(("version-conflict", "precondition-failed")), body
        assert answers[won].json()["version"] == 2

        history = http.get(f"/cases/{case_id}/history", headers=auth("caseworker"))
        assert history.status_code == 200, history.text
        events = history.json()["events"]
        assert [e["version"] for e in events] == [1, 2]
        assert events[1]["data"]["summary"] == writers[won][1]
        assert [v for v, _, _ in raw.events(case_id)] == [1, 2]
        for client in (http, other):
            report = integrity(client, case_id)
            assert (report["verified"], report["head_version"]) == (True, 2), report

        # The loser reloads and writes on top of the winner: the chain goes on intact.
        retried = qualify(writers[1 - won][0], case_id, "After reloading.", **{"If-Match": '"2"'})
        assert retried.status_code == 200, retried.text
        assert retried.json()["version"] == 3
    report = integrity(http, case_id)
    assert (report["verified"], report["head_version"]) == (True, 3), report
    verified = mediation_cli(durable_settings, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_dossier_verifies_offline_and_not_once_changed(
    http: TestClient, clock: SettableClock, tmp_path: Path
) -> None:
    case_id = open_case(http, clock, qualifications=1)
    clock.advance(timedelta(hours=1))
    sent = http.post(
        f"/cases/{case_id}/send-to-platform",
        json={"message": "Please state your reasons."},
        headers=auth("caseworker"),
    )
    assert sent.status_code == 200, sent.text
    answer = http.get(f"/cases/{case_id}/dossier", headers=auth("auditor"))
    assert answer.status_code == 200, answer.text
    dossier = answer.json()
    assert dossier["integrity"]["verified"] is True
    assert [e["version"] for e in dossier["history"]] == [1, 2, 3]

    public_key = dossier["public_key"]

    def verify(
        name: str, content: dict[str, Any], *options: str, **env: str
    ) -> subprocess.CompletedProcess[str]:
        path = tmp_path / name
        path.write_text(json.dumps(content, indent=1))
        # Run where no service keys are configured: only what the auditor passes is trusted.
        return mediation_cli(
            None, "audit", "verify-dossier", str(path), *options, cwd=tmp_path, **env
        )

    intact = verify("dossier.json", dossier, "--public-key", public_key)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.startswith("VERIFIED"), intact.stdout
    by_setting = verify("dossier.json", dossier, MEDIATION_TRUSTED_PUBLIC_KEY=public_key)
    assert by_setting.returncode == 0, by_setting.stdout + by_setting.stderr

    # One byte of the stored state of version 2 (inside the summary's ciphertext).
    changed_state = json.loads(json.dumps(dossier))
    event = changed_state["seal"]["events"][1]
    assert event["version"] == 2
    state = base64.b64decode(event["stored_state"])
    at = state.index(b'"v1.') + 8
    state = state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :]
    event["stored_state"] = base64.b64encode(state).decode()
    # An actor of its history.
    changed_actor = json.loads(json.dumps(dossier))
    changed_actor["history"][1]["actor"] = "someone-else"
    # Its signature.
    changed_signature = json.loads(json.dumps(dossier))
    signature = bytearray(bytes.fromhex(changed_signature["signature"]))
    signature[10] ^= 0x01
    changed_signature["signature"] = signature.hex()

    for name, content, named in (
        ("stored-state.json", changed_state, "event 2"),
        ("actor.json", changed_actor, "actor"),
        ("signature.json", changed_signature, "signature"),
    ):
        result = verify(name, content, "--public-key", public_key)
        assert result.returncode == 1, (name, result.stdout + result.stderr)
        assert "NOT VERIFIED" in result.stdout, (name, result.stdout)
        assert any(named in line for line in problem_lines(result.stdout)), (name, result.stdout)


def test_a_dossier_is_verified_only_against_a_key_the_auditor_trusts(
    http: TestClient, clock: SettableClock, tmp_path: Path
) -> None:
    case_id = open_case(http, clock, qualifications=1)
    answer = http.get(f"/cases/{case_id}/dossier", headers=auth("auditor"))
    assert answer.status_code == 200, answer.text
    dossier = answer.json()
    path = tmp_path / "dossier.json"
    path.write_text(json.dumps(dossier))

    # Without a trusted key, the key the dossier carries proves nothing: not checked, exit 2.
    unchecked = mediation_cli(None, "audit", "verify-dossier", str(path), cwd=tmp_path)
    assert unchecked.returncode == 2, unchecked.stdout + unchecked.stderr
    assert "VERIFIED" not in unchecked.stdout
    assert "trusted public key" in unchecked.stderr, unchecked.stderr

    # A forger re-signs the statement with a key of their own and embeds it.
    forger = Ed25519PrivateKey.generate()
    forged = json.loads(json.dumps(dossier))
    forged["public_key"] = public_key_hex(forger.public_key())
    forged["signature"] = forger.sign(canonical(forged["statement"])).hex()
    forged_path = tmp_path / "forged.json"
    forged_path.write_text(json.dumps(forged))
    assert verify_dossier(forged, forged["public_key"]) == [], "the forgery is self-consistent"
    refused = mediation_cli(
        None, "audit", "verify-dossier", str(forged_path), cwd=tmp_path,
        MEDIATION_TRUSTED_PUBLIC_KEY=dossier["public_key"],
    )  # fmt: skip
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "trusted" in "".join(problem_lines(refused.stdout)), refused.stdout

    # Where the service's own keys are configured, their public key is the trusted one.
    configured = mediation_cli(
        None, "audit", "verify-dossier", str(path), cwd=tmp_path, **TEST_KEYS
    )
    assert configured.returncode == 0, configured.stdout + configured.stderr
    assert configured.stdout.startswith("VERIFIED"), configured.stdout
