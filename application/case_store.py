"""The library's Application made to keep cases: every event sealed, every personal text
encrypted under its case's key (the keys wrapped by the ring of data keys), snapshots written
off the command's path, and the log read by projections without personal data.

The commands and the reads of one case are the mediation application's
(application.mediation), built on this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from typing import ClassVar
from typing import Protocol
from typing import TypedDict
from typing import Unpack
from typing import cast
from typing import runtime_checkable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.application import Application
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.persistence import EventStore
from eventsourcing.persistence import IntegrityError
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.persistence import Mapper
from eventsourcing.persistence import Recording
from eventsourcing.utils import Environment
from eventsourcing.utils import get_topic

from application.audit import Auditor
from application.audit import Checkpoint
from application.audit import CheckpointArchive
from application.audit import IntegrityReport
from application.clock import Clock
from application.clock import SystemClock
from application.data_keys import DataKey
from application.data_keys import DataKeyRing
from application.data_keys import MemoryDataKeyRing
from application.data_keys import Rotation
from application.data_keys import seeded_from
from application.errors import CaseNotFound
from application.key_rotation import KeysStatus
from application.key_rotation import keys_status
from application.key_rotation import open_ring
from application.key_rotation import rotate
from application.key_rotation import rotation_due
from application.key_rotation import rotation_unfinished
from application.keys import Keys
from application.personal_data import CaseAwareMapper
from application.personal_data import CaseKeys
from application.personal_data import CaseKeyStore
from application.personal_data import EncryptedPersonalText
from application.personal_data import UnreadPersonalText
from application.personal_data import keys_per_call
from application.projections import EventLog
from application.projections import open_seal
from application.sealing import SealedEventStore
from application.sealing import SealedSnapshotStore
from application.sealing import Sealer
from application.sealing import integrity_failure
from application.transcodings import register_domain_transcodings
from domain.case import Case

log = logging.getLogger("mediation.integrity")

APPLICATION_NAME = "mediation"
"""Fixed, never the class name: PostgreSQL table names are derived from it."""

SNAPSHOT_INTERVAL = 5
"""A snapshot every 5 events bounds the replay of a command to at most 4 events after it, so a
command on a long case costs about what it costs on a short one."""


@runtime_checkable
class EventPositions(Protocol):
    """Where given events stand in the log (the recorders answer it)."""

    def positions_of(self, events: Sequence[tuple[UUID, int]]) -> list[int]:
        """The log positions of the events (originator id, version) that are stored."""
        ...


class StoreParts(TypedDict, total=False):
    """What a store is made with besides its settings; each missing (or None) part has its
    default: the system clock, fresh keys, a data-key ring in memory, no checkpoint archive."""

    clock: Clock | None
    keys: Keys | None
    data_keys: DataKeyRing | None
    checkpoints: CheckpointArchive | None


class CaseStore(Application[UUID]):
    """Cases kept sealed, encrypted and snapshotted; read whole, or by the projections."""

    name = APPLICATION_NAME
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Case: SNAPSHOT_INTERVAL}

    def __init__(self, env: Mapping[str, str] | None = None, **parts: Unpack[StoreParts]) -> None:
        self.clock: Clock = parts.get("clock") or SystemClock()
        self.keys = parts.get("keys") or Keys.generate()
        self.checkpoints = parts.get("checkpoints")
        self.sealer = Sealer(self.keys.seal)
        self.case_keys = CaseKeys(parts.get("data_keys") or MemoryDataKeyRing())
        super().__init__(env=dict(env or {}))
        self.ring_made = open_ring(self.case_keys, self._first_data_keys)
        assert self.snapshots is not None
        self.auditor = Auditor(self.recorder, self.snapshots.recorder, self.keys)
        self.saved_listeners: list[Callable[[], None]] = []
        self.projection_mapper = self._construct_projection_mapper()
        self._snapshotter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshots")

    def _first_data_keys(self) -> list[DataKey]:
        """What a new ring starts with: the data keys of a MEDIATION_DATA_KEYS setting from
        before the ring existed, else a fresh key."""
        now = self.clock.now()
        return seeded_from(self.keys.data, now) if self.keys.data else [DataKey.new(now)]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass keeps the tables of the application (the library would name them after
        the subclass)."""
        named = "name" in cls.__dict__
        super().__init_subclass__(**kwargs)
        if not named:
            cls.name = APPLICATION_NAME

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Only the given settings, never the process environment: what configures the store
        is decided in one place (infrastructure.settings)."""
        settings = {"IS_SNAPSHOTTING_ENABLED": "y"}
        settings.update(env or {})
        return Environment(name, settings)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)
        transcoder.register(EncryptedPersonalText(self.case_keys))

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=CaseAwareMapper
        )

    def construct_recorder(self) -> ApplicationRecorder:
        recorder = super().construct_recorder()
        if not isinstance(recorder, CaseKeyStore) or not isinstance(recorder, EventPositions):
            raise TypeError("the store must keep case keys (see infrastructure.recorders)")
        self.case_keys.store = recorder
        self.positions: EventPositions = recorder
        return recorder

    def construct_event_store(self) -> EventStore[UUID]:
        self.sealed_events = SealedEventStore(self.mapper, self.recorder, self.sealer)
        return self.sealed_events

    def construct_snapshot_store(self) -> EventStore[UUID]:
        recorder = self.factory.aggregate_recorder(purpose="snapshots")
        return SealedSnapshotStore(self.mapper, recorder, self.sealer, self.sealed_events)

    def _construct_projection_mapper(self) -> Mapper[UUID]:
        transcoder = JSONTranscoder()
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)
        transcoder.register(UnreadPersonalText())
        return Mapper(transcoder=transcoder)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshots are written by a thread of their own, after the command has answered: a
        snapshot reloads the case and writes a sealed copy of its state, which would slow down
        the command that took it. A snapshot not written (the process stopped first) only
        means a longer replay."""
        for event in processing_event.events:
            if not isinstance(processing_event.aggregates.get(event.originator_id), Case):
                continue
            if event.originator_version % SNAPSHOT_INTERVAL == 0:
                self._snapshotter.submit(
                    self._snapshot, event.originator_id, event.originator_version
                )

    def _snapshot(self, case_id: UUID, version: int) -> None:
        try:
            with CaseKeys.call():
                self.take_snapshot(case_id, version=version, projector_func=replay)
        except IntegrityError:
            pass  # another process wrote this snapshot first
        except Exception:
            logging.getLogger("mediation.snapshots").warning(
                "no snapshot of case %s at version %s", case_id, version, exc_info=True
            )

    def wait_for_snapshots(self) -> None:
        """Until the snapshots due so far are written (their thread works in order)."""
        self._snapshotter.submit(lambda: None).result()

    def close(self) -> None:
        self._snapshotter.shutdown(wait=True)
        super().close()

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        for listener in self.saved_listeners:
            listener()

    def event_log(self) -> EventLog:
        """The log as projections read it: sealed records checked, personal data not read."""

        def read(start: int, limit: int) -> list[tuple[int, Any]]:
            return [
                (n.id, self.projection_mapper.to_domain_event(open_seal(self.sealer, n)))
                for n in self.recorder.select_notifications(start, limit)
            ]

        return EventLog(head=self.log_position, read=read)

    def log_events(self, *types: type[Case.Event]) -> Iterator[Case.Event]:
        """The events of these types, in log order, their seals checked and their personal
        data not read (for scans of the whole log: retention, counts)."""
        topics = [get_topic(t) for t in types]
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 1000, topics=topics)
            for notification in page:
                record = open_seal(self.sealer, notification)
                yield cast(Case.Event, self.projection_mapper.to_domain_event(record))
            if len(page) < 1000:
                return
            start = page[-1].id + 1

    def log_position(self) -> int:
        """The position of the newest event in the log (0 when empty); it also proves the
        store answers."""
        return self.recorder.max_notification_id() or 0

    @keys_per_call
    def personal_texts(self, stored: Mapping[UUID, str]) -> dict[UUID, str]:
        """The texts behind personal data that read models keep in its stored form, by case
        ("[effacé]" for an erased case)."""
        return {c: text.text for c, text in self.case_keys.reveal_all(stored).items()}

    # Trust: the stored history and the keys.

    def integrity_report(self, case_id: UUID) -> IntegrityReport:
        """Every problem in the case's stored history, its snapshots, and against the latest
        checkpoint (which alone sees events removed from the end of a case)."""
        return self.auditor.verify_case(case_id, self.trusted_checkpoint())

    def trusted_checkpoint(self) -> Checkpoint | None:
        """The latest checkpoint, if its signature is this service's."""
        checkpoint = None if self.checkpoints is None else self.checkpoints.latest()
        if checkpoint is None:
            return None
        problem = self.auditor.check_signature(checkpoint)
        if problem is not None:
            log.error("ignoring the latest checkpoint: %s", problem.problem)
            return None
        return checkpoint

    def rewrite_case_keys(self) -> None:
        """Rewrite the key table so that its files no longer hold the keys erased or rewrapped
        (on PostgreSQL it holds the table's lock while it copies it: every command waits)."""
        assert self.case_keys.store is not None
        self.case_keys.store.rewrite_case_keys()

    def rotate_data_keys(self, *, new_key: bool = True) -> Rotation:
        """A new data key, every case key rewrapped under it, the older ones destroyed: every
        erasure made so far is then complete on disk (application.key_rotation)."""
        return rotate(self.case_keys, self.clock.now(), new_key=new_key)

    def rotate_data_keys_if_due(self, rotation_days: int) -> Rotation | None:
        """The scheduled rotation: when the current data key is `rotation_days` old, or to
        finish one left half done; None when neither."""
        if rotation_due(self.case_keys, self.clock.now(), rotation_days):
            return self.rotate_data_keys()
        if rotation_unfinished(self.case_keys):
            return self.rotate_data_keys(new_key=False)
        return None

    def data_keys_status(self, rotation_days: int) -> KeysStatus:
        return keys_status(self.case_keys, rotation_days)

    # Loading a case.

    def _get(self, case_id: UUID, version: int | None = None) -> Case:
        try:
            case: Any = self.repository.get(case_id, version=version, projector_func=replay)
        except AggregateNotFoundError:
            raise CaseNotFound(case_id) from None
        if not isinstance(case, Case):
            raise CaseNotFound(case_id)
        if version is None:
            self._check_against_checkpoint(case)
        return case

    def _check_against_checkpoint(self, case: Case) -> None:
        """A case whose last events were removed still chains: the checkpoint saw them."""
        checkpoint = self.trusted_checkpoint()
        head = None if checkpoint is None else checkpoint.heads.get(case.id)
        if head is not None and case.version < head.version:
            problem = (
                f"the checkpoint saw the case at version {head.version}, the log now ends at "
                f"{case.version}: events were removed"
            )
            raise integrity_failure(case.id, head.version, problem)


def replay(case: Any, events: Iterable[Any]) -> Any:
    """The library's projector without its per-event isinstance check against a runtime
    Protocol, which cost more than applying the event: only Case events are stored here."""
    for event in events:
        case = event.mutate(case)
    return case
