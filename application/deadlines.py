"""The deadline process: a platform that stays silent is reminded, then does not stall a case.

For a given date it first records the reminders due to every platform still awaited (standard:
7 and 14 days after sending; urgent: 2 and 4; as `system:deadlines`, `PlatformReminded`), then
escalates to the mediator, for `no_response`, every case still awaiting the platform past its
due date plus grace (domain.deadlines). A case both due for a reminder and past its grace is
reminded first, then escalated in the same run: the domain allows both while the platform is
awaited, and the record then shows every reminder the rule called for before the escalation
(a reminder missed on its day is recorded at the next run, domain.md). A case whose reminders
could not be recorded (another command saved it meanwhile) is not escalated by this run: the
next run reminds it, then escalates it.

It finds the cases in the queue read model, never by loading every case: the reminders from the
facts each row keeps (the day the case was last sent, the reminders recorded since), the
escalations in the `overdue` queue (the cases of a priority whose grace has run out by D are
the overdue ones as of D minus that grace). The queue only proposes; each case is loaded and
the aggregate decides, so a case answered since the read model last moved is left alone: no
reminder after an answer, no escalation either.

It is safe to run again (a reminder is recorded once, an escalated case is no longer awaiting
the platform), in several processes at once, and while caseworkers record answers: two
commands on one case cannot both be saved (optimistic concurrency), and the one that loses is
skipped here, never retried blind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from uuid import UUID

from application.case_queues import CaseQueues
from application.case_queues import Cursor
from application.case_queues import Order
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import QueueItem
from application.case_queues import sort_value
from application.clock import Clock
from application.errors import ApplicationError
from application.errors import VersionConflict
from application.mediation import MediationApplication
from application.schedule import Schedule
from domain.case import utc_today
from domain.errors import CaseError
from domain.errors import InvalidValue
from domain.values import Priority
from domain.values import Status

log = logging.getLogger("mediation.deadlines")

SYSTEM_ACTOR = "system:deadlines"
PAGE = 500


@dataclass(frozen=True)
class Escalation:
    """A case the run escalated (or, in a dry run, would escalate)."""

    case_id: UUID
    platform: str
    priority: str
    response_due: date
    grace_days: int
    mediator_reference: str | None  # None in a dry run


@dataclass(frozen=True)
class Reminder:
    """A reminder the run recorded (or, in a dry run, would record)."""

    case_id: UUID
    platform: str
    priority: str
    number: int  # in the round with the platform: 1, 2...
    after_days: int  # the rule: its day after sending
    sent_on: date


@dataclass(frozen=True)
class Skipped:
    """A case the queue proposed that the run left alone, and why."""

    case_id: UUID
    reason: str


@dataclass
class DeadlineRun:
    """What one run of the deadline process did, or would do (a dry run)."""

    as_of: date
    dry_run: bool
    reminded: list[Reminder] = field(default_factory=list)
    escalated: list[Escalation] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class DeadlineProcess:
    """Reminds the platforms that stay silent, and escalates to the mediator the cases whose
    platform stayed silent past its grace."""

    def __init__(self, mediation: MediationApplication, queues: CaseQueues) -> None:
        self.mediation = mediation
        self.queues = queues
        self.deadlines = mediation.deadlines

    def candidates(self, as_of: date) -> Iterator[QueueItem]:
        """The cases the overdue queue shows as silent past their grace as of `as_of`."""
        for priority in Priority:
            day = self.deadlines.overdue_as_of(as_of, priority)
            filters = QueueFilters(priority=priority.value)
            after: Cursor | None = None
            while True:
                items, _ = self.queues.page(Queue.OVERDUE, filters, day, PAGE, after)
                yield from items
                if len(items) < PAGE:
                    break
                after = Cursor(sort_value(items[-1], Order.DUE_FIRST), items[-1].id)

    def reminder_candidates(self, as_of: date) -> Iterator[QueueItem]:
        """The cases the queue shows as awaiting a reminder as of `as_of`: for each priority
        and each reminder of its rule, those sent at least that many days ago that have had
        exactly the reminders before it (each case once)."""
        for priority in Priority:
            for before, after_days in enumerate(self.deadlines.reminder_days(priority)):
                sent_by = as_of - timedelta(days=after_days)
                after: Cursor | None = None
                while True:
                    items = self.queues.awaiting_reminder(
                        priority.value, before, sent_by, PAGE, after
                    )
                    yield from items
                    if len(items) < PAGE:
                        break
                    assert items[-1].last_sent_on is not None  # the query asks for one
                    after = Cursor(items[-1].last_sent_on.isoformat(), items[-1].id)

    def run(self, as_of: date, *, dry_run: bool = False) -> DeadlineRun:
        """Remind and escalate (or, dry, list) every case whose platform has a reminder due,
        or whose grace has run out, by `as_of`; only a dry run may look at a day to come."""
        today = utc_today(self.mediation.clock.now())
        if as_of > today and not dry_run:
            raise InvalidValue("as_of", f"as_of {as_of} is after today ({today}): dry runs only")
        run = DeadlineRun(as_of=as_of, dry_run=dry_run)
        to_remind = {item.id: item for item in self.reminder_candidates(as_of)}
        not_reminded: set[UUID] = set()
        for item in to_remind.values():
            if not self._remind(item, run):
                not_reminded.add(item.id)
        for item in list(self.candidates(as_of)):
            if item.id in not_reminded:
                continue  # skipped already: reminded (then escalated) by the next run
            assert item.response_due is not None  # the overdue queue lists cases with one
            assert item.priority is not None  # only a qualified case is ever sent
            reference, due = None, item.response_due
            try:
                if dry_run:
                    if not self.mediation.silence_expired(item.id, as_of):
                        run.skipped.append(Skipped(item.id, "no longer silent past its grace"))
                        continue
                else:
                    result = self.mediation.escalate_for_silence(
                        item.id, as_of=as_of, actor=SYSTEM_ACTOR
                    )
                    reference, due = result.mediator_reference, result.response_due or due
            except VersionConflict:
                # Another run escalated it, or a caseworker recorded the answer, meanwhile.
                run.skipped.append(Skipped(item.id, "changed by another command meanwhile"))
                continue
            except (CaseError, ApplicationError) as error:
                run.skipped.append(Skipped(item.id, str(error)))
                continue
            priority = Priority(item.priority)
            escalation = Escalation(
                case_id=item.id,
                platform=item.platform,
                priority=item.priority,
                response_due=due,
                grace_days=self.deadlines.grace_days(priority),
                mediator_reference=reference,
            )
            run.escalated.append(escalation)
            if not dry_run:
                log.info(
                    "escalated case %s for no_response: due %s, grace %s day(s), as of %s",
                    item.id, due, escalation.grace_days, as_of,
                )  # fmt: skip
        return run

    def _remind(self, item: QueueItem, run: DeadlineRun) -> bool:
        """Record (or, dry, list) the reminders due to the case's platform; whether the case
        could be reminded (else it is skipped, with the reason)."""
        assert item.priority is not None  # the query asks for one
        try:
            if run.dry_run:
                case = self.mediation.get_case(item.id)
                if case.status is not Status.AWAITING_PLATFORM:
                    run.skipped.append(Skipped(item.id, "no longer awaiting its platform"))
                    return False
                sent_on = case.last_sent_on
                reminders = case.reminders_pending(self.deadlines, run.as_of)
            else:
                done = self.mediation.remind_platform(item.id, as_of=run.as_of, actor=SYSTEM_ACTOR)
                sent_on, reminders = done.sent_on, list(done.reminders)
        except VersionConflict:
            # Another run reminded it, or a command changed it, meanwhile.
            run.skipped.append(Skipped(item.id, "changed by another command meanwhile"))
            return False
        except (CaseError, ApplicationError) as error:
            run.skipped.append(Skipped(item.id, str(error)))
            return False
        for number, after_days in reminders:
            assert sent_on is not None  # a case awaiting its platform was sent
            run.reminded.append(
                Reminder(item.id, item.platform, item.priority, number, after_days, sent_on)
            )
            if not run.dry_run:
                log.info(
                    "reminded the platform of case %s: reminder %d, day %d after sending",
                    item.id, number, after_days,
                )  # fmt: skip
        return True


def on_schedule(
    process: DeadlineProcess, clock: Clock, every: float, catch_up: Callable[[], object]
) -> Schedule[DeadlineRun]:
    """The deadline process for the clock's date, when started and then every `every` seconds.
    Each run first lets the read models `catch_up` with the log: the process finds cases in the
    overdue queue, which at a start may not yet show what the log holds."""

    def run() -> DeadlineRun:
        catch_up()
        done = process.run(utc_today(clock.now()))
        if done.reminded:
            log.info("deadlines: %d reminder(s) recorded", len(done.reminded))
        if done.escalated:
            log.info("deadlines: %d case(s) escalated", len(done.escalated))
        return done

    return Schedule("deadlines", run, every)
