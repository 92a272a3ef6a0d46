"""The reference for the statistics: a record of the commands issued, and the figures the
domain's definitions (docs/domain.md, "Statistics") give on it, computed here independently of
the service's code; and how answers are compared with it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from domain.measures import MeasureFacts
from domain.values import Outcome
from domain.values import Status
from tests.conftest import START

TODAY = START.date()
UNQUALIFIED = "unqualified"
UNSTATED = "unstated"


class Refused(Exception):
    """The service refused a command (409 over HTTP, CommandNotAllowed in the application)."""


# The reference: a record of the commands issued, and the figures DOMAIN.md defines on it.

RAW_PLATFORMS = {
    "Amazon Marketplace": "amazon",
    "amazon.fr": "amazon",
    "Cdiscount": "cdiscount",
    "eBay": "ebay",
    "Fnac": "fnac_darty",
}
"""Platform names as businesses write them, and their canonical keys (DOMAIN.md)."""

ANY_OUTCOME_BUT_INADMISSIBLE = frozenset(Outcome) - {Outcome.INADMISSIBLE}
PERMITTED: dict[Status, dict[str, frozenset[Outcome] | None]] = {
    Status.REPORTED: {
        "qualify": None,
        "resolve": frozenset({Outcome.WITHDRAWN, Outcome.INADMISSIBLE}),
    },
    Status.QUALIFIED: {
        "qualify": None,
        "send": None,
        "resolve": frozenset({Outcome.WITHDRAWN, Outcome.INADMISSIBLE}),
    },
    Status.AWAITING_PLATFORM: {
        "acknowledge": None,  # records nothing once the round was acknowledged
        "remind": None,  # records the reminders due, if any
        "respond": None,
        "escalate": None,
        "resolve": frozenset({Outcome.WITHDRAWN}),
    },
    Status.PLATFORM_RESPONDED: {
        "send": None,
        "escalate": None,
        "resolve": ANY_OUTCOME_BUT_INADMISSIBLE,
    },
    Status.WITH_MEDIATOR: {"resolve": ANY_OUTCOME_BUT_INADMISSIBLE},
    Status.RESOLVED: {},
}
"""DOMAIN.md's table: the commands each status allows (and the outcomes of `resolve`)."""

ADDS_PERSONAL_DATA = {"qualify", "send", "respond", "resolve"}
"""Commands that record free text: refused once a case's personal data is erased (escalate is
sent without a note here, so it still goes through)."""


@dataclass
class Record:
    """One case as the test saw it happen: what each accepted command did, and when."""

    id: UUID
    platform: str
    reported_at: datetime
    hint: str | None
    category: str | None = None  # the last qualified category
    priority: str | None = None
    status: Status = Status.REPORTED
    sends: list[tuple[date, date]] = field(default_factory=list)  # (UTC day sent, due)
    answers: list[date] = field(default_factory=list)  # responded_on, in order
    escalated: tuple[date, str] | None = None  # (UTC day, reason)
    resolved: tuple[date, str] | None = None  # (UTC day, outcome)
    erased: bool = False
    stated: tuple[str, str | None] | None = None  # (measure, statement of reasons) reported
    established: tuple[str, str | None] | None = None  # by the last qualification
    acknowledgements: list[tuple[date, date]] = field(default_factory=list)  # (sent, acked)
    reminders: list[date] = field(default_factory=list)  # the UTC day of each
    round_acknowledged: bool = False
    round_reminders: int = 0

    @property
    def reported_on(self) -> date:
        return self.reported_at.astimezone(UTC).date()

    @property
    def shown_category(self) -> str:
        return self.category or self.hint or UNQUALIFIED

    @property
    def shown_measure(self) -> tuple[str, str | None]:
        return self.established or self.stated or (UNSTATED, None)


def facts_of(facts: MeasureFacts | None) -> tuple[str, str | None] | None:
    """What a command's measure facts say: the measure, whether reasons were given."""
    if facts is None:
        return None
    reasons = facts.statement_of_reasons
    return facts.measure.value, None if reasons is None else reasons.value


def percentile_cont(values: Iterable[int], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the two nearest values."""
    ordered = sorted(values)
    if not ordered:
        return None
    where = fraction * (len(ordered) - 1)
    below, above = math.floor(where), math.ceil(where)
    return ordered[below] + (ordered[above] - ordered[below]) * (where - below)


def a_rate(numerator: int, denominator: int) -> dict[str, Any]:
    value = None if denominator == 0 else numerator / denominator
    return {"numerator": numerator, "denominator": denominator, "value": value}


def is_silent(record: Record, as_of: date) -> bool:
    """Sent, never answered and past its (first) due date as of `as_of`; or escalated for
    no_response."""
    never_answered = bool(record.sends) and not record.answers and record.sends[0][1] < as_of
    return never_answered or (record.escalated is not None and record.escalated[1] == "no_response")


def answered_on_time(record: Record) -> bool:
    # The first answer always answers the first round: a follow-up round needs an answer.
    return bool(record.answers) and record.answers[0] <= record.sends[0][1]


def days_to_first_answer(record: Record) -> int:
    return (record.answers[0] - record.sends[0][0]).days


def days_to_resolution(record: Record) -> int:
    assert record.resolved is not None
    return (record.resolved[0] - record.reported_on).days


def answered_after_reminder(record: Record) -> bool:
    """The first answer came on or after the day of the case's first reminder."""
    return bool(record.answers and record.reminders) and record.reminders[0] <= record.answers[0]


def in_period(records: Iterable[Record], first: date | None, last: date | None) -> list[Record]:
    return [
        r
        for r in records
        if (first is None or first <= r.reported_on) and (last is None or r.reported_on <= last)
    ]


def expected_platform_entry(platform: str, cases: list[Record], as_of: date) -> dict[str, Any]:
    sent = [r for r in cases if r.sends]
    answered = [r for r in sent if r.answers]
    on_time = [r for r in answered if answered_on_time(r)]
    silent = [r for r in cases if is_silent(r, as_of)]
    escalated = [r for r in cases if r.escalated is not None]
    first_answers = [days_to_first_answer(r) for r in answered]
    resolutions = [days_to_resolution(r) for r in cases if r.resolved is not None]
    acknowledged = [r for r in sent if r.acknowledgements]
    after_reminder = [r for r in answered if answered_after_reminder(r)]
    return {
        "platform": platform,
        "cases": len(cases),
        "by_category": dict(Counter(r.shown_category for r in cases)),
        "by_status": dict(Counter(r.status.value for r in cases)),
        "sent": len(sent),
        "answered": len(answered),
        "answered_on_time": len(on_time),
        "silent": len(silent),
        "escalated": len(escalated),
        "outcomes": dict(Counter(r.resolved[1] for r in cases if r.resolved is not None)),
        "answer_rate": a_rate(len(answered), len(sent)),
        "on_time_rate": a_rate(len(on_time), len(sent)),
        "silence_rate": a_rate(len(silent), len(sent)),
        "escalation_rate": a_rate(len(escalated), len(sent)),
        "median_days_to_first_answer": percentile_cont(first_answers, 0.5),
        "p90_days_to_first_answer": percentile_cont(first_answers, 0.9),
        "median_days_to_resolution": percentile_cont(resolutions, 0.5),
        "acknowledged": len(acknowledged),
        "acknowledgement_rate": a_rate(len(acknowledged), len(sent)),
        "median_days_to_acknowledgement": percentile_cont(
            [(r.acknowledgements[0][1] - r.acknowledgements[0][0]).days for r in acknowledged],
            0.5,
        ),
        "answered_after_reminder": len(after_reminder),
        "after_reminder_rate": a_rate(len(after_reminder), len(answered)),
        "reminders_sent": sum(len(r.reminders) for r in cases),
        "by_measure": dict(Counter(r.shown_measure[0] for r in cases)),
        "statement_of_reasons_missing": sum(r.shown_measure[1] == "not_given" for r in cases),
        "statement_of_reasons_partly": sum(r.shown_measure[1] == "partly" for r in cases),
    }


def expected_statistics(
    records: list[Record], first: date | None, last: date | None, as_of: date
) -> dict[str, Any]:
    """GET /statistics (without its position), from API.md and DOMAIN.md."""
    cases = in_period(records, first, last)
    platforms = sorted({r.platform for r in cases})
    categories = sorted({r.shown_category for r in cases})
    escalated = [r for r in cases if r.escalated is not None]
    return {
        "as_of": as_of.isoformat(),
        "totals": {
            "reported": len(cases),
            "by_status": dict(Counter(r.status.value for r in cases)),
            "by_measure": dict(Counter(r.shown_measure[0] for r in cases)),
        },
        "platforms": [
            expected_platform_entry(p, [r for r in cases if r.platform == p], as_of)
            for p in platforms
        ],
        "categories": [
            {
                "category": c,
                "cases": len(of),
                "by_platform": dict(Counter(r.platform for r in of)),
                "outcomes": dict(Counter(r.resolved[1] for r in of if r.resolved is not None)),
                "median_days_to_resolution": percentile_cont(
                    [days_to_resolution(r) for r in of if r.resolved is not None], 0.5
                ),
            }
            for c in categories
            for of in [[r for r in cases if r.shown_category == c]]
        ],
        "mediation": {
            "escalated": len(escalated),
            "by_reason": dict(Counter(r.escalated[1] for r in escalated if r.escalated)),
            "outcomes": dict(Counter(r.resolved[1] for r in escalated if r.resolved is not None)),
            "median_days": percentile_cont(
                [
                    (r.resolved[0] - r.escalated[0]).days
                    for r in escalated
                    if r.resolved is not None and r.escalated is not None
                ],
                0.5,
            ),
        },
    }


def expected_annual(records: list[Record], year: int) -> dict[str, dict[str, Any]]:
    """Per platform, the cases reported in `year`: P2B Art. 11(4)-style figures. The main
    categories are given as all the category counts: ties decide which three are named."""
    cases = [r for r in records if r.reported_on.year == year]
    found = {}
    for platform in sorted({r.platform for r in cases}):
        of = [r for r in cases if r.platform == platform]
        resolutions = [days_to_resolution(r) for r in of if r.resolved is not None]
        found[platform] = {
            "platform": platform,
            "cases": len(of),
            "category_counts": dict(Counter(r.shown_category for r in of)),
            "average_days_to_resolution": (
                sum(resolutions) / len(resolutions) if resolutions else None
            ),
            "outcomes": dict(Counter(r.resolved[1] for r in of if r.resolved is not None)),
        }
    return found


# As published (README.md, "Statistics"): a rate's value to 4 decimals, days to 1 decimal.

RATE_DECIMALS, DAYS_DECIMALS = 4, 1


def decimals_of(name: str) -> int | None:
    """How many decimals a figure named `name` is published with (None: not a decimal)."""
    if name == "value":
        return RATE_DECIMALS
    if "days" in name:
        return DAYS_DECIMALS
    return None


def published(value: Any, name: str = "") -> Any:
    """A reference answer with its figures rounded as the service publishes them."""
    if isinstance(value, dict):
        return {k: published(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [published(v, name) for v in value]
    if isinstance(value, float):
        decimals = decimals_of(name)
        assert decimals is not None, f"{name}: a figure with no published precision"
        return round(value, decimals)
    return value


# Comparing answers: lists keyed, zero counts dropped (API.md allows leaving them out), floats
# compared to 1e-9.

COUNT_MAPS = {"by_category", "by_status", "by_platform", "outcomes", "by_reason", "by_measure"}
KEYED_LISTS = {"platforms": "platform", "categories": "category"}


def canonical(value: Any, name: str | None = None) -> Any:
    if isinstance(value, dict):
        if name in COUNT_MAPS:
            assert all(isinstance(v, int) and not isinstance(v, bool) for v in value.values())
            return {k: v for k, v in value.items() if v != 0}
        return {k: canonical(v, k) for k, v in value.items()}
    if isinstance(value, list) and name in KEYED_LISTS:
        key = KEYED_LISTS[name]
        keyed = {entry[key]: canonical(entry) for entry in value}
        assert len(keyed) == len(value), f"{name} lists a key twice"
        return keyed
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def differences(got: Any, expected: Any, path: str = "") -> list[str]:
    """Where two canonical answers differ, as readable lines (for the failure message)."""
    if isinstance(got, dict) and isinstance(expected, dict):
        found = []
        for key in sorted(set(got) | set(expected), key=str):
            if key not in got:
                found.append(f"{path}/{key}: missing, expected {expected[key]!r}")
            elif key not in expected:
                found.append(f"{path}/{key}: unexpected {got[key]!r}")
            else:
                found += differences(got[key], expected[key], f"{path}/{key}")
        return found
    if got != expected:
        return [f"{path}: got {got!r}, expected {expected!r}"]
    return []


def assert_same_figures(got: dict[str, Any], expected: dict[str, Any], context: Any) -> None:
    found = differences(canonical(got), canonical(expected))
    assert not found, f"{context}:\n" + "\n".join(found[:40])


def assert_annual(
    got: list[dict[str, Any]], records: list[Record], year: int, *, as_published: bool = False
) -> None:
    expected = expected_annual(records, year)
    if as_published:
        expected = published(expected)
    assert {e["platform"] for e in got} == set(expected), year
    assert len(got) == len(expected)
    for entry in got:
        wanted = expected[entry["platform"]]
        assert set(entry) == {
            "platform",
            "cases",
            "main_categories",
            "average_days_to_resolution",
            "outcomes",
        }, entry
        assert entry["cases"] == wanted["cases"], (year, entry, wanted)
        assert canonical(entry["outcomes"], "outcomes") == wanted["outcomes"], (year, entry)
        average = entry["average_days_to_resolution"]
        if wanted["average_days_to_resolution"] is None:
            assert average is None, (year, entry)
        elif as_published:
            assert average == wanted["average_days_to_resolution"], (year, entry)
        else:
            assert average == pytest.approx(wanted["average_days_to_resolution"]), (year, entry)
        # The three largest categories, with their counts (any of those tied at the edge).
        counts = wanted["category_counts"]
        named = [(m["category"], m["cases"]) for m in entry["main_categories"]]
        assert len(named) == min(3, len(counts)), (year, entry, counts)
        assert len({c for c, _ in named}) == len(named)
        for category, n in named:
            assert counts.get(category) == n, (year, entry, counts)
        assert (
            sorted((n for _, n in named), reverse=True) == sorted(counts.values(), reverse=True)[:3]
        ), (year, entry, counts)
