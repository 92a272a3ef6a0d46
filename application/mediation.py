"""The mediation application: one method per command, and the reads of one case.

Each command loads the case, calls one command of the aggregate with the actor and the clock's
instant, saves, and answers what the caller needs (new version, status, log position). Lists
and counts never come from here: they come from read models.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, ClassVar, Protocol, cast, runtime_checkable
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import (
    ApplicationRecorder,
    EventStore,
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Recording,
)
from eventsourcing.utils import Environment, get_topic

from application.audit import Auditor, Checkpoint, CheckpointArchive, IntegrityReport
from application.clock import Clock, SystemClock
from application.data_keys import (
    DataKey,
    DataKeyRetired,
    DataKeyRing,
    MemoryDataKeyRing,
    Rotation,
    seeded_from,
)
from application.errors import CaseNotFound, IdempotencyKeyReused, StaleVersion, VersionConflict
from application.history import HistoryEntry, history_entry
from application.key_rotation import (
    KeysStatus,
    keys_status,
    open_ring,
    rotate,
    rotation_due,
    rotation_unfinished,
)
from application.keys import Keys
from application.personal_data import (
    CaseAwareMapper,
    CaseKeys,
    CaseKeyStore,
    EncryptedPersonalText,
    UnreadPersonalText,
    WrappedKey,
    keys_per_call,
)
from application.projections import EventLog, open_seal
from application.sealing import (
    BrokenSeal,
    SealedEventStore,
    SealedSnapshotStore,
    Sealer,
    integrity_failure,
)
from application.tracking import TrackingCodeIndex, tracking_index_id
from application.transcodings import register_domain_transcodings
from domain.case import Case
from domain.deadlines import Deadlines
from domain.errors import InvalidValue
from domain.platforms import Platform
from domain.values import (
    Category,
    Channel,
    Company,
    EscalationReason,
    Outcome,
    PersonalText,
    Priority,
    Stance,
    Status,
    TrackingCode,
)

log = logging.getLogger("mediation.integrity")

APPLICATION_NAME = "mediation"
"""Fixed, never the class name: PostgreSQL table names are derived from it."""

SNAPSHOT_INTERVAL = 5
"""A snapshot every 5 events bounds the replay of any command to at most 4 events after it. A
command on a case of 1,000 events then costs about what it costs on one of 10 (p95 ratio 1.06
on SQLite, 1.08 on PostgreSQL; 1.27 and 1.11 with one every 10; python -m bench.command_cost).
Snapshots are written off the command's path (_take_snapshots)."""

_IDEMPOTENCY_NAMESPACE = UUID("0b6f7a52-3f0e-4d1a-8c55-7f3e2d9a1c44")


@runtime_checkable
class EventPositions(Protocol):
    """Where given events stand in the log (the recorders answer it)."""

    def positions_of(self, events: Sequence[tuple[UUID, int]]) -> list[int]:
        """The log positions of the events (originator id, version) that are stored."""
        ...


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the case's new version and status, and the log position of its
    last event (a read model that has reached it reflects the command)."""

    case_id: UUID
    version: int
    status: Status
    position: int
    tracking_code: TrackingCode | None = None
    response_due: date | None = None
    mediator_reference: str | None = None
    replayed: bool = False
    """The answer given before to the same idempotency key: nothing was recorded now."""


@dataclass(frozen=True)
class ReportRequest:
    """Everything a business reports; compared field by field to honour an idempotency key."""

    company: Company
    platform: Platform
    description: PersonalText
    occurred_on: date
    category_hint: Category | None = None
    channel: Channel = Channel.WEB

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_arguments(self) -> dict[str, Any]:
        """What `Case.report` takes from it, by name."""
        return {name: getattr(self, name) for name in self.names()}


@dataclass(frozen=True)
class CaseDossier:
    generated_at: datetime
    case: Case | None
    history: list[HistoryEntry] | None
    integrity: IntegrityReport
    seal_events: list[dict[str, Any]]
    statement: dict[str, Any]
    public_key: str
    signature: str


class MediationApplication(Application[UUID]):
    name = APPLICATION_NAME
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Case: SNAPSHOT_INTERVAL}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock | None = None,
        deadlines: Deadlines | None = None,
        keys: Keys | None = None,
        data_keys: DataKeyRing | None = None,
        checkpoints: CheckpointArchive | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.deadlines = deadlines or Deadlines()
        self.keys = keys or Keys.generate()
        self.checkpoints = checkpoints
        self.sealer = Sealer(self.keys.seal)
        self.case_keys = CaseKeys(data_keys or MemoryDataKeyRing())
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
        snapshot reloads the case and writes a sealed copy of its state, which doubled the
        time of the one command in SNAPSHOT_INTERVAL that took it (bench/, figure 3). A
        snapshot not written (the process stopped first) only means a longer replay."""
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

    # Commands.

    @keys_per_call
    def report_case(
        self,
        report: ReportRequest,
        *,
        actor: str,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Opens a case. With an idempotency key, the same report sent again opens nothing more.

        The key decides the case's id, so a repeat (from any process, after any restart) runs
        into the first case at version 1 and the store refuses it: no table of keys to keep
        in step with the events.
        """
        case_id = uuid4()
        if idempotency_key is not None:
            case_id = uuid5(_IDEMPOTENCY_NAMESPACE, f"{actor}\n{idempotency_key}")
            first = self._first_report(case_id, report, idempotency_key)
            if first is not None:
                return first
        now = self.clock.now()
        tracking_code = TrackingCode.new()
        case_key = self.case_keys.new_key(case_id)

        def record(case_key: WrappedKey) -> tuple[Case, list[Recording[UUID]]]:
            case = Case.report(
                case_id=case_id,
                **report.as_arguments(),
                actor=actor,
                now=now,
                tracking_code=tracking_code,
            )
            index = TrackingCodeIndex.register(tracking_code, case.id, now)
            return case, self.save(case, index, new_case_keys={case.id: case_key})

        try:
            try:
                case, recordings = record(case_key)
            except DataKeyRetired:
                # A rotation ran since this process last read the ring: the ring now holds
                # the data key the store accepts (the failed save took the events with it).
                case, recordings = record(self.case_keys.wrap_again(case_id))
        except IntegrityError:
            self.case_keys.forget(case_id)
            if idempotency_key is not None:
                first = self._first_report(case_id, report, idempotency_key)
                if first is not None:
                    return first
            raise
        position = max(r.notification.id for r in recordings)
        return self._result(case, position, tracking_code=case.tracking_code)

    @keys_per_call
    def qualify_case(
        self,
        case_id: UUID,
        *,
        category: Category,
        priority: Priority,
        summary: PersonalText | None = None,
        p2b_articles: Sequence[str] = (),
        assignee: str | None = None,
        actor: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        case = self._case_for_command(case_id, expected_version)
        case.qualify(
            category=category,
            priority=priority,
            summary=summary,
            p2b_articles=p2b_articles,
            assignee=assignee,
            actor=actor,
            now=self.clock.now(),
        )
        return self._save(case)

    @keys_per_call
    def send_to_platform(
        self,
        case_id: UUID,
        *,
        message: PersonalText | None = None,
        response_due: date | None = None,
        actor: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        case = self._case_for_command(case_id, expected_version)
        case.send_to_platform(
            message=message,
            deadlines=self.deadlines,
            response_due=response_due,
            actor=actor,
            now=self.clock.now(),
        )
        return self._save(case, response_due=case.response_due)

    @keys_per_call
    def record_platform_response(
        self,
        case_id: UUID,
        *,
        stance: Stance,
        response: PersonalText | None = None,
        responded_on: date | None = None,
        actor: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        case = self._case_for_command(case_id, expected_version)
        case.record_platform_response(
            stance=stance,
            response=response,
            responded_on=responded_on,
            actor=actor,
            now=self.clock.now(),
        )
        return self._save(case)

    @keys_per_call
    def escalate_case(
        self,
        case_id: UUID,
        *,
        reason: EscalationReason,
        note: PersonalText | None = None,
        actor: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        case = self._case_for_command(case_id, expected_version)
        case.escalate(reason=reason, note=note, actor=actor, now=self.clock.now())
        return self._save(case, mediator_reference=case.mediator_reference)

    @keys_per_call
    def escalate_for_silence(self, case_id: UUID, *, as_of: date, actor: str) -> CommandResult:
        """The deadline process's command: escalate for `no_response` a case whose platform has
        stayed silent past its due date and grace as of `as_of` (checked on the case itself)."""
        case = self._get(case_id)
        response_due = case.response_due
        case.escalate_for_silence(
            deadlines=self.deadlines, as_of=as_of, actor=actor, now=self.clock.now()
        )
        return self._save(
            case, mediator_reference=case.mediator_reference, response_due=response_due
        )

    @keys_per_call
    def silence_expired(self, case_id: UUID, as_of: date) -> bool:
        """Whether `escalate_for_silence` would escalate the case as of `as_of` (dry runs)."""
        return self._get(case_id).silence_expired(self.deadlines, as_of)

    @keys_per_call
    def resolve_case(
        self,
        case_id: UUID,
        *,
        outcome: Outcome,
        summary: PersonalText | None = None,
        actor: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        case = self._case_for_command(case_id, expected_version)
        case.resolve(outcome=outcome, summary=summary, actor=actor, now=self.clock.now())
        return self._save(case)

    @keys_per_call
    def erase_personal_data(
        self,
        case_id: UUID,
        *,
        reason: str,
        actor: str,
        expected_version: int | None = None,
        rewrite_keys: bool = True,
    ) -> CommandResult:
        """Records the erasure and destroys the case's key, in one transaction: from then on
        every personal field and free text of the case reads "[effacé]". Then the key table is
        rewritten, so its files no longer hold the key (`rewrite_keys=False` leaves that to one
        `rewrite_case_keys` after a batch of erasures)."""
        case = self._case_for_command(case_id, expected_version)
        case.erase_personal_data(reason=reason, actor=actor, now=self.clock.now())
        try:
            recordings = self.save(case, destroyed_case_keys=[case_id])
        except IntegrityError:
            raise VersionConflict(case.id) from None
        self.case_keys.forget(case_id)
        if rewrite_keys:
            self.rewrite_case_keys()
        return self._result(case, recordings[-1].notification.id)

    def rewrite_case_keys(self) -> None:
        """Rewrite the key table so that its files no longer hold the keys erased or rewrapped
        (on PostgreSQL it holds the table's lock while it copies it: every command waits)."""
        assert self.case_keys.store is not None
        self.case_keys.store.rewrite_case_keys()

    # Trust.

    def integrity_report(self, case_id: UUID) -> IntegrityReport:
        """Every problem in the case's stored history, its snapshots, and against the latest
        checkpoint (which alone sees events removed from the end of a case)."""
        return self.auditor.verify_case(case_id, self.trusted_checkpoint())

    @keys_per_call
    def dossier(self, case_id: UUID) -> CaseDossier:
        """The case with everything needed to verify it offline, and a signed statement of its
        head. A case that fails verification still gets a dossier: its report says why, and
        its state and history are left out rather than served as if intact."""
        report = self.integrity_report(case_id)
        case, history = None, None
        if report.verified:
            case, history = self._get(case_id), self.case_history(case_id)
        generated_at = self.clock.now()
        statement = {
            "case_id": str(case_id),
            "head_version": report.head_version,
            "head_hash": report.head_hash.hex(),
            "generated_at": generated_at.isoformat(),
        }
        return CaseDossier(
            generated_at=generated_at,
            case=case,
            history=history,
            integrity=report,
            seal_events=self.auditor.seal_data(case_id),
            statement=statement,
            public_key=self.keys.verifying_key_hex,
            signature=self.auditor.sign(statement),
        )

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

    @keys_per_call
    def cases_to_erase(self, as_of: date, years: int) -> list[UUID]:
        """Cases resolved more than `years` years before `as_of` whose personal data is kept."""
        topics = [get_topic(Case.Resolved), get_topic(Case.PersonalDataErased)]
        resolved_on: dict[UUID, date] = {}
        erased: set[UUID] = set()
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 1000, topics=topics)
            for notification in page:
                try:
                    record = self.sealer.open(notification).record
                except BrokenSeal as broken:
                    raise integrity_failure(
                        notification.originator_id, notification.originator_version, broken.problem
                    ) from None
                event = self.mapper.to_domain_event(record)
                case_id = event.originator_id
                if isinstance(event, Case.PersonalDataErased):
                    erased.add(case_id)
                else:
                    resolved_on[case_id] = cast(Case.Event, event).timestamp.date()
            if len(page) < 1000:
                break
            start = page[-1].id + 1
        limit = years_before(as_of, years)
        return [c for c, day in resolved_on.items() if day < limit and c not in erased]

    def erasures_since(self, instant: datetime) -> int:
        """How many erasures were recorded from `instant` on."""
        topics = [get_topic(Case.PersonalDataErased)]
        count, start = 0, 1
        while True:
            page = self.recorder.select_notifications(start, 1000, topics=topics)
            for notification in page:
                event = self.projection_mapper.to_domain_event(open_seal(self.sealer, notification))
                count += cast(Case.Event, event).timestamp >= instant
            if len(page) < 1000:
                return count
            start = page[-1].id + 1

    # Reads of one case.

    @keys_per_call
    def get_case(
        self, case_id: UUID, *, version: int | None = None, at: datetime | None = None
    ) -> Case:
        """The case now, right after event `version`, or as it stood at instant `at`."""
        if version is not None and at is not None:
            raise InvalidValue(
                "version", "ask for a version or an instant, not both", where="query"
            )
        if at is not None:
            version = self._version_at(case_id, at)
        if version is not None and version < 1:
            raise InvalidValue("version", "versions start at 1", where="query")
        case = self._get(case_id, version)
        if version is not None and case.version != version:
            raise CaseNotFound(case_id, f"case {case_id} has no version {version}")
        return case

    @keys_per_call
    def case_history(self, case_id: UUID) -> list[HistoryEntry]:
        """Every event of the case, oldest first, with who caused it and when."""
        events = list(self.events.get(case_id))
        if not events or not isinstance(events[0], Case.Reported):
            raise CaseNotFound(case_id)
        # The events are verified from the first; the current load also checks the latest
        # snapshot and checkpoint, so the history is never served where the case would not be.
        self._get(case_id)
        return [history_entry(e) for e in events]

    @keys_per_call
    def case_for_tracking_code(self, code: str) -> Case:
        """The case behind a tracking code; a malformed code is just another unknown one."""
        try:
            tracking_code = TrackingCode.parse(code)
        except (InvalidValue, TypeError):
            raise CaseNotFound(None, "no case with this tracking code") from None
        try:
            index: Any = self.repository.get(tracking_index_id(tracking_code))
        except AggregateNotFoundError:
            raise CaseNotFound(None, "no case with this tracking code") from None
        assert isinstance(index, TrackingCodeIndex)
        return self._get(index.case_id)

    @keys_per_call
    def personal_texts(self, stored: Mapping[UUID, str]) -> dict[UUID, str]:
        """The texts behind personal data that read models keep in its stored form, by case
        ("[effacé]" for an erased case)."""
        return {c: text.text for c, text in self.case_keys.reveal_all(stored).items()}

    def log_position(self) -> int:
        """The position of the newest event in the log (0 when empty); it also proves the
        store answers."""
        return self.recorder.max_notification_id() or 0

    # Internals.

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

    def _case_for_command(self, case_id: UUID, expected_version: int | None) -> Case:
        case = self._get(case_id)
        if expected_version is not None and case.version != expected_version:
            raise StaleVersion(case_id, expected_version, case.version)
        return case

    def _save(self, case: Case, **extra: Any) -> CommandResult:
        try:
            recordings = self.save(case)
        except IntegrityError:
            raise VersionConflict(case.id) from None
        return self._result(case, recordings[-1].notification.id, **extra)

    @staticmethod
    def _result(case: Case, position: int, **extra: Any) -> CommandResult:
        return CommandResult(
            case_id=case.id, version=case.version, status=case.status, position=position, **extra
        )

    def _version_at(self, case_id: UUID, at: datetime) -> int:
        if at.tzinfo is None:
            raise InvalidValue("at", "an instant needs its UTC offset", where="query")
        timestamps = [cast(Case.Event, e).timestamp for e in self.events.get(case_id)]
        if not timestamps:
            raise CaseNotFound(case_id)
        count = bisect.bisect_right(timestamps, at)
        if count == 0:
            raise CaseNotFound(case_id, f"case {case_id} did not exist at {at.isoformat()}")
        return count

    def _first_report(
        self, case_id: UUID, report: ReportRequest, idempotency_key: str
    ) -> CommandResult | None:
        """The answer first given for this key, or None when the key is new."""
        first = next(iter(self.events.get(case_id, lte=1)), None)
        if first is None:
            return None
        assert isinstance(first, Case.Reported)
        sent_before = ReportRequest(
            **{name: getattr(first, name) for name in ReportRequest.names()}
        )
        if sent_before != report:
            raise IdempotencyKeyReused(idempotency_key)
        # The first answer, exactly: its position was that of the last event it recorded (the
        # case's, or its tracking-code index's), whatever the case has become since.
        positions = self.positions.positions_of(
            [(case_id, 1), (tracking_index_id(first.tracking_code), 1)]
        )
        return CommandResult(
            case_id=case_id,
            version=first.originator_version,
            status=Status.REPORTED,
            position=max(positions),
            tracking_code=first.tracking_code,
            replayed=True,
        )


def replay(case: Any, events: Iterable[Any]) -> Any:
    """The library's projector without its per-event isinstance check against a runtime
    Protocol, which cost more than applying the event: only Case events are stored here."""
    for event in events:
        case = event.mutate(case)
    return case


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
