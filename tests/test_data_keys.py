"""The data keys: a ring outside the database, rotated, so that an erasure is complete on disk.

1. The ring: made owner-only at the first start, registered in the database, refused when it
   is not the database's own or has gone missing.
2. Rotation: every case key rewrapped under a new data key, the older ones destroyed; a data
   key retired in the database is refused for new case keys; an interrupted rotation is
   finished by the next run; the schedule and the command line.
3. On disk: after an erasure and a rotation, every copy of the erased case's wrapped key that
   is left in the key table's files and in the write-ahead log (PostgreSQL) or in the file and
   its WAL (SQLite) is useless with every key the service holds.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from uuid import uuid4

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import NoEncryption
from cryptography.hazmat.primitives.serialization import PrivateFormat

from application.clock import SettableClock
from application.data_keys import DataKey
from application.data_keys import DataKeyRetired
from application.data_keys import RingNotFound
from application.data_keys import RotationBusy
from application.keys import Keys
from application.keys import KeySet
from application.mediation import MediationApplication
from application.personal_data import WrappedKey
from domain.platforms import BUILTIN_PLATFORMS
from infrastructure.data_key_file import read_ring
from infrastructure.keyfiles import data_key_file_path
from infrastructure.keyfiles import write_key_file
from infrastructure.settings import Settings
from infrastructure.settings import Store
from infrastructure.settings import load_settings
from interfaces.composition import data_key_schedule
from interfaces.composition import open_application
from interfaces.http.schemas import ReportCaseRequest
from tests.conftest import ACTORS
from tests.conftest import PLATFORMS_FILE
from tests.conftest import REQUIRE_POSTGRES
from tests.conftest import TOKENS_SETTING
from tests.conftest import PostgresSchema
from tests.conftest import report_body
from tests.conftest import settings_for
from tests.conftest import store_environment
from tests.infrastructure.test_log_order import Worker
from tests.infrastructure.test_log_order import connect
from tests.infrastructure.test_log_order import wait_until_blocked

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from interfaces.cli import main; main()"]


def report(app: MediationApplication, **changes: Any) -> UUID:
    body = report_body(**changes)
    request = ReportCaseRequest.model_validate(body).to_report(BUILTIN_PLATFORMS)
    return app.report_case(request, actor=ACTORS["reporter"]).case_id


def ring_file(settings: Settings) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(data_key_file_path(settings).read_text())
    return content


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env=env | store_environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def app(durable_settings: Settings, clock: SettableClock) -> Iterator[MediationApplication]:
    opened = open_application(durable_settings, clock)
    yield opened
    opened.close()


# 1. The ring.


def test_the_first_start_makes_an_owner_only_ring_and_registers_it(
    app: MediationApplication, durable_settings: Settings, clock: SettableClock
) -> None:
    path = data_key_file_path(durable_settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = ring_file(durable_settings)
    (key,) = content["keys"]
    registered = app.case_keys.store.registered_data_keys()  # type: ignore[union-attr]
    assert [(k.id, k.ring_id, k.retired_at) for k in registered] == [
        (key["id"], content["ring"], None)
    ]

    # A second start reads the same ring, and writes nothing.
    before = path.read_bytes()
    again = open_application(durable_settings, clock)
    try:
        assert again.case_keys.ring.current.id == key["id"]
        assert not again.ring_made
    finally:
        again.close()
    assert path.read_bytes() == before


def test_a_ring_that_is_not_the_database_s_own_or_is_missing_is_refused(
    app: MediationApplication, durable_settings: Settings, clock: SettableClock, tmp_path: Path
) -> None:
    case_id = report(app)
    path = data_key_file_path(durable_settings)
    kept = path.read_bytes()

    # Another deployment's ring: its keys would wrap what this database's processes cannot read.
    elsewhere = tmp_path / "elsewhere.json"
    stranger = durable_settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'stranger.db'}",
            "data_keys_file": elsewhere,
        }
    )
    open_application(stranger, clock).close()
    with pytest.raises(RingNotFound, match="not the one"):
        open_application(durable_settings.model_copy(update={"data_keys_file": elsewhere}), clock)

    # The ring gone: refused, rather than a new ring that reads none of the cases.
    path.unlink()
    with pytest.raises(RingNotFound, match="restore"):
        open_application(durable_settings, clock)
    assert not path.exists()

    # Restored from its backup, everything reads again.
    path.write_bytes(kept)
    path.chmod(0o600)
    restored = open_application(durable_settings, clock)
    try:
        assert restored.get_case(case_id).description.text == report_body()["description"]
    finally:
        restored.close()


def test_a_ring_whose_rewrite_was_cut_short_is_finished_at_the_next_read(
    app: MediationApplication, durable_settings: Settings, clock: SettableClock
) -> None:
    case_id = report(app)
    path = data_key_file_path(durable_settings)
    whole = path.read_bytes()
    # What a crash between the two steps of a rewrite leaves: the old content zeroed in place,
    # the new one complete beside it.
    pending = path.with_name(f".{path.name}.new")
    pending.write_bytes(whole)
    pending.chmod(0o600)
    path.write_bytes(bytes(len(whole)))
    again = open_application(durable_settings, clock)
    try:
        assert again.get_case(case_id).description.text == report_body()["description"]
    finally:
        again.close()
    assert path.read_bytes() == whole
    assert not pending.exists()


def test_data_keys_given_as_a_setting_before_the_ring_seed_it(
    durable_settings: Settings, clock: SettableClock
) -> None:
    legacy = KeySet.generate("data-1")
    settings = durable_settings.model_copy(update={"data_keys": legacy})
    app = open_application(settings, clock)
    try:
        assert app.ring_made
        assert [k.id for k in app.case_keys.ring.all_keys()] == ["data-1"]
        case_id = report(app)
        assert app.case_keys.store.count_case_keys() == {"data-1": 1}  # type: ignore[union-attr]
        app.rotate_data_keys()
        assert "data-1" not in {k["id"] for k in ring_file(settings)["keys"]}
    finally:
        app.close()
    # After the rotation the setting is not needed any more.
    again = open_application(durable_settings, clock)
    try:
        assert again.get_case(case_id).description.text == report_body()["description"]
    finally:
        again.close()


def test_a_development_key_file_from_before_the_ring_hands_its_data_keys_over(
    tmp_path: Path, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("MEDIATION_") and "KEY" in name:
            monkeypatch.delenv(name)
    database = tmp_path / "old.db"
    key_file = tmp_path / "old.db.keys.json"
    legacy = KeySet.generate("data-1")
    write_key_file(key_file, replace(Keys.generate(), data=legacy))  # as the version before
    settings = load_settings(
        database_url=f"sqlite:///{database}",
        tokens=TOKENS_SETTING,
        platforms_file=PLATFORMS_FILE,
        checkpoint_dir=tmp_path / "checkpoints",
    )
    messages: list[str] = []
    app = open_application(settings, clock, messages.append)
    try:
        assert [(k.id, k.secret) for k in app.case_keys.ring.all_keys()] == [
            ("data-1", legacy.keys["data-1"])
        ]
    finally:
        app.close()
    # The ring alone holds the data keys now: destroying one at a rotation destroys it.
    assert "MEDIATION_DATA_KEYS" not in json.loads(key_file.read_text())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert any("Made the data keys" in m for m in messages), messages


# 2. Rotation.


def test_a_rotation_rewraps_every_case_key_and_destroys_the_older_data_key(
    app: MediationApplication, durable_settings: Settings, clock: SettableClock
) -> None:
    cases = [report(app, name=f"Atelier {n}") for n in range(3)]
    store = app.case_keys.store
    assert store is not None
    old = app.case_keys.ring.current.id
    assert store.count_case_keys() == {old: 3}

    clock.advance(timedelta(days=1))
    rotation = app.rotate_data_keys()

    new = app.case_keys.ring.current.id
    assert (rotation.current, rotation.destroyed, rotation.rewrapped) == (new, [old], 3)
    assert new != old
    assert store.count_case_keys() == {new: 3}
    assert [k["id"] for k in ring_file(durable_settings)["keys"]] == [new]
    retired = {k.id: k.retired_at for k in store.registered_data_keys()}
    assert retired == {old: clock.now(), new: None}
    for n, case_id in enumerate(cases):
        assert app.get_case(case_id).company.name.text == f"Atelier {n}"
    # A new case is wrapped under the new key; the retired one is refused for new case keys.
    report(app)
    assert store.count_case_keys() == {new: 4}


def test_a_retired_data_key_is_refused_and_a_report_is_wrapped_again_under_the_current_one(
    app: MediationApplication, durable_settings: Settings, clock: SettableClock
) -> None:
    store = app.case_keys.store
    assert store is not None
    old = app.case_keys.ring.current
    other = open_application(durable_settings, clock)  # a second process of the deployment
    try:
        other.rotate_data_keys()
    finally:
        other.close()

    # At the store: a new case key under the retired data key, or an unknown one, is refused.
    for kek_id in (old.id, "data-from-elsewhere"):
        with pytest.raises(DataKeyRetired):
            store.insert_events(  # type: ignore[attr-defined]
                [], new_case_keys={UUID(int=1): WrappedKey(kek_id, b"x" * 60)}
            )
    assert store.wrapped_case_key(UUID(int=1)) is None

    # A process that read the ring just before the rotation: its first wrap is refused, it
    # reads the ring again and the report goes through under the current data key.
    ring = app.case_keys.ring
    real_refresh = ring.refresh
    stale = {"left": 1}

    def refresh_late() -> None:
        if stale["left"]:
            stale["left"] -= 1
            return
        real_refresh()

    ring._keys = [old]  # type: ignore[attr-defined]  # what it had read before the rotation
    ring.refresh = refresh_late  # type: ignore[method-assign]
    case_id = report(app)
    assert stale["left"] == 0
    current = ring_file(durable_settings)["keys"][-1]["id"]
    assert store.count_case_keys() == {current: 1}
    assert app.get_case(case_id).description.text == report_body()["description"]


def test_an_interrupted_rotation_is_finished_by_the_next_run(
    app: MediationApplication, clock: SettableClock
) -> None:
    cases = [report(app, name=f"Atelier {n}") for n in range(2)]
    store, ring = app.case_keys.store, app.case_keys.ring
    assert store is not None
    old = ring.current.id
    # A rotation that stopped after step 2: the new key added and the old one retired.
    fresh = DataKey.new(clock.now())
    store.register_data_key(fresh.id, ring.ring_id, fresh.created_at)
    ring.add(fresh)
    store.retire_data_keys([old], clock.now())
    assert store.count_case_keys() == {old: 2}

    done = app.rotate_data_keys_if_due(rotation_days=30)
    assert done is not None
    assert (done.current, done.destroyed, done.rewrapped) == (fresh.id, [old], 2)
    assert [k.id for k in ring.all_keys()] == [fresh.id]
    assert store.count_case_keys() == {fresh.id: 2}
    assert app.rotate_data_keys_if_due(rotation_days=30) is None
    for case_id in cases:
        assert not app.get_case(case_id).company.name.is_erased


def test_two_rotations_at_once_one_runs_the_other_is_told(
    app: MediationApplication, durable_settings: Settings, clock: SettableClock
) -> None:
    report(app)
    entered, release = threading.Event(), threading.Event()
    store = app.case_keys.store
    assert store is not None
    real_rewrap = app.case_keys.rewrap_all

    def slow_rewrap() -> int:
        entered.set()
        release.wait(30)
        return real_rewrap()

    app.case_keys.rewrap_all = slow_rewrap  # type: ignore[method-assign]
    first = threading.Thread(target=app.rotate_data_keys)
    first.start()
    try:
        assert entered.wait(30)
        other = open_application(durable_settings, clock)
        try:
            with pytest.raises(RotationBusy):
                other.rotate_data_keys()
        finally:
            other.close()
    finally:
        release.set()
        first.join(30)
    assert len(app.case_keys.ring.all_keys()) == 1


def test_the_schedule_rotates_once_the_data_key_is_due(
    app: MediationApplication, durable_settings: Settings, clock: SettableClock
) -> None:
    report(app)
    first = app.case_keys.ring.current.id
    schedule = data_key_schedule(app, durable_settings)
    days = durable_settings.data_key_rotation_days

    clock.advance(timedelta(days=days) - timedelta(seconds=1))
    assert schedule.run_once() is None
    assert app.case_keys.ring.current.id == first

    clock.advance(timedelta(seconds=1))
    done = schedule.run_once()
    assert done is not None
    assert done.destroyed == [first]
    assert app.case_keys.ring.current.created_at == clock.now()
    assert schedule.run_once() is None


def test_the_command_line_rotates_and_says_where_the_keys_stand(
    durable_settings: Settings,
) -> None:
    # The command line reads the system clock: the ring is made on it too.
    app = open_application(durable_settings, SettableClock(datetime.now(UTC)))
    try:
        case_id = report(app)
        app.erase_personal_data(case_id, reason="GDPR art. 17", actor="dpo-1")
        old = app.case_keys.ring.current.id
    finally:
        app.close()

    status = cli(durable_settings, "keys", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"current data key {old}" in status.stdout
    assert "1 erasure(s) since it was made" in status.stdout

    not_due = cli(durable_settings, "keys", "rotate", "--if-due")
    assert not_due.returncode == 0, not_due.stdout + not_due.stderr
    assert "no rotation due" in not_due.stdout

    rotated = cli(durable_settings, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert f"destroyed: {old}" in rotated.stdout
    assert old not in {k["id"] for k in ring_file(durable_settings)["keys"]}
    after = cli(durable_settings, "keys", "status")
    assert "0 erasure(s) since it was made" in after.stdout, after.stdout


# 3. On disk.


REWRITES = 10
"""How many times the test rewrites the key table before it expects the erased row gone."""


def wrap_copies(files: list[Path], wrapped: bytes) -> list[tuple[Path, int]]:
    """Every place the wrapped key's bytes stand in these files."""
    found = []
    for path in files:
        try:
            content = path.read_bytes()
        except FileNotFoundError:  # a WAL segment recycled meanwhile
            continue
        at = content.find(wrapped)
        while at != -1:
            found.append((path, at))
            at = content.find(wrapped, at + 1)
    return found


def held_keys(settings: Settings) -> list[bytes]:
    """Every key the service holds: its data keys (the ring), its seal keys, its signing key,
    and any data key still given as a setting."""
    _, ring = read_ring(data_key_file_path(settings))
    held = [key.secret for key in ring]
    assert settings.seal_keys is not None
    assert settings.signing_key is not None
    held += list(settings.seal_keys.keys.values())
    held.append(settings.signing_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    if settings.data_keys is not None:
        held += list(settings.data_keys.keys.values())
    return held


def unwraps(keys: list[bytes], case_id: UUID, wrapped: bytes) -> list[bytes]:
    """The keys among `keys` that unwrap `wrapped`: the case keys they reveal."""
    revealed = []
    for key in keys:
        try:
            revealed.append(AESGCM(key).decrypt(wrapped[:12], wrapped[12:], case_id.bytes))
        except InvalidTag:
            continue
    return revealed


def postgres_files(
    settings: Settings, table: str, since_segment: str
) -> tuple[list[Path], list[Path]]:
    """The files of `table` (its main fork, every segment) and of the write-ahead log from
    `since_segment` on, after a checkpoint has written every page out."""
    with PostgresSchema(settings.database_url).connect() as connection:
        connection.execute("CHECKPOINT")
        row = connection.execute("SHOW data_directory").fetchone()
        relation = connection.execute(
            "SELECT pg_relation_filepath(%s)", (f'{settings.database_schema}."{table}"',)
        ).fetchone()
    assert row is not None
    assert relation is not None
    data = Path(row[0])
    main = data / relation[0]
    if not os.access(data / "pg_wal", os.R_OK):
        reason = f"the server's files ({data}) cannot be read from this process"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason}, and MEDIATION_REQUIRE_POSTGRES=1 forbids skipping it")
        pytest.skip(reason)
    table_files = [main, *sorted(main.parent.glob(f"{main.name}.*"))]
    segments = (data / "pg_wal").iterdir()
    return table_files, sorted(p for p in segments if p.is_file() and p.name >= since_segment)


def sqlite_files(settings: Settings) -> list[Path]:
    assert settings.sqlite_path is not None
    return [settings.sqlite_path.with_name(settings.sqlite_path.name + s) for s in ("", "-wal")]


@pytest.fixture
def wal_kept(durable_settings: Settings) -> Iterator[str]:
    """On PostgreSQL, a replication slot for the test's length: the server keeps every segment
    of its write-ahead log from now on (as an archive or a replica would), so what the test
    searches for is not recycled away by the other tests' traffic meanwhile. The name of the
    first segment the test can write to: the search starts there."""
    if durable_settings.store is not Store.POSTGRES:
        yield ""
        return
    slot = f"mediation_test_{uuid4().hex[:12]}"
    # Temporary: the server drops it with this session, even if the test run dies.
    with PostgresSchema(durable_settings.database_url).connect() as connection:
        connection.execute("SELECT pg_create_physical_replication_slot(%s, true, true)", (slot,))
        row = connection.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
        assert row is not None
        yield str(row[0])


def test_after_the_rotation_no_copy_of_an_erased_key_left_on_disk_can_be_unwrapped(
    app: MediationApplication, durable_settings: Settings, clock: SettableClock, wal_kept: str
) -> None:
    erased = report(app, description="Secret de Zéphyrine, effacé ensuite.")
    kept = report(app, name="Atelier gardé")
    store = app.case_keys.store
    assert store is not None
    found = store.wrapped_case_key(erased)
    assert found is not None
    wrapped = found.wrapped
    description = app.case_keys.key_for(erased)
    assert description is not None

    def disk() -> tuple[list[Path], list[Path]]:
        if durable_settings.store is Store.POSTGRES:
            return postgres_files(durable_settings, "mediation_case_keys", wal_kept)
        return sqlite_files(durable_settings), []

    table_files, log_files = disk()
    assert wrap_copies(table_files + log_files, wrapped), "the search sees the key before"

    clock.advance(timedelta(hours=1))
    app.erase_personal_data(erased, reason="GDPR art. 17 request", actor="dpo-1")
    table_files, log_files = disk()
    # Right after: the key table's files no longer hold it (rewritten). PostgreSQL's rewrite
    # keeps a deleted row while a transaction begun before the delete may still read it (any
    # backend of the cluster starting up meanwhile counts): rewritten again, it goes.
    for _ in range(REWRITES):
        if not wrap_copies(table_files, wrapped):
            break
        app.rewrite_case_keys()
        table_files, log_files = disk()
    assert wrap_copies(table_files, wrapped) == []
    left = wrap_copies(log_files, wrapped)
    if durable_settings.store is Store.POSTGRES:
        # The defect this guards against: the write-ahead log keeps the wrapped key, and until
        # the rotation the data key the service holds unwraps it into the erased case's key.
        assert left, "PostgreSQL's write-ahead log still holds the erased key"
        assert unwraps(held_keys(durable_settings), erased, wrapped) == [description]
    else:
        # SQLite overwrites the deleted row in place and empties its WAL: nothing is left.
        assert left == []

    clock.advance(timedelta(hours=1))
    app.rotate_data_keys()
    table_files, log_files = disk()
    copies = wrap_copies(table_files + log_files, wrapped)
    if durable_settings.store is Store.POSTGRES:
        assert copies, "the log keeps its copies: the rotation is what makes them useless"
    held = held_keys(durable_settings)
    for path, at in copies:
        assert unwraps(held, erased, wrapped) == [], f"{path} at {at} still unwraps"
    # The data keys never reach the database's files: what is destroyed is gone.
    for key in held:
        assert wrap_copies(table_files + log_files, key) == []
    # And the case kept reads as before, under the new data key.
    assert app.get_case(kept).company.name.text == "Atelier gardé"


@pytest.mark.postgres
def test_a_retirement_waits_for_a_case_key_being_written_under_the_old_data_key(
    tmp_path: Path, clock: SettableClock, request: pytest.FixtureRequest
) -> None:
    """The fence: a report that wraps under the old data key while the rotation retires it
    commits before the retirement does, so the rewrap that follows sees it: never left behind."""
    settings = settings_for("postgres", tmp_path, request)
    app = open_application(settings, clock)
    try:
        recorder: Any = app.recorder
        old = app.case_keys.ring.current.id
        case_id = UUID(int=7)
        with connect(settings, recorder) as writer, connect(settings, recorder) as watcher:
            watcher.autocommit = True
            # The recorder's own statement, in a transaction left open: it holds its lock.
            writer.execute(recorder.record_statement, ([], [case_id], [old], [b"w" * 60]))
            retiring = Worker(
                lambda: recorder.retire_data_keys([old], clock.now()), name="retirement"
            )
            retiring.start()
            keys_table = recorder.case_keys_table.as_string(None)
            assert wait_until_blocked(watcher, keys_table, writer.info.backend_pid, retiring), (
                "the retirement did not wait for the case key being written"
            )
            writer.commit()
            retiring.finish()
        assert recorder.count_case_keys() == {old: 1}  # committed first: a rewrap sees it
        assert [k.retired_at is not None for k in recorder.registered_data_keys()] == [True]
    finally:
        app.close()
