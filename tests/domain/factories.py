"""Small builders of domain values and cases for tests."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from domain.case import Case
from domain.deadlines import Deadlines
from domain.platforms import Platform
from domain.values import Category
from domain.values import Company
from domain.values import CompanySize
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Siren
from domain.values import Stance
from domain.values import Status

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
DEADLINES = Deadlines(standard_days=15, urgent_days=5)


def company() -> Company:
    return Company(
        name=PersonalText("Atelier Dupont"),
        siren=Siren("732829320"),
        size=CompanySize.MICRO,
        contact_name=PersonalText("Jeanne Dupont"),
        contact_email=PersonalText("jeanne@atelier-dupont.fr"),
    )


def reported_case(now: datetime = NOW) -> Case:
    return Case.report(
        company=company(),
        platform=Platform.parse("amazon.fr"),
        description=PersonalText("Delisted without explanation"),
        occurred_on=now.date() - timedelta(days=3),
        actor="reporter-1",
        now=now,
    )


def qualify(case: Case, priority: Priority = Priority.NORMAL, now: datetime = NOW) -> None:
    case.qualify(
        category=Category.DELISTING,
        priority=priority,
        summary=PersonalText("Delisting of 40 offers"),
        p2b_articles=["Art. 4(1)"],
        actor="alice",
        now=now,
    )


def send(case: Case, now: datetime = NOW) -> None:
    case.send_to_platform(
        message=PersonalText("Please explain"), deadlines=DEADLINES, actor="alice", now=now
    )


def respond(case: Case, now: datetime = NOW, responded_on: date | None = None) -> None:
    case.record_platform_response(
        stance=Stance.REFUSED,
        response=PersonalText("Policy"),
        responded_on=responded_on,
        actor="alice",
        now=now,
    )


def escalate(case: Case, now: datetime = NOW) -> None:
    case.escalate(reason=EscalationReason.NO_RESPONSE, actor="alice", now=now)


def resolve(case: Case, outcome: Outcome, now: datetime = NOW) -> None:
    case.resolve(outcome=outcome, summary=PersonalText("Done"), actor="alice", now=now)


def case_in(status: Status) -> Case:
    """A fresh case brought to `status` by the shortest path."""
    case = reported_case()
    path = {
        Status.REPORTED: [],
        Status.QUALIFIED: [qualify],
        Status.AWAITING_PLATFORM: [qualify, send],
        Status.PLATFORM_RESPONDED: [qualify, send, respond],
        Status.WITH_MEDIATOR: [qualify, send, escalate],
        Status.RESOLVED: [lambda c: resolve(c, Outcome.WITHDRAWN)],
    }[status]
    for step in path:
        step(case)
    case.collect_events()
    return case
