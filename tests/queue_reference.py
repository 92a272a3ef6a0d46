"""The reference for the queues: random workflows (Hypothesis) issued through the
application, and where each case must be, decided from the commands issued, independently of
the service's code."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteDatastore
from hypothesis import strategies as st

from application.case_queues import CaseQueues
from application.case_queues import Queue
from application.clock import SettableClock
from application.errors import CaseNotFound
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from domain.errors import CommandNotAllowed
from domain.platforms import Platform
from domain.values import Category
from domain.values import Channel
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Stance
from domain.values import Status
from infrastructure.queue_stores import SQLCaseQueues
from tests.domain.factories import company
from tests.queue_workflows import STATUS_QUEUES
from tests.queue_workflows import TODAY
from tests.queue_workflows import everything
from tests.queue_workflows import ids

# 2. The projection through the application: event by event = from scratch = the reference.

PLATFORMS = {
    "Amazon Marketplace": "amazon",
    "amazon.fr": "amazon",
    "Cdiscount": "cdiscount",
    "eBay": "ebay",
}
COMPANIES = ("Atelier Dupont", "Brasserie Martin", "Savonnerie Leroy")
CASE = st.integers(min_value=0, max_value=7)

FORWARD = st.tuples(
    st.just("forward"),
    CASE,
    st.integers(min_value=0, max_value=5),
    st.sampled_from(Category),
    st.sampled_from(Priority),
    st.none() | st.sampled_from(["alice", "bob"]),
    st.sampled_from(Stance),
    st.sampled_from(EscalationReason),
)
"""A command that moves the case on, chosen from its status: so that random workflows also
reach the end of the workflow."""

REPORT = st.tuples(
    st.just("report"),
    st.sampled_from(sorted(PLATFORMS)),
    st.none() | st.sampled_from(Category),
    st.sampled_from(COMPANIES),
)
STEPS = st.one_of(
    REPORT,
    st.tuples(
        st.just("qualify"),
        CASE,
        st.sampled_from(Category),
        st.sampled_from(Priority),
        st.none() | st.sampled_from(["alice", "bob"]),
    ),
    st.tuples(st.just("send"), CASE),
    st.tuples(st.just("respond"), CASE, st.sampled_from(Stance)),
    st.tuples(st.just("escalate"), CASE, st.sampled_from(EscalationReason)),
    st.tuples(st.just("resolve"), CASE, st.sampled_from(Outcome)),
    st.tuples(st.just("acknowledge"), CASE),
    st.tuples(st.just("remind"), CASE),
    *[FORWARD] * 6,
)
PAUSES = st.sampled_from([0, 0, 1, 45, 24 * 60, 6 * 24 * 60, 15 * 24 * 60])
"""Minutes between two commands: often none (ties), sometimes days (overdue cases, reminders
due)."""

WORKFLOWS = st.builds(
    lambda reports, steps: reports + steps,
    st.lists(st.tuples(REPORT, PAUSES), min_size=2, max_size=6),
    st.lists(st.tuples(STEPS, PAUSES), min_size=8, max_size=50),
)
"""A few reports, then random steps over them (more reports among them)."""


@dataclass
class Expected:
    """A case as the reference sees it, from the commands that were accepted."""

    id: UUID
    status: Status
    platform: str
    category: str
    priority: str | None
    assignee: str | None
    company_name: str
    reported_at: datetime
    response_due: date | None = None
    resolved_at: datetime | None = None
    last_sent_on: date | None = None
    reminders: int = 0
    acknowledged_on: date | None = None


REMINDER_DAYS = {Priority.URGENT.value: (2, 4)}
STANDARD_REMINDER_DAYS = (7, 14)
"""DOMAIN.md: a silent platform is reminded on day 7 and day 14 after sending (urgent: day 2
and day 4), each once in a round."""


def reminder_days(priority: str | None) -> tuple[int, ...]:
    return REMINDER_DAYS.get(priority or "", STANDARD_REMINDER_DAYS)


ALLOWED: dict[Status, dict[str, set[Outcome]]] = {
    Status.REPORTED: {"qualify": set(), "resolve": {Outcome.WITHDRAWN, Outcome.INADMISSIBLE}},
    Status.QUALIFIED: {
        "qualify": set(),
        "send": set(),
        "resolve": {Outcome.WITHDRAWN, Outcome.INADMISSIBLE},
    },
    Status.AWAITING_PLATFORM: {
        "respond": set(),
        "escalate": set(),
        "resolve": {Outcome.WITHDRAWN},
        "acknowledge": set(),  # the platform's own command, once a round (again: nothing)
        "remind": set(),  # the deadline process's (nothing when no reminder is due)
    },
    Status.PLATFORM_RESPONDED: {
        "send": set(),
        "escalate": set(),
        "resolve": set(Outcome) - {Outcome.INADMISSIBLE},
    },
    Status.WITH_MEDIATOR: {"resolve": set(Outcome) - {Outcome.INADMISSIBLE}},
    Status.RESOLVED: {},
}
"""DOMAIN.md's table of the commands each status allows (and the outcomes of `resolve`), and
the platform's acknowledgement and the reminders, only while the case awaits its platform."""

ONWARD = {
    Status.REPORTED: ["qualify"],
    Status.QUALIFIED: ["send", "send", "qualify"],
    Status.AWAITING_PLATFORM: ["respond", "escalate", "respond", "escalate", "resolve"],
    Status.PLATFORM_RESPONDED: ["escalate", "send", "resolve"],
    Status.WITH_MEDIATOR: ["resolve"],
    Status.RESOLVED: ["resolve"],
}


def concrete(step: tuple[Any, ...], cases: list[Expected]) -> tuple[Any, ...]:
    """A `forward` step made the command it stands for, from the case's reference status; the
    platform's acknowledgement and a reminder aimed at a case awaiting its platform if any (so
    that random workflows record them too)."""
    if step[0] in ("acknowledge", "remind"):
        awaiting = [i for i, c in enumerate(cases) if c.status is Status.AWAITING_PLATFORM]
        return (step[0], awaiting[step[1] % len(awaiting)]) if awaiting else step
    if step[0] != "forward" or not cases:
        return step
    _, index, pick, category, priority, assignee, stance, reason = step
    status = cases[index % len(cases)].status
    kind = ONWARD[status][pick % len(ONWARD[status])]
    outcomes = sorted(ALLOWED[status].get("resolve", {Outcome.RESOLVED}), key=lambda o: o.value)
    return {
        "qualify": ("qualify", index, category, priority, assignee),
        "send": ("send", index),
        "respond": ("respond", index, stance),
        "escalate": ("escalate", index, reason),
        "resolve": ("resolve", index, outcomes[pick % len(outcomes)]),
    }[kind]


def allowed(step: tuple[Any, ...], cases: list[Expected]) -> bool:
    """Whether DOMAIN.md allows the step, in the reference state."""
    if step[0] == "report":
        return True
    if not cases:
        return False
    rules = ALLOWED[cases[step[1] % len(cases)].status]
    if step[0] not in rules:
        return False
    return step[0] != "resolve" or step[2] in rules["resolve"]


def a_report(platform: str, hint: Category | None, name: str) -> ReportRequest:
    return ReportRequest(
        company=replace(company(), name=PersonalText(name)),
        platform=Platform.parse(platform),
        description=PersonalText("Delisted overnight without any explanation"),
        occurred_on=TODAY - timedelta(days=10),
        category_hint=hint,
        channel=Channel.WEB,
    )


def issue(
    app: MediationApplication,
    clock: SettableClock,
    step: tuple[Any, ...],
    cases: list[Expected],
    idempotency_key: str | None = None,
) -> bool:
    """Run one step on the application and update the reference; whether it was accepted."""
    kind, *args = step
    now = clock.now()
    today = now.astimezone(UTC).date()
    if kind == "report":
        platform, hint, name = args
        result = app.report_case(
            a_report(platform, hint, name), actor="reporter-1", idempotency_key=idempotency_key
        )
        cases.append(
            Expected(
                id=result.case_id,
                status=Status.REPORTED,
                platform=PLATFORMS[platform],
                category=hint.value if hint else "unqualified",
                priority=None,
                assignee=None,
                company_name=name,
                reported_at=now,
            )
        )
        return True
    if not cases:
        return False
    case = cases[args[0] % len(cases)]
    try:
        if kind == "qualify":
            _, category, priority, assignee = args
            app.qualify_case(
                case.id,
                category=category,
                priority=priority,
                summary=PersonalText("Summary"),
                assignee=assignee,
                actor="alice",
            )
            case.status = Status.QUALIFIED
            case.category, case.priority, case.assignee = (
                category.value,
                priority.value,
                assignee,
            )
        elif kind == "send":
            sent = app.send_to_platform(case.id, message=PersonalText("Why?"), actor="alice")
            case.status, case.response_due = Status.AWAITING_PLATFORM, sent.response_due
            assert sent.response_due is not None
            assert sent.response_due > now.date()
            # A new round: sent today, not reminded, not acknowledged.
            case.last_sent_on, case.reminders, case.acknowledged_on = today, 0, None
        elif kind == "acknowledge":
            app.acknowledge_case(case.id, platform=case.platform, actor=f"platform:{case.platform}")
            case.acknowledged_on = case.acknowledged_on or today
        elif kind == "remind":
            app.remind_platform(case.id, as_of=today, actor="system:deadlines")
            assert case.last_sent_on is not None
            due = sum(
                case.last_sent_on + timedelta(days=d) <= today for d in reminder_days(case.priority)
            )
            case.reminders = max(case.reminders, due)
        elif kind == "respond":
            app.record_platform_response(
                case.id, stance=args[1], response=PersonalText("Policy"), actor="alice"
            )
            case.status, case.response_due = Status.PLATFORM_RESPONDED, None
        elif kind == "escalate":
            app.escalate_case(case.id, reason=args[1], note=None, actor="alice")
            case.status, case.response_due = Status.WITH_MEDIATOR, None
        elif kind == "resolve":
            app.resolve_case(case.id, outcome=args[1], summary=PersonalText("Done"), actor="alice")
            case.status, case.response_due, case.resolved_at = Status.RESOLVED, None, now
        else:
            raise AssertionError(kind)
    except (CommandNotAllowed, CaseNotFound):  # not found: a platform's case never sent
        return False
    return True


def check_against_reference(
    view: CaseQueues, cases: list[Expected], days: list[date], app: MediationApplication
) -> None:
    """Every case in exactly the queue of its status, with its fields, in API.md's order (the
    company's name as the application reveals it from the row's stored form)."""
    places: dict[UUID, list[Queue]] = {c.id: [] for c in cases}
    by_id = {c.id: c for c in cases}
    for queue in STATUS_QUEUES.values():
        items = everything(view, queue, days[0])
        names = app.personal_texts({item.id: item.company_name for item in items})
        for item in items:
            assert item.id in by_id, f"{item.id} in {queue} was never reported"
            places[item.id].append(queue)
            case = by_id[item.id]
            seen = (
                item.status,
                item.platform,
                item.category,
                item.priority,
                item.assignee,
                names[item.id],
                item.reported_at,
                item.response_due,
                item.last_sent_on,
                item.reminders,
                item.acknowledged_on,
            )
            assert seen == (
                case.status,
                case.platform,
                case.category,
                case.priority,
                case.assignee,
                case.company_name,
                case.reported_at,
                case.response_due,
                case.last_sent_on,
                case.reminders,
                case.acknowledged_on,
            ), item
    for case in cases:
        assert places[case.id] == [STATUS_QUEUES[case.status]], (case, places[case.id])

    def of(status: Status) -> list[Expected]:
        return [c for c in cases if c.status is status]

    def oldest_report_first(status: Status) -> list[UUID]:
        return [c.id for c in sorted(of(status), key=lambda c: (c.reported_at, str(c.id)))]

    assert ids(everything(view, Queue.TO_QUALIFY)) == oldest_report_first(Status.REPORTED)
    assert ids(everything(view, Queue.TO_SEND)) == oldest_report_first(Status.QUALIFIED)
    awaiting = sorted(of(Status.AWAITING_PLATFORM), key=lambda c: (c.response_due, str(c.id)))
    assert ids(everything(view, Queue.AWAITING_PLATFORM)) == [c.id for c in awaiting]
    for day in days:
        overdue = [c.id for c in awaiting if c.response_due < day]  # type: ignore[operator]
        assert ids(everything(view, Queue.OVERDUE, day)) == overdue, day
    unacknowledged = [c.id for c in awaiting if c.acknowledged_on is None]
    assert ids(everything(view, Queue.AWAITING_ACKNOWLEDGEMENT)) == unacknowledged
    for day in days:
        for priority in Priority:
            for reminders in (0, 1):
                for back in (2, 7):
                    sent_by = day - timedelta(days=back)
                    chosen = sorted(
                        (
                            c
                            for c in awaiting
                            if c.priority == priority.value
                            and c.reminders == reminders
                            and c.last_sent_on is not None
                            and c.last_sent_on <= sent_by
                        ),
                        key=lambda c: (c.last_sent_on, str(c.id)),
                    )
                    got = view.awaiting_reminder(priority.value, reminders, sent_by, 10_000, None)
                    assert ids(got) == [c.id for c in chosen], (day, priority, reminders, back)
    resolved = sorted(of(Status.RESOLVED), key=lambda c: (c.resolved_at, str(c.id)), reverse=True)
    assert ids(everything(view, Queue.RESOLVED)) == [c.id for c in resolved]


def scratch_store(store: str, app: MediationApplication, folder: Path) -> Any:
    """A second, empty queue store in the same kind of database, for a rebuild from scratch."""
    if store == "memory":
        return SQLCaseQueues.in_memory(), None
    if store == "sqlite":
        datastore = SQLiteDatastore(str(folder / "scratch.db"))
        return SQLCaseQueues.on_sqlite(datastore), datastore
    return SQLCaseQueues.on_postgres(app.recorder.datastore, prefix="scratch"), None  # type: ignore[attr-defined]
