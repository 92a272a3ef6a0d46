"""A case's history as the console's timeline: who, when, what, each step with its facts and,
apart, its personal texts (which a page shows only to the roles that may read them)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from enum import Enum
from typing import Any

from application.history import HistoryEntry
from domain.measures import Measure
from domain.measures import StatementOfReasons
from domain.measures import UrgencyRule
from domain.values import Category
from domain.values import Channel
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import Priority
from domain.values import Stance
from interfaces.web.wording import N_


@dataclass(frozen=True)
class Fact:
    """One fact of a step: its label (to translate) and its value, a date, a value the
    console has words for, or a text shown as it is."""

    label: str
    value: date | Enum | str | int

    @property
    def is_date(self) -> bool:
        return isinstance(self.value, date)

    @property
    def is_word(self) -> bool:
        """A value of the domain the console has words for."""
        return isinstance(self.value, Enum)


@dataclass(frozen=True)
class Step:
    """One event of the case: who caused it, when, what (to translate), its facts, and its
    personal texts."""

    version: int
    at: datetime
    actor: str
    what: str
    facts: tuple[Fact, ...]
    personal: tuple[Fact, ...]


Reader = Callable[[Any], Any]


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _articles(articles: list[str]) -> str:
    return ", ".join(articles)


# Per event: what it is, then (field in its data, label, how to read the value) for its facts,
# and for its personal texts.
STEPS: dict[str, tuple[str, tuple[tuple[str, str, Reader], ...], tuple[tuple[str, str], ...]]] = {
    "Reported": (
        N_("Reported"),
        (
            ("channel", N_("Channel"), Channel),
            ("occurred_on", N_("Measure took effect on"), _day),
            ("category_hint", N_("Category as the business saw it"), Category),
        ),
        (("description", N_("Description")),),
    ),
    "Qualified": (
        N_("Qualified"),
        (
            ("category", N_("Category"), Category),
            ("priority", N_("Priority"), Priority),
            ("urgency_rule", N_("Urgent by the rule"), UrgencyRule),
            ("p2b_articles", N_("P2B articles"), _articles),
            ("assignee", N_("Handled by"), str),
        ),
        (("summary", N_("Summary")),),
    ),
    "SentToPlatform": (
        N_("Sent to the platform"),
        (
            ("sent_on", N_("Sent on"), _day),
            ("response_due", N_("Answer due by"), _day),
        ),
        (("message", N_("Message to the platform")),),
    ),
    "PlatformAcknowledged": (
        N_("The platform acknowledged the case"),
        (("acknowledged_on", N_("Acknowledged on"), _day),),
        (),
    ),
    "PlatformReminded": (
        N_("The platform was reminded"),
        (
            ("number", N_("Reminder number"), int),
            ("after_days", N_("Days after sending"), int),
            ("response_due", N_("Answer due by"), _day),
        ),
        (),
    ),
    "PlatformResponded": (
        N_("The platform answered"),
        (
            ("stance", N_("Answer"), Stance),
            ("responded_on", N_("Answered on"), _day),
        ),
        (("response", N_("What the platform answered")),),
    ),
    "EscalatedToMediator": (
        N_("Escalated to the business mediator"),
        (
            ("reason", N_("Reason"), EscalationReason),
            ("mediator_reference", N_("Mediator's file"), str),
            ("response_due", N_("Answer was due by"), _day),
            ("grace_days", N_("Days of grace given"), int),
        ),
        (("note", N_("Note")),),
    ),
    "Resolved": (
        N_("Closed"),
        (("outcome", N_("Outcome"), Outcome),),
        (("summary", N_("Summary")),),
    ),
    "PersonalDataErased": (
        N_("Personal data erased"),
        (("reason", N_("Reason"), str),),
        (),
    ),
}

MEASURE_FACTS: tuple[tuple[str, str, Reader], ...] = (
    ("measure", N_("Measure"), Measure),
    ("effective_on", N_("Measure takes effect on"), _day),
    ("statement_of_reasons", N_("Statement of reasons"), StatementOfReasons),
    ("notice_received_on", N_("Notice received on"), _day),
)


def _facts(data: Mapping[str, Any], specs: tuple[tuple[str, str, Reader], ...]) -> list[Fact]:
    return [
        Fact(label, read(data[name]))
        for name, label, read in specs
        if data.get(name) not in (None, "", [])
    ]


def step_of(entry: HistoryEntry) -> Step:
    """The timeline's step for one stored event of the case."""
    what, specs, texts = STEPS.get(entry.type, (entry.type, (), ()))
    facts = _facts(entry.data, specs)
    measure = entry.data.get("measure")
    if isinstance(measure, Mapping):
        facts += _facts(measure, MEASURE_FACTS)
    personal = [Fact(label, entry.data[name]) for name, label in texts if entry.data.get(name)]
    company = entry.data.get("company")
    if isinstance(company, Mapping):
        contact = f"{company['contact_name']} <{company['contact_email']}>"
        personal.insert(0, Fact(N_("Contact"), contact))
    return Step(
        version=entry.version,
        at=entry.recorded_at,
        actor=entry.actor,
        what=what,
        facts=tuple(facts),
        personal=tuple(personal),
    )


def timeline(history: list[HistoryEntry]) -> list[Step]:
    """The case's steps, oldest first."""
    return [step_of(entry) for entry in history]
