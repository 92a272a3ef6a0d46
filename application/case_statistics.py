"""The ministry's statistics: which platforms cause which problems, and how they answer.

The read model keeps, per case, the few facts the statistics need (its "facts"), and counters
aggregated by the day the case was reported and by everything a figure is broken down by.
Each event replaces its case's facts and moves the case's contribution from one counter to
another, so that an answer reads counters (bounded by days x platforms x categories), never
every case. Durations are kept as histograms of whole days, so medians and 90th percentiles
are exact (linear interpolation between the two nearest values, as percentile_cont).

Definitions (DOMAIN.md, API.md): a case's category is its Qualified category, else the
reporter's hint, else "unqualified"; answered = at least one platform answer; days to first
answer = first responded_on - date of the first sending; on time = first answer on or before
the due date of the round it answers; silent = sent, never answered and past its due date as of
the query's date, or escalated for no_response; rates are over the cases sent.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any
from uuid import UUID

from domain.case import Case
from domain.deadlines import is_overdue
from domain.values import EscalationReason, Status

UNQUALIFIED = "unqualified"
CUBE = "cube"
DAYS = "days"
FIRST_ANSWER, RESOLUTION, MEDIATION = "first_answer", "resolution", "mediation"


@dataclass(frozen=True)
class CaseFacts:
    """What the statistics need to know of one case."""

    platform: str
    reported_on: date
    category: str | None = None  # qualified
    category_hint: str | None = None
    status: str = Status.REPORTED.value
    first_sent_on: date | None = None
    first_due: date | None = None
    first_responded_on: date | None = None
    escalated_on: date | None = None
    escalation_reason: str | None = None
    resolved_on: date | None = None
    outcome: str | None = None

    @property
    def shown_category(self) -> str:
        return self.category or self.category_hint or UNQUALIFIED

    def to_json(self) -> str:
        return json.dumps(
            {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items()}
        )

    @classmethod
    def from_json(cls, text: str) -> CaseFacts:
        raw = json.loads(text)
        for name in ("reported_on", "first_sent_on", "first_due", "first_responded_on",
                     "escalated_on", "resolved_on"):  # fmt: skip
            if raw[name] is not None:
                raw[name] = date.fromisoformat(raw[name])
        return cls(**raw)


def facts_after(facts: CaseFacts | None, event: Any) -> CaseFacts | None:
    """A case's facts once `event` happened (None for what is not a case's event)."""
    day = event.timestamp.date() if hasattr(event, "timestamp") else None
    match event:
        case Case.Reported():
            return CaseFacts(
                platform=event.platform.key,
                reported_on=event.timestamp.date(),
                category_hint=event.category_hint.value if event.category_hint else None,
            )
        case Case.Qualified() if facts:
            return replace(facts, status=Status.QUALIFIED.value, category=event.category.value)
        case Case.SentToPlatform() if facts:
            first = facts.first_sent_on is None
            return replace(
                facts,
                status=Status.AWAITING_PLATFORM.value,
                first_sent_on=day if first else facts.first_sent_on,
                first_due=event.response_due if first else facts.first_due,
            )
        case Case.PlatformResponded() if facts:
            return replace(
                facts,
                status=Status.PLATFORM_RESPONDED.value,
                first_responded_on=facts.first_responded_on or event.responded_on,
            )
        case Case.EscalatedToMediator() if facts:
            return replace(
                facts,
                status=Status.WITH_MEDIATOR.value,
                escalated_on=day,
                escalation_reason=event.reason.value,
            )
        case Case.Resolved() if facts:
            return replace(
                facts, status=Status.RESOLVED.value, resolved_on=day, outcome=event.outcome.value
            )
    return facts


def contributions(facts: CaseFacts) -> dict[tuple[str, date, str], int]:
    """The counters one case adds to: its line in the cube, and its durations."""
    answered = facts.first_responded_on is not None
    on_time = (
        answered
        and facts.first_due is not None
        and (
            facts.first_responded_on <= facts.first_due  # type: ignore[operator]
        )
    )
    no_response = facts.escalation_reason == EscalationReason.NO_RESPONSE.value
    line = {
        "platform": facts.platform,
        "category": facts.shown_category,
        "status": facts.status,
        "sent": facts.first_sent_on is not None,
        "answered": answered,
        "on_time": on_time,
        "escalated": facts.escalated_on is not None,
        "reason": facts.escalation_reason,
        "outcome": facts.outcome,
        # Whether it is silent depends on the day asked about: keep its due date.
        "silent_due": (
            facts.first_due.isoformat()
            if facts.first_due and not answered and not no_response
            else None
        ),
        "silenced": no_response,
    }
    found = {(CUBE, facts.reported_on, json.dumps(line, sort_keys=True)): 1}
    durations = {
        FIRST_ANSWER: _days(facts.first_sent_on, facts.first_responded_on),
        RESOLUTION: _days(facts.reported_on, facts.resolved_on),
        MEDIATION: _days(facts.escalated_on, facts.resolved_on),
    }
    for metric, days in durations.items():
        if days is not None:
            # Only what an answer breaks a duration down by: fewer distinct lines to add up.
            line = {"metric": metric, "days": days, **DAYS_BROKEN_DOWN_BY[metric](facts)}
            found[(DAYS, facts.reported_on, json.dumps(line, sort_keys=True))] = 1
    return found


DAYS_BROKEN_DOWN_BY: dict[str, Callable[[CaseFacts], dict[str, str]]] = {
    FIRST_ANSWER: lambda facts: {"platform": facts.platform},
    RESOLUTION: lambda facts: {"platform": facts.platform, "category": facts.shown_category},
    MEDIATION: lambda facts: {},
}


def _days(start: date | None, end: date | None) -> int | None:
    return None if start is None or end is None else (end - start).days


Deltas = dict[tuple[str, date, str], int]


def changes(
    events: Iterable[Any], known: Callable[[Iterable[UUID]], Mapping[UUID, CaseFacts]]
) -> tuple[dict[UUID, CaseFacts], Deltas]:
    """The new facts of the cases the events touch, and how the counters move."""
    events = list(events)
    touched = {e.originator_id for e in events if isinstance(e, Case.Event)}
    before = dict(known(touched))
    after = dict(before)
    for event in events:
        if isinstance(event, Case.Event):
            new = facts_after(after.get(event.originator_id), event)
            if new is not None:
                after[event.originator_id] = new
    deltas: Counter[tuple[str, date, str]] = Counter()
    for case_id, new in after.items():
        old = before.get(case_id)
        if old == new:
            continue
        if old is not None:
            deltas.subtract(contributions(old))
        deltas.update(contributions(new))
    changed = {c: f for c, f in after.items() if before.get(c) != f}
    return changed, {k: v for k, v in deltas.items() if v}


class CaseStatistics(ABC):
    """The statistics read model: facts per case, counters per day reported."""

    name = "case_statistics"

    @abstractmethod
    def position(self) -> int: ...

    @abstractmethod
    def apply(
        self,
        position: int,
        compute: Callable[
            [Callable[[Iterable[UUID]], Mapping[UUID, CaseFacts]]],
            tuple[dict[UUID, CaseFacts], Deltas],
        ],
    ) -> bool:
        """In one transaction: refuse a position already reached; else read the facts
        `compute` asks for, write what it returns, and record `position`."""

    @abstractmethod
    def counters(
        self, first: date | None, last: date | None
    ) -> tuple[list[tuple[str, dict[str, Any], int]], int]:
        """The non-zero counters of cases reported between the days (inclusive), with the
        position they reflect."""

    @abstractmethod
    def standby(self) -> CaseStatistics: ...

    @abstractmethod
    def switch_to(self, standby: CaseStatistics) -> bool: ...


# Answers.


def percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """percentile_cont over values given as {value: count}."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = fraction * (total - 1)
    below, above = int(rank), min(int(rank) + 1, total - 1)

    def value_at(index: int) -> int:
        seen = 0
        for value in sorted(histogram):
            seen += histogram[value]
            if index < seen:
                return value
        raise AssertionError("unreachable")

    low, high = value_at(below), value_at(above)
    return low + (high - low) * (rank - below)


def rate(numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "value": None if denominator == 0 else numerator / denominator,
    }


@dataclass
class Tally:
    cases: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    by_platform: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    answered: int = 0
    on_time: int = 0
    silent: int = 0
    escalated: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    first_answer: Counter[int] = field(default_factory=Counter)
    resolution: Counter[int] = field(default_factory=Counter)

    def add_line(self, line: Mapping[str, Any], count: int, as_of: date) -> None:
        self.cases += count
        self.by_category[line["category"]] += count
        self.by_platform[line["platform"]] += count
        self.by_status[line["status"]] += count
        self.sent += count * line["sent"]
        self.answered += count * line["answered"]
        self.on_time += count * line["on_time"]
        self.escalated += count * line["escalated"]
        due = line["silent_due"]
        if line["silenced"] or (due is not None and is_overdue(date.fromisoformat(due), as_of)):
            self.silent += count
        if line["outcome"]:
            self.outcomes[line["outcome"]] += count


def _counts(counter: Counter[str]) -> dict[str, int]:
    return {k: v for k, v in sorted(counter.items()) if v}


def platform_entry(platform: str, tally: Tally) -> dict[str, Any]:
    return {
        "platform": platform,
        "cases": tally.cases,
        "by_category": _counts(tally.by_category),
        "by_status": _counts(tally.by_status),
        "sent": tally.sent,
        "answered": tally.answered,
        "answered_on_time": tally.on_time,
        "silent": tally.silent,
        "escalated": tally.escalated,
        "outcomes": _counts(tally.outcomes),
        "answer_rate": rate(tally.answered, tally.sent),
        "on_time_rate": rate(tally.on_time, tally.sent),
        "silence_rate": rate(tally.silent, tally.sent),
        "escalation_rate": rate(tally.escalated, tally.sent),
        "median_days_to_first_answer": percentile(tally.first_answer, 0.5),
        "p90_days_to_first_answer": percentile(tally.first_answer, 0.9),
        "median_days_to_resolution": percentile(tally.resolution, 0.5),
    }


def statistics(counters: Iterable[tuple[str, dict[str, Any], int]], as_of: date) -> dict[str, Any]:
    """The answer of GET /statistics from the counters of the period."""
    total = Tally()
    # defaultdict, not setdefault(key, Tally()): one Tally per key, not one per counter row.
    platforms: defaultdict[str, Tally] = defaultdict(Tally)
    categories: defaultdict[str, Tally] = defaultdict(Tally)
    mediation_outcomes: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    mediation_days: Counter[int] = Counter()
    for kind, line, count in counters:
        if kind == CUBE:
            total.add_line(line, count, as_of)
            platforms[line["platform"]].add_line(line, count, as_of)
            categories[line["category"]].add_line(line, count, as_of)
            if line["escalated"]:
                by_reason[line["reason"]] += count
                if line["outcome"]:
                    mediation_outcomes[line["outcome"]] += count
        elif line["metric"] == FIRST_ANSWER:
            platforms[line["platform"]].first_answer[line["days"]] += count
        elif line["metric"] == RESOLUTION:
            platforms[line["platform"]].resolution[line["days"]] += count
            categories[line["category"]].resolution[line["days"]] += count
        elif line["metric"] == MEDIATION:
            mediation_days[line["days"]] += count
    return {
        "as_of": as_of.isoformat(),
        "totals": {"reported": total.cases, "by_status": _counts(total.by_status)},
        "platforms": [
            platform_entry(p, t)
            for p, t in sorted(platforms.items(), key=lambda item: (-item[1].cases, item[0]))
            if t.cases
        ],
        "categories": [
            {
                "category": c,
                "cases": t.cases,
                "by_platform": _counts(t.by_platform),
                "outcomes": _counts(t.outcomes),
                "median_days_to_resolution": percentile(t.resolution, 0.5),
            }
            for c, t in sorted(categories.items(), key=lambda item: (-item[1].cases, item[0]))
            if t.cases
        ],
        "mediation": {
            "escalated": sum(by_reason.values()),
            "by_reason": _counts(by_reason),
            "outcomes": _counts(mediation_outcomes),
            "median_days": percentile(mediation_days, 0.5),
        },
    }


def annual(counters: Iterable[tuple[str, dict[str, Any], int]]) -> list[dict[str, Any]]:
    """P2B Art. 11(4)-style figures per platform, for the cases of one year."""
    tallies: defaultdict[str, Tally] = defaultdict(Tally)
    for kind, line, count in counters:
        if kind == CUBE:
            tallies[line["platform"]].add_line(line, count, date.max)
        elif line["metric"] == RESOLUTION:
            tallies[line["platform"]].resolution[line["days"]] += count
    rows = []
    for platform, tally in sorted(tallies.items(), key=lambda item: (-item[1].cases, item[0])):
        if not tally.cases:
            continue
        resolved = sum(tally.resolution.values())
        rows.append(
            {
                "platform": platform,
                "cases": tally.cases,
                "main_categories": [
                    {"category": c, "cases": n}
                    for c, n in sorted(tally.by_category.items(), key=lambda i: (-i[1], i[0]))[:3]
                    if n
                ],
                "average_days_to_resolution": (
                    sum(d * n for d, n in tally.resolution.items()) / resolved if resolved else None
                ),
                "outcomes": _counts(tally.outcomes),
            }
        )
    return rows
