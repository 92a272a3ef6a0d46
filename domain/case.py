"""The Case aggregate: a business's report, driven by caseworkers from report to outcome.

Read it top to bottom: the transition table, then the case's state, then each command with the
event it records right below it. Commands check the rules and raise; events only assign state,
since they are replayed on every load. Every command takes the actor who causes it and the
instant it happens (`now`), which becomes the event's timestamp: the clock belongs to the
caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING
from dataclasses import field
from dataclasses import fields
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any
from typing import cast
from uuid import UUID
from uuid import uuid4

from eventsourcing.domain import Aggregate

from domain.deadlines import Deadlines
from domain.errors import CommandNotAllowed
from domain.errors import InvalidCaseCommand
from domain.errors import InvalidValue
from domain.errors import PersonalDataErasedError
from domain.measures import MeasureFacts
from domain.measures import UrgencyRule
from domain.measures import urgency_rule
from domain.platforms import Platform
from domain.values import LONGEST_RESPONSE_DELAY
from domain.values import MAX_ACTOR_LENGTH
from domain.values import MAX_REASON_LENGTH
from domain.values import AllowedCommand
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
from domain.values import check_past_date
from domain.values import clean_text
from domain.values import erased

QUALIFY = "qualify"
SEND_TO_PLATFORM = "send-to-platform"
RECORD_PLATFORM_RESPONSE = "platform-response"
ESCALATE = "escalate"
RESOLVE = "resolve"
COMMANDS = (QUALIFY, SEND_TO_PLATFORM, RECORD_PLATFORM_RESPONSE, ESCALATE, RESOLVE)
ACKNOWLEDGE = "acknowledge"
"""The platform's own command, through its portal: it has read the case (changes no status)."""

_ANY_OUTCOME_BUT_INADMISSIBLE = frozenset(Outcome) - {Outcome.INADMISSIBLE}

# The transition table (docs/domain.md), binding: status -> command -> the outcomes `resolve` may
# record (None for the other commands). A command absent from a status's row is refused.
TRANSITIONS: dict[Status, dict[str, frozenset[Outcome] | None]] = {
    Status.REPORTED: {
        QUALIFY: None,
        RESOLVE: frozenset({Outcome.WITHDRAWN, Outcome.INADMISSIBLE}),
    },
    Status.QUALIFIED: {
        QUALIFY: None,
        SEND_TO_PLATFORM: None,
        RESOLVE: frozenset({Outcome.WITHDRAWN, Outcome.INADMISSIBLE}),
    },
    Status.AWAITING_PLATFORM: {
        RECORD_PLATFORM_RESPONSE: None,
        ESCALATE: None,
        RESOLVE: frozenset({Outcome.WITHDRAWN}),
    },
    Status.PLATFORM_RESPONDED: {
        SEND_TO_PLATFORM: None,
        ESCALATE: None,
        RESOLVE: _ANY_OUTCOME_BUT_INADMISSIBLE,
    },
    Status.WITH_MEDIATOR: {
        RESOLVE: _ANY_OUTCOME_BUT_INADMISSIBLE,
    },
    Status.RESOLVED: {},
}


def allowed_commands(status: Status) -> list[AllowedCommand]:
    """The commands a case in `status` accepts, `resolve` with the outcomes it may record."""
    return [
        AllowedCommand(
            command,
            None if outcomes is None else tuple(sorted(outcomes, key=lambda o: o.value)),
        )
        for command, outcomes in TRANSITIONS[status].items()
    ]


def check_actor(actor: str) -> str:
    return clean_text("actor", actor, max_length=MAX_ACTOR_LENGTH)


def check_instant(now: datetime) -> datetime:
    """An event's instant must be unambiguous: it carries its UTC offset."""
    if now.tzinfo is None:
        raise ValueError("the instant of a command must carry its UTC offset")
    return now


def utc_today(now: datetime) -> date:
    """The UTC date of an instant: every date rule of the domain is judged on it."""
    return check_instant(now).astimezone(UTC).date()


def mediator_reference(case_id: UUID, escalated_on: date) -> str:
    """The business mediator's file reference: year and 48 bits of the case id."""
    return f"MED-{escalated_on.year}-{case_id.hex[:12].upper()}"


class Case(Aggregate):
    """One report of trouble with a platform, from its report to its outcome."""

    INITIAL_VERSION = 1

    # The state: what decisions and reads need, each field as it is until an event sets it.
    status: Status = field(init=False, default=Status.REPORTED)
    company: Company = field(init=False)
    platform: Platform = field(init=False)
    description: PersonalText = field(init=False)
    occurred_on: date = field(init=False)
    category_hint: Category | None = field(init=False, default=None)
    channel: Channel = field(init=False, default=Channel.WEB)
    language: Language = field(init=False, default=Language.FR)
    reported_measure: MeasureFacts | None = field(init=False, default=None)
    tracking_code: TrackingCode = field(init=False)
    category: Category | None = field(init=False, default=None)
    priority: Priority | None = field(init=False, default=None)
    summary: PersonalText | None = field(init=False, default=None)
    measure: MeasureFacts | None = field(init=False, default=None)
    urgency_rule: UrgencyRule | None = field(init=False, default=None)
    p2b_articles: tuple[str, ...] = field(init=False, default=())
    assignee: str | None = field(init=False, default=None)
    message: PersonalText | None = field(init=False, default=None)
    first_sent_on: date | None = field(init=False, default=None)
    last_sent_on: date | None = field(init=False, default=None)
    response_due: date | None = field(init=False, default=None)
    platform_rounds: int = field(init=False, default=0)
    acknowledged_on: date | None = field(init=False, default=None)
    reminders: int = field(init=False, default=0)
    stance: Stance | None = field(init=False, default=None)
    platform_response: PersonalText | None = field(init=False, default=None)
    responded_on: date | None = field(init=False, default=None)
    escalation_reason: EscalationReason | None = field(init=False, default=None)
    escalation_note: PersonalText | None = field(init=False, default=None)
    mediator_reference: str | None = field(init=False, default=None)
    outcome: Outcome | None = field(init=False, default=None)
    resolution_summary: PersonalText | None = field(init=False, default=None)
    personal_data_erased: bool = field(init=False, default=False)

    class Event(Aggregate.Event):
        """Every event of a case names the actor who caused it."""

        actor: str

    # Report.

    @classmethod
    def report(
        cls,
        *,
        company: Company,
        platform: Platform,
        description: PersonalText,
        occurred_on: date,
        category_hint: Category | None = None,
        channel: Channel = Channel.WEB,
        measure: MeasureFacts | None = None,
        language: Language = Language.FR,
        actor: str,
        now: datetime,
        case_id: UUID | None = None,
        tracking_code: TrackingCode | None = None,
    ) -> Case:
        """A report opens a case; the platform's measure cannot have taken effect in the future."""
        today = utc_today(now)
        check_past_date("occurred_on", occurred_on, today)
        return cls._create(
            cls.Reported,
            id=case_id or uuid4(),
            timestamp=check_instant(now),
            actor=check_actor(actor),
            company=company,
            platform=platform,
            description=description,
            occurred_on=occurred_on,
            category_hint=category_hint,
            channel=channel,
            measure=None if measure is None else measure.checked(today),
            language=language,
            tracking_code=tracking_code or TrackingCode.new(),
        )

    class Reported(Aggregate.Created, Event):
        """A business reported trouble with a platform: the case opens."""

        company: Company
        platform: Platform
        description: PersonalText
        occurred_on: date
        category_hint: Category | None
        channel: Channel
        measure: MeasureFacts | None  # the measure as the business states it
        language: Language
        tracking_code: TrackingCode

        class_version = 2  # 2: the measure and the language

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["measure"] = None
            state["language"] = Language.FR

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            # Every field as it is until an event sets it (the library makes Case a dataclass).
            for state in fields(cast(Any, Case)):
                if state.default is not MISSING:
                    setattr(case, state.name, state.default)
            case.company = self.company
            case.platform = self.platform
            case.description = self.description
            case.occurred_on = self.occurred_on
            case.category_hint = self.category_hint
            case.channel = self.channel
            case.reported_measure = self.measure
            case.language = self.language
            case.tracking_code = self.tracking_code

    # Qualify.

    def qualify(
        self,
        *,
        category: Category,
        priority: Priority | None = None,
        summary: PersonalText | None,
        measure: MeasureFacts | None = None,
        p2b_articles: Sequence[str] = (),
        assignee: str | None = None,
        actor: str,
        now: datetime,
    ) -> None:
        """Only a reported or qualified case can be (re)qualified. The measure is the one the
        caseworker establishes (else the one reported); without a priority given, the facts
        decide: urgent by an urgency rule, else normal (domain.measures)."""
        self._require(QUALIFY)
        today = utc_today(now)
        facts = self.reported_measure if measure is None else measure.checked(today)
        rule = None if priority is not None else urgency_rule(facts, today)
        if priority is None:
            priority = Priority.URGENT if rule is not None else Priority.NORMAL
        self._record(
            self.Qualified,
            now,
            actor,
            category=category,
            priority=priority,
            urgency_rule=rule,
            measure=facts,
            summary=self._free_text("summary", summary, QUALIFY),
            p2b_articles=tuple(dict.fromkeys(p2b_articles)),
            assignee=None if assignee is None else check_actor(assignee),
        )

    class Qualified(Event):
        """A caseworker qualified the case: what the problem is and how urgent."""

        category: Category
        priority: Priority
        urgency_rule: UrgencyRule | None  # the rule that set the priority, if one did
        measure: MeasureFacts | None
        summary: PersonalText | None  # None only once the case's personal data was erased
        p2b_articles: tuple[str, ...]
        assignee: str | None

        class_version = 2  # 2: the measure, and the rule that set the priority

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["urgency_rule"] = None
            state["measure"] = None

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.status = Status.QUALIFIED
            case.category = self.category
            case.priority = self.priority
            case.urgency_rule = self.urgency_rule
            case.measure = self.measure
            case.summary = self.summary
            case.p2b_articles = tuple(self.p2b_articles)
            case.assignee = self.assignee

    # Send to the platform.

    def send_to_platform(
        self,
        *,
        message: PersonalText | None,
        deadlines: Deadlines,
        response_due: date | None = None,
        actor: str,
        now: datetime,
    ) -> None:
        """A qualified case goes to the platform, and so does a follow-up round after an answer.

        The due date is computed now and stored, so a replay keeps the rule then in force.
        """
        self._require(SEND_TO_PLATFORM)
        message = self._free_text("message", message, SEND_TO_PLATFORM)
        today = utc_today(now)
        if response_due is None:
            response_due = deadlines.due(today, self.priority)
        elif not today < response_due <= today + LONGEST_RESPONSE_DELAY:
            raise InvalidValue(
                "response_due",
                f"response_due must be after today ({today}) and within "
                f"{LONGEST_RESPONSE_DELAY.days} days",
            )
        self._record(
            self.SentToPlatform,
            now,
            actor,
            message=message,
            sent_on=today,
            response_due=response_due,
        )

    class SentToPlatform(Event):
        """The case went to the platform, which owes an answer by the due date."""

        message: PersonalText | None  # None only once the case's personal data was erased
        sent_on: date
        response_due: date

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.status = Status.AWAITING_PLATFORM
            case.message = self.message
            case.first_sent_on = case.first_sent_on or self.sent_on
            case.last_sent_on = self.sent_on
            case.response_due = self.response_due
            case.platform_rounds += 1
            case.acknowledged_on = None
            case.reminders = 0

    # The platform reads the case (through its portal).

    def acknowledge(self, *, actor: str, now: datetime) -> bool:
        """A platform acknowledges a case awaiting its answer, once a round: acknowledging
        again records nothing. Whether it was recorded now."""
        self._require_awaiting_platform(ACKNOWLEDGE)
        if self.acknowledged_on is not None:
            return False
        self._record(self.PlatformAcknowledged, now, actor, acknowledged_on=utc_today(now))
        return True

    class PlatformAcknowledged(Event):
        """The platform has read the case (its actor is the platform: `platform:<key>`)."""

        acknowledged_on: date

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.acknowledged_on = self.acknowledged_on

    # The deadline process reminds a silent platform.

    def remind(self, *, deadlines: Deadlines, as_of: date, actor: str, now: datetime) -> int:
        """Each reminder due by `as_of` to a platform still awaited (standard: 7 and 14 days
        after sending; urgent: 2 and 4) and not yet recorded is recorded, with the rule then in
        force. Never after an answer; running again records nothing. How many were recorded."""
        self._require_awaiting_platform("remind")
        if as_of > utc_today(now):
            raise InvalidValue(
                "as_of", f"as_of {as_of} is in the future: reminders are not sent ahead"
            )
        pending = self.reminders_pending(deadlines, as_of)
        for number, after_days in pending:
            self._record(
                self.PlatformReminded,
                now,
                actor,
                number=number,
                after_days=after_days,
                response_due=self.response_due,
            )
        return len(pending)

    class PlatformReminded(Event):
        """The platform was reminded that its answer is awaited: the reminder's number in this
        round, the day after sending it was due by the rule then in force, the due date."""

        number: int
        after_days: int
        response_due: date

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.reminders = self.number

    # Record the platform's answer.

    def record_platform_response(
        self,
        *,
        stance: Stance,
        response: PersonalText | None,
        responded_on: date | None = None,
        actor: str,
        now: datetime,
    ) -> None:
        """Only a case awaiting the platform takes its answer, dated between sending and today."""
        self._require(RECORD_PLATFORM_RESPONSE)
        response = self._free_text("response", response, RECORD_PLATFORM_RESPONSE)
        today = utc_today(now)
        responded_on = responded_on or today
        check_past_date("responded_on", responded_on, today)
        assert self.last_sent_on is not None  # set by SentToPlatform, the only way in
        if responded_on < self.last_sent_on:
            raise InvalidCaseCommand(
                f"responded_on {responded_on} is before the case was sent to the platform "
                f"({self.last_sent_on})",
                case_id=self.id,
                status=self.status.value,
                field="responded_on",
            )
        self._record(
            self.PlatformResponded,
            now,
            actor,
            stance=stance,
            response=response,
            responded_on=responded_on,
        )

    class PlatformResponded(Event):
        """The platform answered."""

        stance: Stance
        response: PersonalText | None  # None only once the case's personal data was erased
        responded_on: date

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.status = Status.PLATFORM_RESPONDED
            case.stance = self.stance
            case.platform_response = self.response
            case.responded_on = self.responded_on
            case.response_due = None

    # Escalate to the mediator: by a caseworker, or by the deadline process for silence.

    def escalate(
        self,
        *,
        reason: EscalationReason,
        note: PersonalText | None = None,
        actor: str,
        now: datetime,
    ) -> None:
        """A case the platform has been asked about goes to the business mediator, once."""
        self._require(ESCALATE)
        if note is not None and self.personal_data_erased:
            raise PersonalDataErasedError(
                case_id=self.id, status=self.status.value, command=ESCALATE
            )
        self._record(
            self.EscalatedToMediator,
            now,
            actor,
            reason=reason,
            note=note,
            mediator_reference=mediator_reference(self.id, utc_today(now)),
            response_due=None,
            grace_days=None,
        )

    def escalate_for_silence(
        self, *, deadlines: Deadlines, as_of: date, actor: str, now: datetime
    ) -> None:
        """A case the platform left unanswered past its due date and grace goes to the mediator
        for `no_response`; the event keeps the due date and the grace that decided it."""
        self._require(ESCALATE)
        if as_of > utc_today(now):
            raise InvalidValue(
                "as_of", f"as_of {as_of} is in the future: silence is not judged ahead"
            )
        if not self.silence_expired(deadlines, as_of):
            raise InvalidCaseCommand(
                f"the platform's grace has not run out as of {as_of}: "
                + (
                    f"due {self.response_due}, grace until "
                    f"{deadlines.grace_ends(self.response_due, self.priority)}"
                    if self.response_due is not None
                    else "the case is not awaiting the platform"
                ),
                case_id=self.id,
                status=self.status.value,
                field="as_of",
            )
        self._record(
            self.EscalatedToMediator,
            now,
            actor,
            reason=EscalationReason.NO_RESPONSE,
            note=None,
            mediator_reference=mediator_reference(self.id, utc_today(now)),
            response_due=self.response_due,
            grace_days=deadlines.grace_days(self.priority),
        )

    class EscalatedToMediator(Event):
        """Version 2 adds, for an escalation by the deadline process, the due date the platform
        let pass and the grace it was given (None for an escalation by a caseworker)."""

        reason: EscalationReason
        note: PersonalText | None
        mediator_reference: str
        response_due: date | None
        grace_days: int | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["response_due"] = None
            state["grace_days"] = None

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.status = Status.WITH_MEDIATOR
            case.escalation_reason = self.reason
            case.escalation_note = self.note
            case.mediator_reference = self.mediator_reference
            case.response_due = None

    # Resolve.

    def resolve(
        self,
        *,
        outcome: Outcome,
        summary: PersonalText | None,
        actor: str,
        now: datetime,
    ) -> None:
        """Closes the case with an outcome the status allows (see TRANSITIONS)."""
        self._require(RESOLVE, outcome=outcome)
        self._record(
            self.Resolved,
            now,
            actor,
            outcome=outcome,
            summary=self._free_text("summary", summary, RESOLVE),
        )

    class Resolved(Event):
        """The case was closed with an outcome."""

        outcome: Outcome
        summary: PersonalText | None  # None only once the case's personal data was erased

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            case.status = Status.RESOLVED
            case.outcome = self.outcome
            case.resolution_summary = self.summary
            case.response_due = None

    # Erase the personal data.

    def erase_personal_data(self, *, reason: str, actor: str, now: datetime) -> None:
        """Any case, open or closed, can have its personal data erased, once."""
        if self.personal_data_erased:
            raise PersonalDataErasedError(
                case_id=self.id, status=self.status.value, command="erase-personal-data"
            )
        self._record(
            self.PersonalDataErased,
            now,
            actor,
            reason=clean_text("reason", reason, max_length=MAX_REASON_LENGTH),
        )

    class PersonalDataErased(Event):
        """The case's key was destroyed: every personal text of its state reads erased (found
        by its type, PersonalText, wherever it is: no list of fields to keep up to date)."""

        reason: str

        def apply(self, aggregate: Any) -> None:
            case: Case = aggregate
            for name, value in list(vars(case).items()):
                if not name.startswith("_"):
                    setattr(case, name, erased(value))
            case.personal_data_erased = True

    # Queries on state.

    @property
    def reported_at(self) -> datetime:
        return self.created_on

    @property
    def updated_at(self) -> datetime:
        return self.modified_on

    def allowed_commands(self) -> list[AllowedCommand]:
        return allowed_commands(self.status)

    def platform_commands(self) -> list[str]:
        """What the platform may do now through its portal: acknowledge (once a round, while
        its answer is awaited) and answer (where the status allows an answer)."""
        commands = []
        if self.status is Status.AWAITING_PLATFORM and self.acknowledged_on is None:
            commands.append(ACKNOWLEDGE)
        if RECORD_PLATFORM_RESPONSE in TRANSITIONS[self.status]:
            commands.append(RECORD_PLATFORM_RESPONSE)
        return commands

    def reminders_pending(self, deadlines: Deadlines, as_of: date) -> list[tuple[int, int]]:
        """The reminders `remind` would record as of `as_of` (none unless the platform is
        awaited): each one's number in the round and its day after sending by `deadlines`."""
        if self.status is not Status.AWAITING_PLATFORM:
            return []
        assert self.last_sent_on is not None  # set by SentToPlatform, the only way in
        days = deadlines.reminder_days(self.priority)
        due = deadlines.reminders_due(self.last_sent_on, self.priority, as_of)
        return [(number, days[number - 1]) for number in range(self.reminders + 1, due + 1)]

    def silence_expired(self, deadlines: Deadlines, as_of: date) -> bool:
        """Whether the platform is still awaited and has used up its grace as of `as_of`."""
        return (
            self.status is Status.AWAITING_PLATFORM
            and self.response_due is not None
            and deadlines.silence_expired(self.response_due, self.priority, as_of)
        )

    # The rules every command applies.

    def _require(self, command: str, outcome: Outcome | None = None) -> None:
        """The case's status allows the command (and `resolve` the outcome): see TRANSITIONS."""
        row = TRANSITIONS[self.status]
        allowed = command in row
        if allowed and outcome is not None:
            outcomes = row[command]
            allowed = outcomes is not None and outcome in outcomes
        if not allowed:
            name = command if outcome is None else f"{command} ({outcome.value})"
            raise CommandNotAllowed(
                case_id=self.id,
                status=self.status.value,
                command=name,
                allowed=allowed_commands(self.status),
            )

    def _require_awaiting_platform(self, command: str) -> None:
        """The platform's own commands, and its reminders, are for a case awaiting it."""
        if self.status is not Status.AWAITING_PLATFORM:
            raise CommandNotAllowed(
                case_id=self.id,
                status=self.status.value,
                command=command,
                allowed=allowed_commands(self.status),
            )

    def _free_text(
        self, field_name: str, text: PersonalText | None, command: str
    ) -> PersonalText | None:
        """The free text a command records: required while the case holds personal data, and
        none once it was erased (so every open case can still reach an outcome, and nothing
        personal is written again under no key)."""
        if self.personal_data_erased:
            if text is not None:
                raise PersonalDataErasedError(
                    case_id=self.id, status=self.status.value, command=command
                )
            return None
        if text is None:
            raise InvalidValue(field_name, f"{field_name} is required")
        return text

    def _record(self, event: type[Case.Event], now: datetime, actor: str, **fields: Any) -> None:
        """Record `event` as caused by `actor` at the instant `now`, both checked."""
        self.trigger_event(event, timestamp=check_instant(now), actor=check_actor(actor), **fields)
