"""The mediation application: one method per command, and the reads of one case.

Each command loads the case, calls one command of the aggregate with the actor and the clock's
instant, saves, and answers what the caller needs (new version, status, log position). Lists
and counts never come from here: they come from read models.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import fields
from datetime import date
from datetime import datetime
from typing import Any
from typing import Unpack
from typing import cast
from uuid import UUID
from uuid import uuid4
from uuid import uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.persistence import Recording

from application.case_store import CaseStore
from application.case_store import StoreParts
from application.data_keys import DataKeyRetired
from application.errors import CaseNotFound
from application.errors import IdempotencyKeyReused
from application.errors import StaleVersion
from application.errors import VersionConflict
from application.history import HistoryEntry
from application.history import history_entry
from application.personal_data import WrappedKey
from application.personal_data import keys_per_call
from application.tracking_codes import TrackingCodeIndex
from application.tracking_codes import tracking_index_id
from domain.case import Case
from domain.deadlines import Deadlines
from domain.errors import InvalidValue
from domain.measures import MeasureFacts
from domain.platforms import Platform
from domain.values import Category
from domain.values import Channel
from domain.values import Company
from domain.values import EscalationReason
from domain.values import Language
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Stance
from domain.values import Status
from domain.values import TrackingCode

_IDEMPOTENCY_NAMESPACE = UUID("0b6f7a52-3f0e-4d1a-8c55-7f3e2d9a1c44")


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
class Reminded:
    """What `remind_platform` answers: the case as saved, the day it was last sent, and the
    reminders it recorded, each its number in the round and its day after sending by the rule
    in force."""

    result: CommandResult
    sent_on: date | None
    reminders: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.reminders)


@dataclass(frozen=True)
class ReportRequest:
    """Everything a business reports; compared field by field to honour an idempotency key."""

    company: Company
    platform: Platform
    description: PersonalText
    occurred_on: date
    category_hint: Category | None = None
    channel: Channel = Channel.WEB
    measure: MeasureFacts | None = None
    language: Language = Language.FR

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_arguments(self) -> dict[str, Any]:
        """What `Case.report` takes from it, by name."""
        return {name: getattr(self, name) for name in self.names()}


class MediationApplication(CaseStore):
    """The service's commands, one method each, and the reads of one case."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        deadlines: Deadlines | None = None,
        **parts: Unpack[StoreParts],
    ) -> None:
        self.deadlines = deadlines or Deadlines()
        super().__init__(env, **parts)

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
        priority: Priority | None = None,
        measure: MeasureFacts | None = None,
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
            measure=measure,
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
        platform: str | None = None,
    ) -> CommandResult:
        """The platform's answer, recorded by a caseworker (an answer received by letter) or,
        with `platform`, by the platform itself through its portal."""
        case = self._case_for_command(case_id, expected_version, platform)
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
    def remind_platform(self, case_id: UUID, *, as_of: date, actor: str) -> Reminded:
        """The deadline process's command: record each reminder due by `as_of` to a platform
        still awaited and not recorded yet (none after an answer; none again). What it
        recorded: `len()` of it is how many."""
        case = self._get(case_id)
        pending = case.reminders_pending(self.deadlines, as_of)
        if not case.remind(
            deadlines=self.deadlines, as_of=as_of, actor=actor, now=self.clock.now()
        ):
            return Reminded(self._unchanged(case), case.last_sent_on, ())
        saved = self._save(case, response_due=case.response_due)
        return Reminded(saved, case.last_sent_on, tuple(pending))

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

    @keys_per_call
    def acknowledge_case(self, case_id: UUID, *, platform: str, actor: str) -> CommandResult:
        """The platform has read a case sent to it; acknowledging again records nothing and
        answers as the first time did (`replayed`)."""
        case = self._case_for_command(case_id, None, platform)
        if case.acknowledge(actor=actor, now=self.clock.now()):
            return self._save(case)
        return self._unchanged(case, replayed=True)

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
    def case_for_platform(self, case_id: UUID, platform: str) -> Case:
        """A case sent to `platform`, as its portal shows it; any other case is not found."""
        return self._case_for_command(case_id, None, platform)

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

    # Internals.

    def _case_for_command(
        self, case_id: UUID, expected_version: int | None, platform: str | None = None
    ) -> Case:
        """The case a command acts on; for a `platform`, only a case sent to it: a platform
        learns nothing of other cases, not even that they exist (not found, before any version
        is compared)."""
        case = self._get(case_id)
        if platform is not None and (case.platform.key != platform or case.first_sent_on is None):
            raise CaseNotFound(case_id)
        if expected_version is not None and case.version != expected_version:
            raise StaleVersion(case_id, expected_version, case.version)
        return case

    def _save(self, case: Case, **extra: Any) -> CommandResult:
        try:
            recordings = self.save(case)
        except IntegrityError:
            raise VersionConflict(case.id) from None
        return self._result(case, recordings[-1].notification.id, **extra)

    def _unchanged(self, case: Case, **extra: Any) -> CommandResult:
        """The answer of a command that recorded nothing: the case as it stands."""
        [position] = self.positions.positions_of([(case.id, case.version)])
        return self._result(case, position, **extra)

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
