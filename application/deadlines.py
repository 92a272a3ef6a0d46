"""The deadline process: a platform that stays silent does not stall a case.

For a given date it escalates to the mediator, for `no_response` and as `system:deadlines`,
every case still awaiting the platform past its due date plus grace (domain.deadlines). It
finds them in the `overdue` queue (never by loading every case): the cases of a priority whose
grace has run out by D are the overdue ones as of D minus that grace. The queue only proposes;
each case is loaded and the aggregate decides, so a case answered since the read model last
moved is left alone.

It is safe to run again (an escalated case is no longer awaiting the platform), in several
processes at once, and while caseworkers record answers: two commands on one case cannot both
be saved (optimistic concurrency), and the one that loses is skipped here, never retried blind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from application.case_queues import (
    CaseQueues,
    Cursor,
    Order,
    Queue,
    QueueFilters,
    QueueItem,
    sort_value,
)
from application.clock import Clock
from application.errors import ApplicationError, VersionConflict
from application.mediation import MediationApplication
from application.schedule import Schedule
from domain.case import utc_today
from domain.errors import CaseError, InvalidValue
from domain.values import Priority

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
class Skipped:
    """A case the queue proposed that the run left alone, and why."""

    case_id: UUID
    reason: str


@dataclass
class DeadlineRun:
    """What one run of the deadline process did, or would do (a dry run)."""

    as_of: date
    dry_run: bool
    escalated: list[Escalation] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class DeadlineProcess:
    """Escalates to the mediator the cases whose platform stayed silent past its grace."""

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

    def run(self, as_of: date, *, dry_run: bool = False) -> DeadlineRun:
        """Escalate (or, dry, list) every case whose platform's grace has run out by `as_of`;
        only a dry run may look at a day to come."""
        today = utc_today(self.mediation.clock.now())
        if as_of > today and not dry_run:
            raise InvalidValue("as_of", f"as_of {as_of} is after today ({today}): dry runs only")
        run = DeadlineRun(as_of=as_of, dry_run=dry_run)
        for item in list(self.candidates(as_of)):
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


def on_schedule(
    process: DeadlineProcess, clock: Clock, every: float, catch_up: Callable[[], object]
) -> Schedule[DeadlineRun]:
    """The deadline process for the clock's date, when started and then every `every` seconds.
    Each run first lets the read models `catch_up` with the log: the process finds cases in the
    overdue queue, which at a start may not yet show what the log holds."""

    def run() -> DeadlineRun:
        catch_up()
        done = process.run(utc_today(clock.now()))
        if done.escalated:
            log.info("deadlines: %d case(s) escalated", len(done.escalated))
        return done

    return Schedule("deadlines", run, every)
