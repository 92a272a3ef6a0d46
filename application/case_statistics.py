"""The ministry's statistics: which platforms cause which problems, and how they answer.

The read model keeps, per case, the few facts the statistics need (its "facts"), and counters.
Each event replaces its case's facts and moves the case's contribution from some counters to
others, so that an answer reads counters, never every case.

The counters are margins, not a cube: each counts the cases by the one or two things a figure
is broken down by (platform and category, platform and status, platform and outcome, ...).
A cube of every combination had nearly one line per case, so reading it grew with the cases;
margins are bounded by platforms x categories x days, whatever the number of cases. Each is
kept for the day the case was reported, its month and all time (`bucketed`), so that a period
is added up from whole months and the days around them (`covering`), and the whole period
from one row per counter. Durations are histograms of whole days, so medians and 90th
percentiles are exact (linear interpolation between the two nearest values, as
percentile_cont).

Definitions (DOMAIN.md, API.md): a case's category is its Qualified category, else the
reporter's hint, else "unqualified"; answered = at least one platform answer; days to first
answer = first responded_on - date of the first sending; on time = first answer on or before
the due date of the round it answers; silent = sent, never answered and past its due date as of
the query's date, or escalated for no_response; rates are over the cases sent. With the
platform in the loop: acknowledged = at least one PlatformAcknowledged; days to acknowledgement
= the first acknowledged_on - the day the round it acknowledges was sent; answered after a
reminder = the first answer's responded_on is on or after the day of the case's first reminder
(a rate over the cases answered); reminders sent = every PlatformReminded; a case's measure is
the one established by its last Qualified, else the one its report stated, else "unstated"; its
statement of reasons is missing when those same facts say not_given (partly is counted apart).
"""

from __future__ import annotations

import calendar
import json
from abc import abstractmethod
from collections import Counter
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from enum import StrEnum
from typing import Any
from typing import NamedTuple
from uuid import UUID

from application.read_models import ReadModel
from domain.case import Case
from domain.deadlines import is_overdue
from domain.measures import MeasureFacts
from domain.measures import StatementOfReasons
from domain.values import EscalationReason
from domain.values import Status

UNQUALIFIED = "unqualified"
UNSTATED = "unstated"  # no measure facts, neither established nor stated


class Kind(StrEnum):
    """The kinds of counters, and what their line holds (fields joined by SEP)."""

    PLATFORM_CATEGORY = "platform_category"  # platform, category
    PLATFORM_STATUS = "platform_status"  # platform, status
    PLATFORM_FLAG = "platform_flag"  # platform, one of the flags below
    PLATFORM_OUTCOME = "platform_outcome"  # platform, outcome
    CATEGORY_OUTCOME = "category_outcome"  # category, outcome
    ESCALATION_REASON = "escalation_reason"  # reason
    MEDIATION_OUTCOME = "mediation_outcome"  # outcome (of an escalated case)
    FIRST_ANSWER = "first_answer"  # platform, days from the first sending to the first answer
    PLATFORM_RESOLUTION = "platform_resolution"  # platform, days from report to resolution
    CATEGORY_RESOLUTION = "category_resolution"  # category, days from report to resolution
    MEDIATION_DAYS = "mediation_days"  # days from escalation to resolution
    FIRST_ACKNOWLEDGEMENT = "first_acknowledgement"  # platform, days from sending to it
    REMINDERS = "reminders"  # platform, how many reminders a case had (one or more)
    PLATFORM_MEASURE = "platform_measure"  # platform, measure (or UNSTATED)
    # Whether an unanswered case is silent depends on the day asked about, so these keep its
    # due date; the stores keep them apart, by due date, and read only those not yet overdue.
    AWAITING = "awaiting"  # due date (ISO), platform: sent, never answered, not silenced


SEP = "\t"  # neither platform keys, categories, statuses nor outcomes hold one

# The flags of PLATFORM_FLAG: what a case sent to the platform became.
SENT, ANSWERED, ON_TIME, ESCALATED = "sent", "answered", "on_time", "escalated"
SILENCED = "silenced"  # escalated for no_response
UNANSWERED = "unanswered"  # counted in AWAITING too
ACKNOWLEDGED = "acknowledged"
AFTER_REMINDER = "answered_after_reminder"  # the first answer came on or after a reminder
# Whether the statement of reasons was given, by the case's measure facts (of every case).
REASONS_MISSING, REASONS_PARTLY = "reasons_not_given", "reasons_partly_given"

# Where a counter is kept: the day the case was reported, its month, all time.
DAY, MONTH, ALL = "d", "m", "a"
ALL_TIME = date.min  # the period of the ALL bucket


class CaseFacts(NamedTuple):
    """What the statistics need to know of one case. (A named tuple: replacing a field is a
    tenth of the cost of a dataclass's, and a rebuild replaces one per event.)"""

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
    last_sent_on: date | None = None  # the day the current round was sent
    days_to_acknowledgement: int | None = None  # of the first acknowledgement
    reminders: int = 0  # every reminder, of every round
    first_reminded_on: date | None = None
    measure: str | None = None  # as established by the last qualification
    statement_of_reasons: str | None = None  # of those facts
    stated_measure: str | None = None  # as the report stated it
    stated_statement_of_reasons: str | None = None

    @property
    def shown_category(self) -> str:
        return self.category or self.category_hint or UNQUALIFIED

    @property
    def shown_measure(self) -> tuple[str, str | None]:
        """The measure established, else the one stated (UNSTATED if neither), and whether
        those facts say a statement of reasons was given."""
        if self.measure is not None:
            return self.measure, self.statement_of_reasons
        if self.stated_measure is not None:
            return self.stated_measure, self.stated_statement_of_reasons
        return UNSTATED, None

    def to_json(self) -> str:
        """The fields in order, dates as ISO text."""
        return json.dumps([v.isoformat() if isinstance(v, date) else v for v in self])

    @classmethod
    def from_json(cls, text: str) -> CaseFacts:
        values: list[Any] = [
            date.fromisoformat(v) if v is not None and name in DATE_FIELDS else v
            for name, v in zip(cls._fields, json.loads(text), strict=True)
        ]
        return cls(*values)


DATE_FIELDS = frozenset(
    {"reported_on", "first_sent_on", "first_due", "first_responded_on", "escalated_on",
     "resolved_on", "last_sent_on", "first_reminded_on"}
)  # fmt: skip


def _measure(facts: MeasureFacts | None) -> tuple[str | None, str | None]:
    """A case's measure facts as the statistics keep them: the measure, and whether a
    statement of reasons was given."""
    if facts is None:
        return None, None
    reasons = facts.statement_of_reasons
    return facts.measure.value, None if reasons is None else reasons.value


def facts_after(facts: CaseFacts | None, event: Any) -> CaseFacts | None:
    """A case's facts once `event` happened (None for what is not a case's event)."""
    day = event.timestamp.date() if hasattr(event, "timestamp") else None
    match event:
        case Case.Reported():
            stated, stated_reasons = _measure(event.measure)
            return CaseFacts(
                platform=event.platform.key,
                reported_on=event.timestamp.date(),
                category_hint=event.category_hint.value if event.category_hint else None,
                stated_measure=stated,
                stated_statement_of_reasons=stated_reasons,
            )
        case Case.Qualified() if facts:
            measure, reasons = _measure(event.measure)
            return facts._replace(
                status=Status.QUALIFIED.value,
                category=event.category.value,
                measure=measure,
                statement_of_reasons=reasons,
            )
        case Case.SentToPlatform() if facts:
            first = facts.first_sent_on is None
            return facts._replace(
                status=Status.AWAITING_PLATFORM.value,
                first_sent_on=day if first else facts.first_sent_on,
                first_due=event.response_due if first else facts.first_due,
                last_sent_on=event.sent_on,
            )
        case Case.PlatformAcknowledged() if facts and facts.last_sent_on is not None:
            if facts.days_to_acknowledgement is not None:
                return facts
            days = (event.acknowledged_on - facts.last_sent_on).days
            return facts._replace(days_to_acknowledgement=days)
        case Case.PlatformReminded() if facts:
            return facts._replace(
                reminders=facts.reminders + 1,
                first_reminded_on=facts.first_reminded_on or day,
            )
        case Case.PlatformResponded() if facts:
            return facts._replace(
                status=Status.PLATFORM_RESPONDED.value,
                first_responded_on=facts.first_responded_on or event.responded_on,
            )
        case Case.EscalatedToMediator() if facts:
            return facts._replace(
                status=Status.WITH_MEDIATOR.value,
                escalated_on=day,
                escalation_reason=event.reason.value,
            )
        case Case.Resolved() if facts:
            return facts._replace(
                status=Status.RESOLVED.value, resolved_on=day, outcome=event.outcome.value
            )
    return facts


def contributions(facts: CaseFacts) -> list[tuple[Kind, str]]:
    """The counters (kind, line) one case adds one to."""
    platform, category = facts.platform, facts.shown_category
    found = [
        (Kind.PLATFORM_CATEGORY, platform + SEP + category),
        (Kind.PLATFORM_STATUS, platform + SEP + facts.status),
    ]
    silenced = facts.escalation_reason == EscalationReason.NO_RESPONSE.value
    if facts.first_sent_on is not None:
        found.append((Kind.PLATFORM_FLAG, platform + SEP + SENT))
    if facts.first_responded_on is not None:
        found.append((Kind.PLATFORM_FLAG, platform + SEP + ANSWERED))
        if facts.first_due is not None and facts.first_responded_on <= facts.first_due:
            found.append((Kind.PLATFORM_FLAG, platform + SEP + ON_TIME))
    elif facts.first_due is not None and not silenced:
        found.append((Kind.PLATFORM_FLAG, platform + SEP + UNANSWERED))
        found.append((Kind.AWAITING, facts.first_due.isoformat() + SEP + platform))
    if silenced:
        found.append((Kind.PLATFORM_FLAG, platform + SEP + SILENCED))
    if facts.days_to_acknowledgement is not None:
        found.append((Kind.PLATFORM_FLAG, platform + SEP + ACKNOWLEDGED))
        waited = str(facts.days_to_acknowledgement)
        found.append((Kind.FIRST_ACKNOWLEDGEMENT, platform + SEP + waited))
    if (
        facts.first_responded_on is not None
        and facts.first_reminded_on is not None
        and facts.first_reminded_on <= facts.first_responded_on
    ):
        found.append((Kind.PLATFORM_FLAG, platform + SEP + AFTER_REMINDER))
    if facts.reminders:
        found.append((Kind.REMINDERS, platform + SEP + str(facts.reminders)))
    measure, reasons = facts.shown_measure
    found.append((Kind.PLATFORM_MEASURE, platform + SEP + measure))
    if reasons == StatementOfReasons.NOT_GIVEN.value:
        found.append((Kind.PLATFORM_FLAG, platform + SEP + REASONS_MISSING))
    elif reasons == StatementOfReasons.PARTLY.value:
        found.append((Kind.PLATFORM_FLAG, platform + SEP + REASONS_PARTLY))
    if facts.escalated_on is not None:
        found.append((Kind.PLATFORM_FLAG, platform + SEP + ESCALATED))
        found.append((Kind.ESCALATION_REASON, str(facts.escalation_reason)))
        if facts.outcome is not None:
            found.append((Kind.MEDIATION_OUTCOME, facts.outcome))
    if facts.outcome is not None:
        found.append((Kind.PLATFORM_OUTCOME, platform + SEP + facts.outcome))
        found.append((Kind.CATEGORY_OUTCOME, category + SEP + facts.outcome))
    if facts.first_responded_on is not None and facts.first_sent_on is not None:
        days = (facts.first_responded_on - facts.first_sent_on).days
        found.append((Kind.FIRST_ANSWER, platform + SEP + str(days)))
    if facts.resolved_on is not None:
        days = (facts.resolved_on - facts.reported_on).days
        found.append((Kind.PLATFORM_RESOLUTION, platform + SEP + str(days)))
        found.append((Kind.CATEGORY_RESOLUTION, category + SEP + str(days)))
        if facts.escalated_on is not None:
            found.append((Kind.MEDIATION_DAYS, str((facts.resolved_on - facts.escalated_on).days)))
    return found


Deltas = dict[tuple[str, date, str], int]  # (kind, day reported, line): by how much it moves


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
    deltas: defaultdict[tuple[str, date, str], int] = defaultdict(int)
    changed = {}
    for case_id, new in after.items():
        old = before.get(case_id)
        if old == new:
            continue
        changed[case_id] = new
        # A case keeps its day reported: only the lines it leaves or joins move.
        was = set(contributions(old)) if old is not None else set()
        now = set(contributions(new))
        for kind, line in was - now:
            deltas[(kind, new.reported_on, line)] -= 1
        for kind, line in now - was:
            deltas[(kind, new.reported_on, line)] += 1
    return changed, {k: v for k, v in deltas.items() if v}


def bucketed(deltas: Deltas) -> dict[tuple[str, date, str, str], int]:
    """The deltas as each bucket receives them: (bucket, period, kind, line) -> delta. The
    counters of a case reported on a day are kept for that day, its month and all time."""
    moved: defaultdict[tuple[str, date, str, str], int] = defaultdict(int)
    for (kind, day, line), delta in deltas.items():
        moved[(DAY, day, kind, line)] = delta  # one delta per day and line already
        moved[(MONTH, day.replace(day=1), kind, line)] += delta
        moved[(ALL, ALL_TIME, kind, line)] += delta
    return {key: delta for key, delta in moved.items() if delta}


def covering(first: date | None, last: date | None) -> list[tuple[str, date, date]]:
    """The (bucket, first period, last period) ranges whose counters add up, each case once,
    to the cases reported between the days (inclusive): whole months, the days around them."""
    if first is None and last is None:
        return [(ALL, ALL_TIME, ALL_TIME)]
    low, high = first or date.min, last or date.max
    months_from = low if low.day == 1 else _month_end(low) + timedelta(days=1)
    months_to = high.replace(day=1) if high == _month_end(high) else _month_before(high)
    if months_to is None or months_from > months_to:
        return [(DAY, low, high)]
    ranges = [(MONTH, months_from, months_to)]
    if low < months_from:
        ranges.append((DAY, low, months_from - timedelta(days=1)))
    if _month_end(months_to) < high:
        ranges.append((DAY, _month_end(months_to) + timedelta(days=1), high))
    return ranges


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _month_before(day: date) -> date | None:
    """The first day of the month before `day`'s (None before the first month)."""
    start = day.replace(day=1)
    return None if start == date.min else (start - timedelta(days=1)).replace(day=1)


class CaseStatistics(ReadModel):
    """The statistics read model: facts per case, counters per day reported."""

    name = "case_statistics"

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
        self, first: date | None, last: date | None, as_of: date
    ) -> tuple[list[tuple[str, str, int]], int]:
        """The non-zero counters (kind, line, count) of the cases reported between the days
        (inclusive), added up from the buckets that `covering` names, with the position they
        reflect. Of the AWAITING counters, only those not yet overdue as of `as_of`: the
        others are known from the unanswered flag, so reading silence does not grow with
        history."""

    @abstractmethod
    def first_reported_on(self) -> date | None:
        """The first day a case counted here was reported (None before any): where a period
        that gives no first day begins."""


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
    """The counters of one platform or category, added up over a period."""

    cases: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    by_platform: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_measure: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    not_yet_overdue: int = 0  # of the unanswered cases, as of the day asked about
    outcomes: Counter[str] = field(default_factory=Counter)
    first_answer: Counter[int] = field(default_factory=Counter)
    resolution: Counter[int] = field(default_factory=Counter)
    acknowledgement: Counter[int] = field(default_factory=Counter)
    reminders: Counter[int] = field(default_factory=Counter)  # cases by reminders they had

    @property
    def silent(self) -> int:
        return self.flags[SILENCED] + self.flags[UNANSWERED] - self.not_yet_overdue

    def add(self, other: Tally) -> None:
        """Count `other`'s cases in this tally too."""
        self.cases += other.cases
        self.not_yet_overdue += other.not_yet_overdue
        for name in COUNTERS:
            getattr(self, name).update(getattr(other, name))


COUNTERS = ("by_category", "by_platform", "by_status", "by_measure", "flags", "outcomes",
            "first_answer", "resolution", "acknowledgement", "reminders")  # fmt: skip
"""The Counter fields of a Tally."""


@dataclass
class Tallies:
    """The counters of a period, added up by what the answers break them down by."""

    as_of: date
    total: Tally = field(default_factory=Tally)
    platforms: defaultdict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    categories: defaultdict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_reason: Counter[str] = field(default_factory=Counter)
    mediation_outcomes: Counter[str] = field(default_factory=Counter)
    mediation_days: Counter[int] = field(default_factory=Counter)

    def add(self, kind: str, line: str, count: int) -> None:
        fields = line.split(SEP)
        match kind:
            case Kind.PLATFORM_CATEGORY:
                platform, category = fields
                self.total.cases += count
                self.platforms[platform].cases += count
                self.platforms[platform].by_category[category] += count
                self.categories[category].cases += count
                self.categories[category].by_platform[platform] += count
            case Kind.PLATFORM_STATUS:
                self.total.by_status[fields[1]] += count
                self.platforms[fields[0]].by_status[fields[1]] += count
            case Kind.PLATFORM_FLAG:
                self.platforms[fields[0]].flags[fields[1]] += count
            case Kind.AWAITING:
                due, platform = fields
                if not is_overdue(date.fromisoformat(due), self.as_of):
                    self.platforms[platform].not_yet_overdue += count
            case Kind.PLATFORM_OUTCOME:
                self.platforms[fields[0]].outcomes[fields[1]] += count
            case Kind.CATEGORY_OUTCOME:
                self.categories[fields[0]].outcomes[fields[1]] += count
            case Kind.ESCALATION_REASON:
                self.by_reason[fields[0]] += count
            case Kind.MEDIATION_OUTCOME:
                self.mediation_outcomes[fields[0]] += count
            case Kind.FIRST_ANSWER:
                self.platforms[fields[0]].first_answer[int(fields[1])] += count
            case Kind.PLATFORM_RESOLUTION:
                self.platforms[fields[0]].resolution[int(fields[1])] += count
            case Kind.CATEGORY_RESOLUTION:
                self.categories[fields[0]].resolution[int(fields[1])] += count
            case Kind.MEDIATION_DAYS:
                self.mediation_days[int(fields[0])] += count
            case Kind.FIRST_ACKNOWLEDGEMENT:
                self.platforms[fields[0]].acknowledgement[int(fields[1])] += count
            case Kind.REMINDERS:
                self.platforms[fields[0]].reminders[int(fields[1])] += count
            case Kind.PLATFORM_MEASURE:
                self.total.by_measure[fields[1]] += count
                self.platforms[fields[0]].by_measure[fields[1]] += count


def tallies(counters: Iterable[tuple[str, str, int]], as_of: date) -> Tallies:
    added = Tallies(as_of)
    for kind, line, count in counters:
        added.add(kind, line, count)
    return added


def _counts(counter: Counter[str]) -> dict[str, int]:
    return {k: v for k, v in sorted(counter.items()) if v}


def platform_entry(platform: str, tally: Tally) -> dict[str, Any]:
    sent, answered = tally.flags[SENT], tally.flags[ANSWERED]
    return {
        "platform": platform,
        "cases": tally.cases,
        "by_category": _counts(tally.by_category),
        "by_status": _counts(tally.by_status),
        "sent": sent,
        "answered": tally.flags[ANSWERED],
        "answered_on_time": tally.flags[ON_TIME],
        "silent": tally.silent,
        "escalated": tally.flags[ESCALATED],
        "outcomes": _counts(tally.outcomes),
        "answer_rate": rate(tally.flags[ANSWERED], sent),
        "on_time_rate": rate(tally.flags[ON_TIME], sent),
        "silence_rate": rate(tally.silent, sent),
        "escalation_rate": rate(tally.flags[ESCALATED], sent),
        "median_days_to_first_answer": percentile(tally.first_answer, 0.5),
        "p90_days_to_first_answer": percentile(tally.first_answer, 0.9),
        "median_days_to_resolution": percentile(tally.resolution, 0.5),
        "acknowledged": tally.flags[ACKNOWLEDGED],
        "acknowledgement_rate": rate(tally.flags[ACKNOWLEDGED], sent),
        "median_days_to_acknowledgement": percentile(tally.acknowledgement, 0.5),
        "answered_after_reminder": tally.flags[AFTER_REMINDER],
        "after_reminder_rate": rate(tally.flags[AFTER_REMINDER], answered),
        "reminders_sent": sum(n * cases for n, cases in tally.reminders.items()),
        "by_measure": _counts(tally.by_measure),
        "statement_of_reasons_missing": tally.flags[REASONS_MISSING],
        "statement_of_reasons_partly": tally.flags[REASONS_PARTLY],
    }


def _largest_first(tallies: Mapping[str, Tally]) -> list[tuple[str, Tally]]:
    return sorted(
        ((key, tally) for key, tally in tallies.items() if tally.cases),
        key=lambda item: (-item[1].cases, item[0]),
    )


def statistics(counters: Iterable[tuple[str, str, int]], as_of: date) -> dict[str, Any]:
    """The answer of GET /statistics from the counters of the period."""
    added = tallies(counters, as_of)
    return {
        "as_of": as_of.isoformat(),
        "totals": {
            "reported": added.total.cases,
            "by_status": _counts(added.total.by_status),
            "by_measure": _counts(added.total.by_measure),
        },
        "platforms": [platform_entry(p, t) for p, t in _largest_first(added.platforms)],
        "categories": [
            {
                "category": c,
                "cases": t.cases,
                "by_platform": _counts(t.by_platform),
                "outcomes": _counts(t.outcomes),
                "median_days_to_resolution": percentile(t.resolution, 0.5),
            }
            for c, t in _largest_first(added.categories)
        ],
        "mediation": {
            "escalated": sum(added.by_reason.values()),
            "by_reason": _counts(added.by_reason),
            "outcomes": _counts(added.mediation_outcomes),
            "median_days": percentile(added.mediation_days, 0.5),
        },
    }


EVERY_PLATFORM = "*"


def every_platform(counters: Iterable[tuple[str, str, int]], as_of: date) -> dict[str, Any]:
    """The figures of every platform taken together (platform `*`), computed as each
    platform's are: the dashboard's headline figures."""
    whole = Tally()
    for tally in tallies(counters, as_of).platforms.values():
        whole.add(tally)
    return platform_entry(EVERY_PLATFORM, whole)


def annual(counters: Iterable[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """P2B Art. 11(4)-style figures per platform, for the cases of one year."""
    rows = []
    for platform, tally in _largest_first(tallies(counters, date.max).platforms):
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
