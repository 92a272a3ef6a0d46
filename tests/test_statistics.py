"""The ministry's statistics: the read model, its projection, and GET /statistics….

Five tiers, each on every store it can run on:
1. the projection through the application: random workflows built event by event equal the
   same workflows built from scratch (a second store, and a rebuild into the standby copy), and
   the figures equal those an independent reference computes here, straight from DOMAIN.md's
   and API.md's definitions, from a record of the commands issued (never from the code's
   helpers);
2. the CaseStatistics contract, against the in-memory, SQLite and PostgreSQL implementations;
3. exactly once: a projection failing inside apply (in its computation, after the facts were
   read; after its rows were written, before the commit; after the commit) and resumed ends
   identical to an uninterrupted run, every event committed exactly once;
4. erasure changes no figure;
5. HTTP: roles, positions, read-your-writes, validation, the annual figures and the CSV export.

No test sleeps to wait for a projection: each waits for a position (`min_position`, or the
runner's `catch_up`).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.sqlite import SQLiteDatastore
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from psycopg.sql import SQL

from application.case_statistics import (
    ALL,
    MONTH,
    SEP,
    CaseFacts,
    CaseStatistics,
    Kind,
    annual,
    covering,
    statistics,
)
from application.case_statistics import (
    DAY as DAY_BUCKET,
)
from application.clock import SettableClock
from application.mediation import MediationApplication, ReportRequest
from application.projections import EventLog, ProjectionRunner, StatisticsProjection, rebuild
from domain.errors import CommandNotAllowed, PersonalDataErasedError
from domain.platforms import Platform
from domain.values import (
    Category,
    Channel,
    EscalationReason,
    Outcome,
    PersonalText,
    Priority,
    Stance,
    Status,
)
from infrastructure.settings import Settings
from infrastructure.statistics_stores import (
    TABLES,
    MemoryCaseStatistics,
    PostgresCaseStatistics,
    SQLiteCaseStatistics,
    case_statistics_for,
)
from interfaces.composition import open_application, projection_runner
from interfaces.http.app import create_app
from tests.conftest import START, auth, report_body, require_postgres, settings_for
from tests.domain.factories import company
from tests.interfaces.problems import assert_problem

TODAY = START.date()
UNQUALIFIED = "unqualified"


class Injected(Exception):
    """The failure a test injects into a projection."""


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

    @property
    def reported_on(self) -> date:
        return self.reported_at.astimezone(UTC).date()

    @property
    def shown_category(self) -> str:
        return self.category or self.hint or UNQUALIFIED


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

COUNT_MAPS = {"by_category", "by_status", "by_platform", "outcomes", "by_reason"}
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


# Driving workflows: through the application, or over HTTP, recording what was accepted.


class Workflow:
    """Issues commands and keeps the Records the reference reads."""

    def __init__(self, clock: SettableClock) -> None:
        self.clock = clock
        self.records: list[Record] = []
        self.position = 0
        self.refused = 0

    def today(self) -> date:
        return self.clock.now().astimezone(UTC).date()

    @staticmethod
    def permitted(record: Record, kind: str, outcome: Outcome | None) -> bool:
        if kind == "erase":
            return not record.erased
        rules = PERMITTED[record.status]
        if kind not in rules:
            return False
        if kind == "resolve" and outcome not in (rules["resolve"] or ()):
            return False
        return not (record.erased and kind in ADDS_PERSONAL_DATA)

    def report(self, raw_platform: str, hint: Category | None) -> Record:
        case_id, position = self._report(raw_platform, hint)
        assert position > self.position
        self.position = position
        record = Record(
            id=case_id,
            platform=RAW_PLATFORMS[raw_platform],
            reported_at=self.clock.now(),
            hint=hint.value if hint else None,
        )
        self.records.append(record)
        return record

    def act(
        self,
        record: Record,
        kind: str,
        *,
        category: Category = Category.OTHER,
        priority: Priority = Priority.NORMAL,
        stance: Stance = Stance.ACCEPTED,
        responded_on: date | None = None,
        reason: EscalationReason = EscalationReason.COMPLEXITY,
        outcome: Outcome = Outcome.RESOLVED,
    ) -> bool:
        """Issue one command; whether it was accepted (asserted to be what DOMAIN.md says)."""
        expected = self.permitted(record, kind, outcome if kind == "resolve" else None)
        args = {
            "category": category,
            "priority": priority,
            "stance": stance,
            "responded_on": responded_on,
            "reason": reason,
            "outcome": outcome,
        }
        try:
            position, due = self._command(record.id, kind, args)
        except Refused:
            assert not expected, f"{kind} refused on {record}"
            self.refused += 1
            return False
        assert expected, f"{kind} accepted on {record}"
        assert position > self.position
        self.position = position
        today = self.today()
        if kind == "qualify":
            record.status = Status.QUALIFIED
            record.category, record.priority = category.value, priority.value
        elif kind == "send":
            # DOMAIN.md: due 15 calendar days after sending, 5 when urgent.
            assert due == today + timedelta(days=5 if record.priority == "urgent" else 15)
            record.status = Status.AWAITING_PLATFORM
            record.sends.append((today, due))
        elif kind == "respond":
            record.status = Status.PLATFORM_RESPONDED
            record.answers.append(responded_on or today)
        elif kind == "escalate":
            record.status = Status.WITH_MEDIATOR
            record.escalated = (today, reason.value)
        elif kind == "resolve":
            record.status = Status.RESOLVED
            record.resolved = (today, outcome.value)
        elif kind == "erase":
            record.erased = True
        else:
            raise AssertionError(kind)
        return True

    def _report(self, raw_platform: str, hint: Category | None) -> tuple[UUID, int]:
        raise NotImplementedError

    def _command(self, case_id: UUID, kind: str, args: dict[str, Any]) -> tuple[int, date | None]:
        raise NotImplementedError


class AppWorkflow(Workflow):
    def __init__(self, app: MediationApplication, clock: SettableClock) -> None:
        super().__init__(clock)
        self.app = app

    def _report(self, raw_platform: str, hint: Category | None) -> tuple[UUID, int]:
        request = ReportRequest(
            company=replace(company(), name=f"Société {len(self.records)}"),
            platform=Platform.parse(raw_platform),
            description=PersonalText("Delisted overnight without any explanation"),
            occurred_on=self.today() - timedelta(days=3),
            category_hint=hint,
            channel=Channel.WEB,
        )
        result = self.app.report_case(request, actor="reporter-1")
        return result.case_id, result.position

    def _command(self, case_id: UUID, kind: str, args: dict[str, Any]) -> tuple[int, date | None]:
        app = self.app
        try:
            if kind == "qualify":
                result = app.qualify_case(
                    case_id,
                    category=args["category"],
                    priority=args["priority"],
                    summary=PersonalText("Summary"),
                    actor="alice",
                )
            elif kind == "send":
                result = app.send_to_platform(case_id, message=PersonalText("Why?"), actor="alice")
            elif kind == "respond":
                result = app.record_platform_response(
                    case_id,
                    stance=args["stance"],
                    response=PersonalText("Our policy"),
                    responded_on=args["responded_on"],
                    actor="alice",
                )
            elif kind == "escalate":
                result = app.escalate_case(case_id, reason=args["reason"], actor="alice")
            elif kind == "resolve":
                result = app.resolve_case(
                    case_id, outcome=args["outcome"], summary=PersonalText("Done"), actor="alice"
                )
            elif kind == "erase":
                result = app.erase_personal_data(case_id, reason="GDPR art. 17", actor="dpo-1")
            else:
                raise AssertionError(kind)
        except (CommandNotAllowed, PersonalDataErasedError):
            raise Refused from None
        return result.position, result.response_due


COMMAND_PATHS = {
    "qualify": "qualify",
    "send": "send-to-platform",
    "respond": "platform-response",
    "escalate": "escalate",
    "resolve": "resolve",
    "erase": "erase-personal-data",
}


class HttpWorkflow(Workflow):
    def __init__(self, http: TestClient, clock: SettableClock) -> None:
        super().__init__(clock)
        self.http = http

    def _report(self, raw_platform: str, hint: Category | None) -> tuple[UUID, int]:
        body = report_body(
            platform=raw_platform,
            name=f"Société {len(self.records)}",
            occurred_on=(self.today() - timedelta(days=3)).isoformat(),
        )
        if hint is None:
            del body["category_hint"]
        else:
            body["category_hint"] = hint.value
        answer = self.http.post("/cases", json=body, headers=auth("reporter"))
        assert answer.status_code == 201, answer.text
        return UUID(answer.json()["id"]), answer.json()["position"]

    def _command(self, case_id: UUID, kind: str, args: dict[str, Any]) -> tuple[int, date | None]:
        body: dict[str, Any] = {
            "qualify": {
                "category": args["category"].value,
                "priority": args["priority"].value,
                "summary": "Summary",
            },
            "send": {"message": "Why?"},
            "respond": {"stance": args["stance"].value, "response": "Our policy"},
            "escalate": {"reason": args["reason"].value},
            "resolve": {"outcome": args["outcome"].value, "summary": "Done"},
            "erase": {"reason": "GDPR art. 17"},
        }[kind]
        if kind == "respond" and args["responded_on"] is not None:
            body["responded_on"] = args["responded_on"].isoformat()
        role = "dpo" if kind == "erase" else "caseworker"
        answer = self.http.post(
            f"/cases/{case_id}/{COMMAND_PATHS[kind]}", json=body, headers=auth(role)
        )
        if answer.status_code == 409:
            raise Refused
        assert answer.status_code == 200, answer.text
        result = answer.json()
        due = result.get("response_due")
        return result["position"], date.fromisoformat(due) if due else None


# Random workflows.

COMMANDS = ["qualify", "send", "respond", "escalate", "resolve"]
ONWARD: dict[Status, list[str]] = {
    Status.REPORTED: ["qualify", "qualify", "qualify", "resolve"],
    Status.QUALIFIED: ["send", "send", "send", "qualify", "resolve"],
    Status.AWAITING_PLATFORM: ["respond", "wait", "respond", "wait", "escalate", "resolve"],
    Status.PLATFORM_RESPONDED: ["send", "send", "escalate", "resolve", "resolve"],
    Status.WITH_MEDIATOR: ["resolve"],
    Status.RESOLVED: ["resolve"],  # refused: a resolved case is closed
}
"""A command that moves a case on, picked by its status, so that random workflows also reach
the end of the workflow ("wait": none, so that platforms also answer late, or never)."""

CASE = st.integers(min_value=0, max_value=7)
REPORT = st.tuples(
    st.just("report"),
    st.sampled_from(sorted(RAW_PLATFORMS)),
    st.sampled_from([None, *Category]),
)
ACT = st.tuples(
    st.just("act"),
    CASE,
    st.sampled_from([False] * 6 + [True]),  # free: any command, maybe refused
    st.integers(min_value=0, max_value=59),  # which command
    st.sampled_from(Category),
    st.sampled_from([Priority.NORMAL, Priority.URGENT, Priority.LOW, Priority.HIGH]),
    st.sampled_from(Stance),
    st.sampled_from([None, 0, 1, 2, 3, 5, 8, 13, 21, 34]),  # responded_on: today, or a day
    st.sampled_from(EscalationReason),
    st.integers(min_value=0, max_value=59),  # which outcome
)
ERASE = st.tuples(st.just("erase"), CASE)
STEPS = st.sampled_from(["act"] * 24 + ["report"] * 3 + ["erase"]).flatmap(
    lambda what: {"act": ACT, "report": REPORT, "erase": ERASE}[what]
)
PAUSES = st.sampled_from([0, 0, 1, 5, 11, 24, 24, 48, 4 * 24, 6 * 24, 16 * 24, 25 * 24])
"""Hours between two commands: often none, sometimes past a deadline."""

WORKFLOWS = st.builds(
    lambda reports, steps: reports + steps,
    st.lists(st.tuples(REPORT, PAUSES), min_size=2, max_size=5),
    st.lists(st.tuples(STEPS, PAUSES), min_size=40, max_size=100),
)

FIRST_INSTANT = datetime(2025, 12, 30, 20, 0, tzinfo=UTC)
"""Random workflows start two days before a new year, late in the (UTC) day."""


def play(flow: Workflow, step: tuple[Any, ...]) -> None:
    """A drawn step made a concrete command, from the case's recorded status."""
    if step[0] == "report":
        flow.report(step[1], step[2])
        return
    if not flow.records:
        return
    record = flow.records[step[1] % len(flow.records)]
    if step[0] == "erase":
        flow.act(record, "erase")
        return
    _, index, free, pick, category, priority, stance, offset, reason, outcome_pick = step
    if not free:  # move on a case that can still move (a closed one refuses everything)
        open_ = [
            r
            for r in flow.records[index % len(flow.records) :] + flow.records
            if r.status is not Status.RESOLVED and not r.erased
        ]
        record = open_[0] if open_ else record
    kinds = COMMANDS if free else ONWARD[record.status]
    kind = kinds[pick % len(kinds)]
    if kind == "wait":
        return
    allowed = PERMITTED[record.status].get("resolve") or frozenset(Outcome)
    outcomes = sorted(Outcome if free else allowed, key=lambda o: o.value)
    responded_on = None
    if offset is not None and record.sends:
        last_sent = record.sends[-1][0]
        span = (flow.today() - last_sent).days
        if span >= 0:
            responded_on = last_sent + timedelta(days=offset % (span + 1))
    flow.act(
        record,
        kind,
        category=category,
        priority=priority,
        stance=stance,
        responded_on=responded_on,
        reason=reason,
        outcome=outcomes[outcome_pick % len(outcomes)],
    )


# Stores and read models.


def fresh_folder(tmp_path: Path) -> Path:
    folder = tmp_path / uuid4().hex[:12]
    folder.mkdir()
    return folder


@contextmanager
def application_on(
    store: str, folder: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> Iterator[tuple[Settings, MediationApplication]]:
    """A fresh application on its own store (a new SQLite file, a new PostgreSQL schema)."""
    settings = settings_for(store, folder, request)
    app = open_application(settings, clock)
    try:
        yield settings, app
    finally:
        app.close()


@contextmanager
def scratch_statistics(
    store: str, app: MediationApplication, folder: Path
) -> Iterator[Callable[[], CaseStatistics]]:
    """A second, empty statistics store in the same kind of database; yields how to open it
    (again, as a restarted process would)."""
    if store == "memory":
        view = MemoryCaseStatistics()
        yield lambda: view
    elif store == "sqlite":
        datastore = SQLiteDatastore(str(folder / f"scratch-{uuid4().hex[:8]}.db"))
        try:
            yield lambda: SQLiteCaseStatistics(datastore)
        finally:
            datastore.close()
    else:
        prefix = f"scratch_{uuid4().hex[:8]}"
        datastore = app.recorder.datastore  # type: ignore[attr-defined]
        yield lambda: PostgresCaseStatistics(datastore, prefix=prefix)


EVERY_DUE_DATE = date.min  # as of this day no AWAITING counter is overdue: none is left out


def counter_rows(
    view: CaseStatistics, first: date | None = None, last: date | None = None
) -> tuple[list[tuple[str, str, int]], int]:
    """The non-zero counters of a period, comparable, and the position they reflect."""
    rows, position = view.counters(first, last, EVERY_DUE_DATE)
    return sorted(rows), position


def figures(
    view: CaseStatistics, first: date | None, last: date | None, as_of: date
) -> dict[str, Any]:
    """What GET /statistics answers, from the read model."""
    counters, _ = view.counters(first, last, as_of)
    return statistics(counters, as_of)


def truncated_log(log: EventLog, position: int) -> EventLog:
    def read(start: int, limit: int) -> list[tuple[int, Any]]:
        return [e for e in log.read(start, limit) if e[0] <= position]

    return EventLog(head=lambda: position, read=read)


def periods_of(records: list[Record]) -> list[tuple[date | None, date | None]]:
    days = sorted({r.reported_on for r in records})
    first, middle, last = days[0], days[len(days) // 2], days[-1]
    return [
        (None, None),
        (first, first),
        (middle, None),
        (None, middle),
        (middle + timedelta(days=1), last),
        (date(2026, 1, 1), date(2026, 12, 31)),
        (last + timedelta(days=1), None),  # nothing reported
    ]


def as_of_days(flow: Workflow) -> list[date]:
    dues = sorted(r.sends[0][1] for r in flow.records if r.sends)
    days = [FIRST_INSTANT.date(), flow.today(), flow.today() + timedelta(days=6)]
    days += [flow.today() + timedelta(days=20)]
    if dues:
        middle = dues[len(dues) // 2]
        days += [middle, middle + timedelta(days=1)]  # the due day is not yet past it
    return days


def check_against_reference(view: CaseStatistics, flow: Workflow) -> None:
    for first, last in periods_of(flow.records):
        for as_of in as_of_days(flow):
            counters, _ = view.counters(first, last, as_of)
            got = statistics(counters, as_of)
            expected = expected_statistics(flow.records, first, last, as_of)
            assert_same_figures(got, expected, f"from={first} to={last} as_of={as_of}")
    for year in {r.reported_on.year for r in flow.records} | {2024}:
        counters, _ = view.counters(date(year, 1, 1), date(year, 12, 31), date.max)
        assert_annual(annual(counters), flow.records, year)


# 1. The projection: event by event = from scratch = the reference.


@dataclass
class Reach:
    """What the generated workflows exercised, across examples."""

    seen: Counter[str] = field(default_factory=Counter)

    def note(self, flow: Workflow) -> None:
        for r in flow.records:
            self.seen[f"status:{r.status.value}"] += 1
            self.seen["requalified-or-hinted"] += bool(r.hint and r.category)
            self.seen["unqualified"] += r.shown_category == UNQUALIFIED
            self.seen["follow-up"] += len(r.sends) > 1
            self.seen["urgent"] += bool(r.sends and (r.sends[0][1] - r.sends[0][0]).days == 5)
            self.seen["late"] += bool(r.answers and not answered_on_time(r))
            self.seen["on-time"] += answered_on_time(r)
            self.seen["erased"] += r.erased
            self.seen["silent-unanswered"] += bool(r.sends and not r.answers)
            if r.escalated:
                self.seen[f"reason:{r.escalated[1]}"] += 1
            if r.resolved:
                self.seen[f"outcome:{r.resolved[1]}"] += 1
        self.seen["refused"] += flow.refused
        self.seen["years"] += len({r.reported_on.year for r in flow.records}) > 1


@pytest.mark.parametrize(
    ("store", "examples"),
    [("memory", 25), ("sqlite", 25), pytest.param("postgres", 8, marks=pytest.mark.postgres)],
)
def test_event_by_event_equals_from_scratch_and_the_reference(
    store: str, examples: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        require_postgres()

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        # The same examples on every run: CI cannot fail (or pass) by luck.
        derandomize=True,
    )
    @given(workflow=WORKFLOWS, batch=st.integers(min_value=1, max_value=9))
    def check(workflow: list[tuple[tuple[Any, ...], int]], batch: int) -> None:
        clock = SettableClock(FIRST_INSTANT)
        folder = fresh_folder(tmp_path)
        with application_on(store, folder, request, clock) as (_, app):
            runner = projection_runner(app)
            view = runner.projections[1].view
            assert isinstance(runner.projections[1], StatisticsProjection)
            flow = AppWorkflow(app, clock)
            for step, hours in [(("report", "Cdiscount", None), 0), *workflow]:
                clock.advance(timedelta(hours=hours))
                play(flow, step)
                runner.catch_up()  # event by event
                assert view.position() == app.log_position()
            reach.note(flow)
            incremental = counter_rows(view)
            assert incremental[1] == app.log_position()

            # From scratch, in one catch_up over the whole log, in another store.
            with scratch_statistics(store, app, folder) as open_scratch:
                scratch = open_scratch()
                ProjectionRunner(
                    app.event_log(), [StatisticsProjection(scratch)], batch=batch
                ).catch_up()
                assert counter_rows(scratch) == incremental
                check_against_reference(scratch, flow)

            # Rebuilt into the standby copy of the live store, then switched to.
            live = runner.projections[1]
            assert rebuild(live, app.event_log(), batch=batch) == app.log_position()
            assert counter_rows(view) == incremental
            check_against_reference(view, flow)

    reach = Reach()
    check()
    if examples >= 20:  # the generator's reach, checked where it has room
        wanted = [f"status:{s.value}" for s in Status]
        wanted += [f"reason:{r.value}" for r in EscalationReason]
        wanted += [f"outcome:{o.value}" for o in Outcome]
        wanted += ["follow-up", "urgent", "late", "on-time", "erased", "unqualified"]
        wanted += ["requalified-or-hinted", "silent-unanswered", "refused", "years"]
        missing = [w for w in wanted if not reach.seen[w]]
        assert not missing, f"the workflows never reached {missing}"


# 2. The contract of every CaseStatistics implementation.


WINDOW = (date(2025, 10, 1), date(2027, 3, 31))


@hypothesis_settings(max_examples=300, deadline=None, derandomize=True)
@given(
    first=st.none() | st.dates(*WINDOW),
    last=st.none() | st.dates(*WINDOW),
)
def test_the_buckets_read_for_a_period_hold_each_day_of_it_once(
    first: date | None, last: date | None
) -> None:
    ranges = covering(first, last)
    assert len(ranges) <= 3  # whole months and the days around them, never day by day
    day = WINDOW[0]
    while day <= WINDOW[1]:
        held = 0
        for bucket, low, high in ranges:
            if bucket == ALL:
                held += 1
            elif bucket == MONTH:
                assert low.day == high.day == 1
                held += low <= day.replace(day=1) <= high
            else:
                assert bucket == DAY_BUCKET
                held += low <= day <= high
        inside = (first is None or first <= day) and (last is None or day <= last)
        assert held == inside, f"{day} in {ranges}"
        day += timedelta(days=1)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stats_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: SettableClock
) -> Iterator[tuple[CaseStatistics, Callable[[], CaseStatistics]]]:
    """An empty statistics store, and how to open it again (memory: the same object)."""
    if request.param == "memory":
        view = MemoryCaseStatistics()
        yield view, lambda: view
        return
    with application_on(request.param, tmp_path, request, clock) as (_, app):
        view = case_statistics_for(app.recorder)
        expected = SQLiteCaseStatistics if request.param == "sqlite" else PostgresCaseStatistics
        assert isinstance(view, expected)
        yield view, lambda: case_statistics_for(app.recorder)


DAY = date(2026, 3, 2)


def line(n: int) -> str:
    return f"n{SEP}{n}"


def n_of(line: str) -> int:
    return int(line.split(SEP)[1])


def writing(
    facts: dict[UUID, CaseFacts],
    deltas: dict[tuple[str, date, str], int],
    seen: dict[str, Any] | None = None,
    asked: Iterable[UUID] = (),
) -> Callable[..., Any]:
    """A compute that notes what the store knew of `asked`, then writes facts and deltas."""

    def compute(known: Callable[[Iterable[UUID]], Any]) -> Any:
        if seen is not None:
            seen["known"] = dict(known(list(asked)))
            seen["calls"] = seen.get("calls", 0) + 1
        return facts, deltas

    return compute


def a_fact(**changes: Any) -> CaseFacts:
    return CaseFacts(platform="amazon", reported_on=DAY)._replace(**changes)


def stored_counters(view: CaseStatistics) -> int:
    """How many counter rows the store keeps, zeros included."""
    if isinstance(view, MemoryCaseStatistics):
        return sum(len(table["counters"]) for table in view.tables.values())
    if isinstance(view, SQLiteCaseStatistics):
        with view.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) AS n FROM {TABLES}_counters_a")
            return int(c.fetchone()["n"])
    assert isinstance(view, PostgresCaseStatistics)
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(SQL("SELECT COUNT(*) AS n FROM {t}").format(t=view.table("counters", "a")))
        return int(curs.fetchone()["n"])


def rows_of(view: CaseStatistics, first: date | None = None, last: date | None = None) -> Any:
    return counter_rows(view, first, last)


class TestCaseStatisticsContract:
    """What every implementation of CaseStatistics answers, the same way."""

    def test_an_empty_store_is_at_position_zero(self, stats_store: Any) -> None:
        view, _ = stats_store
        assert view.position() == 0
        assert view.counters(None, None, DAY) == ([], 0)
        assert view.name == "case_statistics"

    def test_apply_writes_facts_and_counters_and_records_the_position(
        self, stats_store: Any
    ) -> None:
        view, reopen = stats_store
        case, other = uuid4(), uuid4()
        fact = a_fact(
            category="ranking",
            status="platform_responded",
            first_sent_on=DAY,
            first_due=DAY + timedelta(days=15),
            first_responded_on=DAY + timedelta(days=3),
        )
        deltas = {("cube", DAY, line(1)): 2, ("days", DAY, line(2)): 1}
        assert view.apply(4, writing({case: fact}, deltas)) is True
        assert view.position() == 4
        assert rows_of(view) == ([("cube", line(1), 2), ("days", line(2), 1)], 4)

        # The facts come back as they were written, from a store opened again.
        seen: dict[str, Any] = {}
        again = reopen()
        assert again.apply(5, writing({}, {}, seen, [case, other])) is True
        assert seen["known"] == {case: fact}
        assert again.position() == 5
        assert rows_of(again) == ([("cube", line(1), 2), ("days", line(2), 1)], 5)

    def test_deltas_add_up_and_a_count_back_at_zero_is_not_listed(self, stats_store: Any) -> None:
        view, _ = stats_store
        key = ("cube", DAY, line(1))
        assert view.apply(1, writing({}, {key: 1}))
        assert view.apply(2, writing({}, {key: 2, ("cube", DAY, line(3)): 1}))
        assert rows_of(view)[0] == [("cube", line(1), 3), ("cube", line(3), 1)]
        assert view.apply(3, writing({}, {key: -3}))
        assert rows_of(view) == ([("cube", line(3), 1)], 3)

    def test_a_fact_written_again_replaces_the_first(self, stats_store: Any) -> None:
        view, _ = stats_store
        case = uuid4()
        assert view.apply(1, writing({case: a_fact()}, {}))
        later = a_fact(status="resolved", resolved_on=DAY + timedelta(days=9), outcome="withdrawn")
        assert view.apply(2, writing({case: later}, {}))
        seen: dict[str, Any] = {}
        assert view.apply(3, writing({}, {}, seen, [case]))
        assert seen["known"] == {case: later}

    def test_apply_refuses_a_position_already_reached_and_changes_nothing(
        self, stats_store: Any
    ) -> None:
        view, reopen = stats_store
        case = uuid4()
        assert view.apply(5, writing({case: a_fact()}, {("cube", DAY, line(1)): 1}))
        before = rows_of(view)
        for position in (5, 4, 1):
            seen: dict[str, Any] = {}
            moved = {case: a_fact(status="qualified", category="ranking")}
            assert view.apply(position, writing(moved, {("cube", DAY, line(9)): 1}, seen)) is False
            assert "calls" not in seen  # nothing computed from a position already reached
        assert view.position() == 5
        assert rows_of(view) == before
        assert rows_of(reopen()) == before
        seen = {}
        assert view.apply(6, writing({}, {}, seen, [case]))
        assert seen["known"] == {case: a_fact()}  # the refused batches wrote no fact

    def test_the_first_day_reported_is_the_earliest_day_a_case_is_counted_on(
        self, stats_store: Any
    ) -> None:
        view, reopen = stats_store
        assert view.first_reported_on() is None
        case = Kind.PLATFORM_CATEGORY.value
        later, earlier = DAY + timedelta(days=40), DAY - timedelta(days=3)
        assert view.apply(1, writing({}, {(case, later, f"amazon{SEP}delisting"): 1}))
        assert view.first_reported_on() == later
        # Every case is counted by platform and category: other counters do not say a day.
        assert view.apply(2, writing({}, {(Kind.PLATFORM_STATUS.value, earlier, "x"): 1}))
        assert view.first_reported_on() == later
        assert view.apply(3, writing({}, {(case, earlier, f"ebay{SEP}ranking"): 1}))
        assert view.first_reported_on() == earlier
        assert reopen().first_reported_on() == earlier
        assert view.apply(4, writing({}, {(case, earlier, f"ebay{SEP}ranking"): -1}))
        assert view.first_reported_on() == later

    def test_counters_are_filtered_by_the_day_reported_inclusive(self, stats_store: Any) -> None:
        view, _ = stats_store
        days = [DAY - timedelta(days=1), DAY, DAY + timedelta(days=1), DAY + timedelta(days=40)]
        deltas = {("cube", d, line(i)): i + 1 for i, d in enumerate(days)}
        deltas[("days", DAY, line(7))] = 1
        assert view.apply(3, writing({}, deltas))

        def ns(first: date | None, last: date | None) -> list[int]:
            rows, position = view.counters(first, last, DAY)
            assert position == 3
            return sorted(n_of(line_) for _, line_, _ in rows)

        assert ns(None, None) == [0, 1, 2, 3, 7]
        assert ns(DAY, DAY) == [1, 7]
        assert ns(DAY, None) == [1, 2, 3, 7]
        assert ns(None, DAY) == [0, 1, 7]
        assert ns(DAY + timedelta(days=1), DAY + timedelta(days=40)) == [2, 3]
        assert ns(DAY + timedelta(days=2), DAY + timedelta(days=39)) == []
        assert ns(date(2000, 1, 1), date(2100, 12, 31)) == [0, 1, 2, 3, 7]
        rows, _ = view.counters(DAY - timedelta(days=1), DAY - timedelta(days=1), DAY)
        assert rows == [("cube", line(0), 1)]

    @hypothesis_settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        deltas=st.lists(
            st.tuples(
                st.dates(date(2025, 11, 1), date(2027, 2, 28)),
                st.integers(0, 3),
                st.integers(-2, 3),
            ),
            max_size=12,
        ),
        period=st.tuples(
            st.none() | st.dates(date(2025, 10, 1), date(2027, 3, 31)),
            st.none() | st.dates(date(2025, 10, 1), date(2027, 3, 31)),
        ),
    )
    def test_any_period_adds_up_the_days_in_it_once(
        self,
        stats_store: Any,
        deltas: list[tuple[date, int, int]],
        period: tuple[date | None, date | None],
    ) -> None:
        view, _ = stats_store
        first, last = period
        moved: Counter[tuple[str, date, str]] = Counter()
        for day, n, delta in deltas:
            moved[("cube", day, line(n))] += delta
        before = view.position()
        assert view.apply(before + 1, writing({}, {k: v for k, v in moved.items() if v}))
        self.applied.update({k: v for k, v in moved.items() if v})
        expected: Counter[tuple[str, str]] = Counter()
        for (kind, day, line_), count in self.applied.items():
            if (first is None or first <= day) and (last is None or day <= last):
                expected[(kind, line_)] += count
        rows, _ = view.counters(first, last, DAY)
        assert sorted(rows) == sorted((k, ln, n) for (k, ln), n in expected.items() if n)

    @pytest.fixture(autouse=True)
    def _applied(self) -> None:
        self.applied: Counter[tuple[str, date, str]] = Counter()

    def test_awaiting_counters_are_read_only_until_their_due_date_is_past(
        self, stats_store: Any
    ) -> None:
        view, _ = stats_store
        dues = [DAY + timedelta(days=1), DAY + timedelta(days=5)]
        deltas = {(Kind.AWAITING.value, DAY, f"{due.isoformat()}{SEP}amazon"): 1 for due in dues}
        deltas[("cube", DAY, line(1))] = 1
        assert view.apply(1, writing({}, deltas))

        def awaiting(as_of: date) -> list[str]:
            rows, _ = view.counters(None, None, as_of)
            assert ("cube", line(1), 1) in rows  # other kinds whatever the day
            return sorted(ln.split(SEP)[0] for kind, ln, _ in rows if kind == Kind.AWAITING)

        assert awaiting(DAY) == [d.isoformat() for d in dues]
        assert awaiting(dues[0]) == [d.isoformat() for d in dues]  # the due day is not past
        assert awaiting(dues[0] + timedelta(days=1)) == [dues[1].isoformat()]
        assert awaiting(dues[1] + timedelta(days=1)) == []

    def test_a_counter_back_at_zero_is_not_kept(self, stats_store: Any) -> None:
        view, _ = stats_store
        assert view.apply(1, writing({}, {("cube", DAY, line(1)): 2, ("cube", DAY, line(2)): 1}))
        assert stored_counters(view) == 6  # each in its day, month and all-time bucket
        assert view.apply(2, writing({}, {("cube", DAY, line(1)): -2}))
        assert stored_counters(view) == 3

    def test_a_standby_copy_is_built_beside_the_live_one_then_switched_to(
        self, stats_store: Any
    ) -> None:
        view, reopen = stats_store
        case = uuid4()
        assert view.apply(3, writing({case: a_fact()}, {("cube", DAY, line(1)): 1}))
        live_before = rows_of(view)

        standby = view.standby()
        assert standby.position() == 0
        assert standby.counters(None, None, DAY) == ([], 0)
        seen: dict[str, Any] = {}
        assert standby.apply(2, writing({}, {("cube", DAY, line(2)): 5}, seen, [case]))
        assert seen["known"] == {}  # the standby copy starts empty
        # The live copy answers as before while the standby one is built.
        assert rows_of(view) == live_before
        assert view.switch_to(standby) is False  # behind the live copy: not switched
        assert rows_of(view) == live_before

        # An interrupted rebuild resumes: the standby asked for again is the same copy.
        resumed = reopen().standby()
        assert rows_of(resumed) == ([("cube", line(2), 5)], 2)
        assert resumed.apply(3, writing({}, {("cube", DAY, line(3)): 1}))
        assert view.switch_to(resumed) is True
        assert view.position() == 3
        assert rows_of(view) == ([("cube", line(2), 5), ("cube", line(3), 1)], 3)
        assert rows_of(reopen()) == rows_of(view)
        # The live store goes on from the switched copy.
        assert view.apply(4, writing({}, {("cube", DAY, line(2)): -5}))
        assert rows_of(view) == ([("cube", line(3), 1)], 4)

        # The next standby is empty: the copy that answered before was cleared.
        again = view.standby()
        assert again.position() == 0
        assert again.counters(None, None, DAY) == ([], 0)
        seen = {}
        assert again.apply(1, writing({}, {}, seen, [case]))
        assert seen["known"] == {}
        assert rows_of(view) == ([("cube", line(3), 1)], 4)

    def test_switching_to_a_standby_that_caught_up_past_the_live_copy(
        self, stats_store: Any
    ) -> None:
        view, _ = stats_store
        assert view.apply(2, writing({}, {("cube", DAY, line(1)): 1}))
        standby = view.standby()
        assert standby.apply(7, writing({}, {("cube", DAY, line(4)): 2}))
        assert view.switch_to(standby) is True
        assert rows_of(view) == ([("cube", line(4), 2)], 7)
        assert view.apply(7, writing({}, {("cube", DAY, line(5)): 1})) is False
        assert view.apply(8, writing({}, {("cube", DAY, line(5)): 1})) is True


# 3. Exactly once.


def run_scenario(flow: Workflow) -> dict[str, Record]:
    """A fixed workflow touching every figure: several platforms and categories, urgent and
    standard rounds, answers on time, late, backdated and never, follow-up rounds, every
    escalation reason, outcomes, a requalification and a refused command."""
    clock = flow.clock
    hours = clock.advance
    c: dict[str, Record] = {}
    c["a"] = flow.report("Amazon Marketplace", Category.DELISTING)
    c["b"] = flow.report("amazon.fr", None)
    c["c"] = flow.report("Cdiscount", Category.FUNDS_WITHHELD)
    c["d"] = flow.report("eBay", None)
    c["e"] = flow.report("Fnac", Category.RANKING)
    c["f"] = flow.report("Cdiscount", None)
    c["g"] = flow.report("Amazon Marketplace", None)
    hours(timedelta(hours=1))
    flow.act(c["a"], "qualify", category=Category.DELISTING, priority=Priority.NORMAL)
    flow.act(c["b"], "qualify", category=Category.ACCOUNT_SUSPENSION, priority=Priority.URGENT)
    flow.act(c["c"], "qualify", category=Category.FUNDS_WITHHELD, priority=Priority.HIGH)
    flow.act(c["d"], "qualify", category=Category.RANKING, priority=Priority.NORMAL)
    flow.act(c["e"], "qualify", category=Category.OTHER, priority=Priority.URGENT)
    flow.act(c["b"], "qualify", category=Category.TERMS_CHANGE, priority=Priority.URGENT)
    hours(timedelta(days=1))  # day 1
    for name in "abcde":
        flow.act(c[name], "send")
    hours(timedelta(days=3))  # day 4
    day = flow.today()
    flow.act(c["a"], "respond", stance=Stance.ACCEPTED, responded_on=day - timedelta(days=2))
    flow.act(c["b"], "respond", stance=Stance.REFUSED)
    assert not flow.act(c["f"], "escalate", reason=EscalationReason.COMPLEXITY)  # refused
    hours(timedelta(days=10))  # day 14
    flow.act(c["c"], "respond", stance=Stance.PARTIALLY_ACCEPTED)
    flow.act(c["e"], "escalate", reason=EscalationReason.NO_RESPONSE)
    flow.act(c["a"], "send")  # a follow-up round
    hours(timedelta(days=5))  # day 19
    flow.act(c["a"], "respond", stance=Stance.INFORMATION_REQUESTED)
    flow.act(c["a"], "resolve", outcome=Outcome.RESOLVED)
    flow.act(c["b"], "escalate", reason=EscalationReason.UNSATISFACTORY_RESPONSE)
    flow.act(c["f"], "resolve", outcome=Outcome.WITHDRAWN)
    hours(timedelta(days=2))  # day 21
    flow.act(c["b"], "resolve", outcome=Outcome.PARTIALLY_RESOLVED)
    flow.act(c["e"], "resolve", outcome=Outcome.NOT_RESOLVED)
    flow.act(c["c"], "escalate", reason=EscalationReason.COMPLEXITY)
    hours(timedelta(days=9))  # day 30
    day = flow.today()
    flow.act(c["d"], "respond", stance=Stance.REFUSED, responded_on=day - timedelta(days=10))
    flow.act(c["d"], "escalate", reason=EscalationReason.BUSINESS_REQUEST)
    c["h"] = flow.report("eBay", Category.COUNTERFEIT_IP)
    flow.act(c["h"], "resolve", outcome=Outcome.INADMISSIBLE)
    hours(timedelta(days=1))  # day 31
    c["i"] = flow.report("Fnac", None)
    flow.act(c["i"], "qualify", category=Category.DATA_ACCESS, priority=Priority.NORMAL)
    flow.act(c["i"], "send")
    return c


class FaultyDatastore:
    """A datastore whose committing transactions fail after their last statement, before the
    commit, when armed: whatever apply wrote must be rolled back with it."""

    def __init__(self, datastore: Any, armed: Callable[[], bool]) -> None:
        self._datastore, self._armed = datastore, armed

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        with self._datastore.transaction(commit=commit) as cursor:
            yield cursor
            if commit and self._armed():
                raise Injected("after the rows and the position were written, before the commit")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)


class Faults:
    """Counts the applies a fault can hit, across restarts, and fails the chosen ones."""

    def __init__(self, kind: str, failing: set[int]) -> None:
        self.kind, self.failing = kind, failing
        self.calls = 0
        self.fired = 0
        self.armed = False

    def hit(self) -> bool:
        self.calls += 1
        if self.calls in self.failing:
            self.fired += 1
            return True
        return False


class FaultyView:
    """A statistics store (the real one underneath) that fails where the test says, and checks
    that a failed apply left the store as it was; notes every position it committed."""

    def __init__(self, view: CaseStatistics, faults: Faults, committed: list[int]) -> None:
        self.view, self.faults, self.committed = view, faults, committed
        self.name = view.name

    def position(self) -> int:
        return self.view.position()

    def apply(self, position: int, compute: Callable[..., Any]) -> bool:
        faults = self.faults
        before = counter_rows(self.view)

        def failing_compute(known: Any) -> Any:
            result = compute(known)  # the facts were read
            if faults.kind == "in-compute" and faults.hit():
                raise Injected("inside compute, after reading the facts")
            return result

        faults.armed = faults.kind == "mid-transaction" and faults.hit()
        try:
            done = self.view.apply(position, failing_compute)
        except Injected:
            assert counter_rows(self.view) == before, "a failed apply changed the store"
            raise
        finally:
            faults.armed = False
        if done:
            self.committed.append(position)
        if faults.kind == "after-commit" and faults.hit():
            raise Injected("after the commit, before the runner went on")
        return done


FAULTS = ["in-compute", "mid-transaction", "after-commit"]


@pytest.mark.parametrize(
    ("store", "kind"),
    [
        pytest.param(store, kind, marks=[pytest.mark.postgres] if store == "postgres" else [])
        for store in ("memory", "sqlite", "postgres")
        for kind in FAULTS
        if not (store == "memory" and kind == "mid-transaction")  # memory has no transaction
    ],
)
def test_an_interrupted_projection_resumes_to_the_same_figures_exactly_once(
    store: str, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        require_postgres()
    clock = SettableClock(START)
    with application_on(store, fresh_folder(tmp_path), request, clock) as (_, app):
        flow = AppWorkflow(app, clock)
        run_scenario(flow)
        calm = projection_runner(app)
        calm.catch_up()  # the uninterrupted run
        calm_view = calm.projections[1].view
        expected = counter_rows(calm_view)
        assert expected[1] == app.log_position()
        check_against_reference(calm_view, flow)
        log = app.event_log()

        @hypothesis_settings(
            max_examples=6 if store == "postgres" else 15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            derandomize=True,
        )
        @given(
            failing=st.sets(st.integers(min_value=1, max_value=25), min_size=1, max_size=6),
            batch=st.integers(min_value=1, max_value=7),
        )
        def interrupted(failing: set[int], batch: int) -> None:
            faults = Faults(kind, failing)
            committed: list[int] = []
            with scratch_statistics(store, app, fresh_folder(tmp_path)) as open_view:

                def restart() -> FaultyView:
                    view = open_view()
                    if kind == "mid-transaction":
                        view.datastore = FaultyDatastore(  # type: ignore[attr-defined]
                            view.datastore,  # type: ignore[attr-defined]
                            lambda: faults.armed,
                        )
                    return FaultyView(view, faults, committed)

                failures = 0
                for _ in range(100):
                    projection = StatisticsProjection(restart())  # type: ignore[arg-type]
                    runner = ProjectionRunner(log, [projection], batch=batch)
                    try:
                        runner.catch_up()
                        break
                    except Injected:
                        failures += 1
                        assert runner.errors
                        # Nothing half applied: the store holds exactly the events up to its
                        # position.
                        reopened = open_view()
                        reached = reopened.position()
                        model = MemoryCaseStatistics()
                        ProjectionRunner(
                            truncated_log(log, reached), [StatisticsProjection(model)]
                        ).catch_up()
                        assert counter_rows(reopened)[0] == counter_rows(model)[0]
                else:
                    raise AssertionError("the projection never finished")
                assert failures == faults.fired
                fired.append(failures)
                view = open_view()
                assert counter_rows(view) == expected
                check_against_reference(view, flow)
                # Every batch committed once, at increasing positions, up to the log's head.
                assert committed == sorted(set(committed))
                assert committed[-1] == app.log_position()

        fired: list[int] = []
        interrupted()
        assert sum(fired) > 0, "no fault was ever injected"


def test_a_batch_another_runner_already_committed_is_refused_as_a_whole(
    durable_settings: Settings, clock: SettableClock
) -> None:
    """Two runners (two processes) on one store: no event is counted twice."""
    app = open_application(durable_settings, clock)
    try:
        flow = AppWorkflow(app, clock)
        run_scenario(flow)
        first = ProjectionRunner(
            app.event_log(), [StatisticsProjection(case_statistics_for(app.recorder))], batch=4
        )
        stale = app.event_log().read(1, 4)  # what the second read before the first committed
        first.catch_up()
        view = case_statistics_for(app.recorder)
        before = counter_rows(view)
        second = StatisticsProjection(case_statistics_for(app.recorder))
        second.apply(stale)
        assert counter_rows(view) == before
        assert ProjectionRunner(app.event_log(), [second]).catch_up() == 0
        check_against_reference(view, flow)
    finally:
        app.close()


# 4. Erasure.


def test_erasure_changes_no_figure(mediation: MediationApplication, clock: SettableClock) -> None:
    runner = projection_runner(mediation)
    view = runner.projections[1].view
    flow = AppWorkflow(mediation, clock)
    cases = run_scenario(flow)
    runner.catch_up()
    days = as_of_days(flow)
    periods = periods_of(flow.records)
    before = {(p, d): figures(view, *p, d) for p in periods for d in days}
    years = {y: annual(view.counters(date(y, 1, 1), date(y, 12, 31), date.max)[0]) for y in (2026,)}
    for name in "abcdefghi":  # every status, open and closed
        clock.advance(timedelta(hours=1))
        assert flow.act(cases[name], "erase")
        runner.catch_up()
        assert view.position() == flow.position
    assert {(p, d): figures(view, *p, d) for p in periods for d in days} == before
    assert {
        y: annual(view.counters(date(y, 1, 1), date(y, 12, 31), date.max)[0]) for y in years
    } == years
    check_against_reference(view, flow)


def test_after_an_upgrade_the_counters_are_built_again_from_the_log(
    durable_settings: Settings, clock: SettableClock
) -> None:
    """A database kept by the format before (its state at the log's head, under the old
    name) does not lend the new counters its position: they start at 0 and are built from
    the log, and answer as the reference does."""
    mediation = open_application(durable_settings, clock)
    try:
        flow = AppWorkflow(mediation, clock)
        run_scenario(flow)
        runner = projection_runner(mediation)
        view = runner.view(CaseStatistics.name)
        with view.datastore.transaction(commit=True) as c:  # what format 1 left behind
            view.state.claim(c, "case_statistics", None)
            view.state.record(c, "case_statistics", mediation.log_position())
        assert view.position() == 0
        runner.catch_up()
        assert view.position() == mediation.log_position()
        check_against_reference(view, flow)
    finally:
        mediation.close()


# 5. HTTP.

ENDPOINTS = [
    "/statistics",
    "/statistics/platforms/amazon",
    "/statistics/annual/2026",
    "/statistics/export.csv",
]
ENTRY_FIELDS = {
    "platform",
    "cases",
    "by_category",
    "by_status",
    "sent",
    "answered",
    "answered_on_time",
    "silent",
    "escalated",
    "outcomes",
    "answer_rate",
    "on_time_rate",
    "silence_rate",
    "escalation_rate",
    "median_days_to_first_answer",
    "p90_days_to_first_answer",
    "median_days_to_resolution",
}
RATES = ("answer_rate", "on_time_rate", "silence_rate", "escalation_rate")
OUTCOME_KEYS = [o.value for o in Outcome]


def get_json(http: TestClient, path: str, role: str = "analyst", **params: Any) -> dict[str, Any]:
    answer = http.get(path, params=params, headers=auth(role))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert isinstance(body["position"], int)
    if "min_position" in params:
        assert body["position"] >= params["min_position"]
    return body


def check_shape(body: dict[str, Any]) -> None:
    """GET /statistics as API.md lists it."""
    assert set(body) == {"position", "as_of", "totals", "platforms", "categories", "mediation"}
    date.fromisoformat(body["as_of"])
    assert set(body["totals"]) == {"reported", "by_status"}
    assert set(body["mediation"]) == {"escalated", "by_reason", "outcomes", "median_days"}
    for entry in body["platforms"]:
        check_entry(entry)
    for entry in body["categories"]:
        assert set(entry) == {
            "category",
            "cases",
            "by_platform",
            "outcomes",
            "median_days_to_resolution",
        }


def check_entry(entry: dict[str, Any]) -> None:
    assert set(entry) == ENTRY_FIELDS, entry
    for name in ("cases", "sent", "answered", "answered_on_time", "silent", "escalated"):
        assert type(entry[name]) is int, name
    for name in RATES:
        assert set(entry[name]) == {"numerator", "denominator", "value"}
        assert entry[name]["denominator"] == entry["sent"]


def statistics_body(http: TestClient, **params: Any) -> dict[str, Any]:
    body = get_json(http, "/statistics", **params)
    check_shape(body)
    return body


def without_position(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "position"}


@pytest.mark.parametrize("role", ["caseworker", "auditor", "analyst"])
def test_caseworkers_auditors_and_analysts_read_the_statistics(http: TestClient, role: str) -> None:
    flow = HttpWorkflow(http, SettableClock(START))
    flow.report("amazon.fr", None)
    for path in ENDPOINTS:
        answer = http.get(path, params={"min_position": flow.position}, headers=auth(role))
        assert answer.status_code == 200, (path, answer.text)


@pytest.mark.parametrize("role", ["reporter", "dpo"])
def test_reporters_and_dpos_may_not_read_the_statistics(http: TestClient, role: str) -> None:
    for path in [*ENDPOINTS, "/statistics/platforms/unknown"]:
        assert_problem(http.get(path, headers=auth(role)), 403)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-known-token"}, {"Authorization": "Basic abc"}],
)
def test_the_statistics_need_a_known_token(http: TestClient, headers: dict[str, str]) -> None:
    for path in ENDPOINTS:
        assert_problem(http.get(path, headers=headers), 401)


def test_min_position_gives_figures_that_reflect_a_command(
    http: TestClient, clock: SettableClock
) -> None:
    empty = statistics_body(http)
    assert empty["totals"]["reported"] == 0
    assert empty["platforms"] == []
    assert empty["as_of"] == TODAY.isoformat()  # default: the service's today

    flow = HttpWorkflow(http, clock)
    case = flow.report("Amazon Marketplace", Category.DELISTING)
    body = statistics_body(http, min_position=flow.position)
    assert body["totals"]["reported"] == 1
    (entry,) = body["platforms"]
    assert (entry["platform"], entry["cases"], entry["by_category"]) == (
        "amazon",
        1,
        {"delisting": 1},
    )

    flow.act(case, "qualify", category=Category.RANKING, priority=Priority.URGENT)
    body = statistics_body(http, min_position=flow.position)
    assert canonical(body["platforms"][0]["by_category"], "by_category") == {"ranking": 1}
    assert [c["category"] for c in body["categories"]] == ["ranking"]

    clock.advance(timedelta(days=1))
    flow.act(case, "send")
    due = case.sends[0][1]
    assert due == TODAY + timedelta(days=6)  # sent a day later, urgent: 5 days
    entry = get_json(http, "/statistics/platforms/amazon", min_position=flow.position)
    assert entry["sent"] == 1
    assert entry["silent"] == 0
    # as_of decides what is silent: past the due date, not on it.
    for as_of, silent in ((due, 0), (due + timedelta(days=1), 1)):
        entry = get_json(http, "/statistics/platforms/amazon", as_of=as_of.isoformat())
        assert entry["silent"] == silent, as_of
        assert entry["silence_rate"] == {"numerator": silent, "denominator": 1, "value": silent}
    # And by default it is the service's today.
    clock.set(datetime.combine(due + timedelta(days=1), datetime.min.time(), UTC))
    entry = get_json(http, "/statistics/platforms/amazon")
    assert entry["silent"] == 1
    assert entry["as_of"] == (due + timedelta(days=1)).isoformat()

    flow.act(case, "respond", stance=Stance.REFUSED, responded_on=due)
    entry = get_json(http, "/statistics/platforms/amazon", min_position=flow.position)
    assert (entry["answered"], entry["answered_on_time"], entry["silent"]) == (1, 1, 0)
    assert entry["median_days_to_first_answer"] == 5
    annual_body = get_json(http, "/statistics/annual/2026", min_position=flow.position)
    assert annual_body["platforms"][0]["cases"] == 1
    export = http.get(
        "/statistics/export.csv", params={"min_position": flow.position}, headers=auth("analyst")
    )
    assert export.status_code == 200
    assert int(export.headers["X-Position"]) >= flow.position


def test_the_figures_over_http_are_those_of_the_reference(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    cases = run_scenario(flow)
    first_day = cases["a"].reported_on
    body = statistics_body(http, min_position=flow.position)
    assert body["position"] >= flow.position
    assert_same_figures(
        without_position(body),
        published(expected_statistics(flow.records, None, None, flow.today())),
        "GET",
    )
    # A few figures worked out by hand, so the reference cannot be wrong the same way.
    by_platform = {e["platform"]: e for e in body["platforms"]}
    amazon = by_platform["amazon"]
    assert (amazon["cases"], amazon["sent"], amazon["answered"]) == (3, 2, 2)
    assert amazon["answered_on_time"] == 2  # a on day 2 (due 16), b on day 4 (due 6)
    assert amazon["median_days_to_first_answer"] == 2  # a: 1 day, b: 3 days
    assert amazon["p90_days_to_first_answer"] == pytest.approx(2.8)
    assert amazon["escalation_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert canonical(amazon["by_category"], "by_category") == {
        "delisting": 1,
        "terms_change": 1,
        "unqualified": 1,
    }
    assert amazon["median_days_to_resolution"] == 20  # a: 19 days, b: 21 days
    ebay = by_platform["ebay"]
    assert (ebay["answered"], ebay["answered_on_time"], ebay["silent"]) == (1, 0, 0)
    assert ebay["median_days_to_first_answer"] == 19  # sent day 1, answered on day 20
    assert by_platform["fnac_darty"]["silent"] == 1  # e: escalated for no_response
    assert body["mediation"]["escalated"] == 4
    assert body["mediation"]["median_days"] == pytest.approx(4.5)  # b: 2 days, e: 7 days
    cdiscount = by_platform["cdiscount"]
    assert canonical(cdiscount["outcomes"], "outcomes") == {"withdrawn": 1}

    # Periods (inclusive, on the day reported) and as_of.
    later = first_day + timedelta(days=30)
    for params in (
        {"from": first_day.isoformat(), "to": first_day.isoformat()},
        {"from": later.isoformat()},
        {"to": later.isoformat()},
        {"from": (later + timedelta(days=1)).isoformat(), "as_of": "2026-03-20"},
        {"from": "2027-01-01"},
        {"as_of": (first_day + timedelta(days=17)).isoformat()},
    ):
        got = statistics_body(http, **params)
        first = date.fromisoformat(params["from"]) if "from" in params else None
        last = date.fromisoformat(params["to"]) if "to" in params else None
        as_of = date.fromisoformat(params.get("as_of", flow.today().isoformat()))
        expected = published(expected_statistics(flow.records, first, last, as_of))
        assert_same_figures(without_position(got), expected, params)
        for entry in expected["platforms"]:
            one = get_json(http, f"/statistics/platforms/{entry['platform']}", **params)
            assert one["as_of"] == as_of.isoformat()
            check_entry({k: v for k, v in one.items() if k not in ("position", "as_of")})
            assert_same_figures(
                {k: v for k, v in one.items() if k not in ("position", "as_of")}, entry, params
            )

    annual_body = get_json(http, "/statistics/annual/2026")
    assert set(annual_body) == {"position", "year", "platforms"}
    assert annual_body["year"] == 2026
    assert_annual(annual_body["platforms"], flow.records, 2026, as_published=True)
    assert get_json(http, "/statistics/annual/2025")["platforms"] == []


def test_erasure_over_http_changes_no_figure(http: TestClient, clock: SettableClock) -> None:
    flow = HttpWorkflow(http, clock)
    cases = run_scenario(flow)
    params = [{}, {"as_of": "2026-03-10"}, {"from": TODAY.isoformat(), "to": TODAY.isoformat()}]
    before = [
        without_position(statistics_body(http, min_position=flow.position, **p)) for p in params
    ]
    annual_before = without_position(get_json(http, "/statistics/annual/2026"))
    csv_before = http.get("/statistics/export.csv", headers=auth("analyst")).text
    for name in "abcdefghi":
        assert flow.act(cases[name], "erase")
    after = [
        without_position(statistics_body(http, min_position=flow.position, **p)) for p in params
    ]
    assert after == before
    assert without_position(get_json(http, "/statistics/annual/2026")) == annual_before
    assert http.get("/statistics/export.csv", headers=auth("analyst")).text == csv_before
    assert get_json(http, "/statistics")["position"] >= flow.position


@pytest.fixture
def impatient_http(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> Iterator[TestClient]:
    """The real app, its read models standing still (no projections run in it), waiting only
    0.2 s for them."""
    settings = settings_for(
        durable_store, tmp_path, request, read_model_wait_seconds=0.2, run_projections=False
    )
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as client:
        yield client


def test_a_min_position_not_reached_in_time_answers_503_with_retry_after(
    impatient_http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(impatient_http, clock)
    flow.report("eBay", None)
    paths = [*ENDPOINTS[:1], *ENDPOINTS[2:], "/statistics/platforms/ebay"]
    for path in paths:
        answer = impatient_http.get(
            path, params={"min_position": flow.position}, headers=auth("analyst")
        )
        body = assert_problem(answer, 503)
        assert body["type"].endswith("/problems/read-model-behind")
        assert int(answer.headers["Retry-After"]) >= 1
    # Once the read models have caught up, the same reads answer.
    impatient_http.app.state.runner.catch_up()  # type: ignore[attr-defined]
    for path in paths:
        reached = impatient_http.get(
            path, params={"min_position": flow.position}, headers=auth("analyst")
        )
        assert reached.status_code == 200, (path, reached.text)


def test_a_min_position_beyond_the_log_is_a_422_naming_the_head(
    impatient_http: TestClient, clock: SettableClock
) -> None:
    """No event has that position yet: nothing to wait for (a wait would end in a 503)."""
    flow = HttpWorkflow(impatient_http, clock)
    flow.report("eBay", None)
    for path in ENDPOINTS:
        answer = impatient_http.get(
            path, params={"min_position": flow.position + 1}, headers=auth("analyst")
        )
        body = assert_problem(answer, 422)
        assert body["type"].endswith("/problems/invalid-request")
        assert body["errors"] == [
            {"field": "min_position", "in": "query", "message": body["detail"]}
        ]
        assert f"head ({flow.position})" in body["detail"]


def test_an_unknown_platform_is_a_404_problem(http: TestClient) -> None:
    flow = HttpWorkflow(http, SettableClock(START))
    flow.report("eBay", None)
    get_json(http, "/statistics/platforms/ebay", min_position=flow.position)
    for platform in ("amazon", "no-such-platform"):
        answer = http.get(f"/statistics/platforms/{platform}", headers=auth("analyst"))
        body = assert_problem(answer, 404)
        assert body["type"].endswith("/problems/not-found")
    # A platform with no case in the period is unknown there too.
    answer = http.get(
        "/statistics/platforms/ebay", params={"from": "2027-01-01"}, headers=auth("analyst")
    )
    assert_problem(answer, 404)


def test_the_annual_figures_have_the_shape_of_art_11(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    run_scenario(flow)
    body = get_json(http, "/statistics/annual/2026", min_position=flow.position)
    assert set(body) == {"position", "year", "platforms"}
    assert body["year"] == 2026
    assert [e["platform"] for e in body["platforms"]] != []
    for entry in body["platforms"]:
        assert set(entry) == {
            "platform",
            "cases",
            "main_categories",
            "average_days_to_resolution",
            "outcomes",
        }
        assert 1 <= len(entry["main_categories"]) <= 3
        for main in entry["main_categories"]:
            assert set(main) == {"category", "cases"}
        counts = [m["cases"] for m in entry["main_categories"]]
        assert counts == sorted(counts, reverse=True)
    by_platform = {e["platform"]: e for e in body["platforms"]}
    assert by_platform["amazon"]["average_days_to_resolution"] == 20  # 19 and 21 days
    assert by_platform["amazon"]["cases"] == 3
    assert by_platform["ebay"]["average_days_to_resolution"] == 0  # h: inadmissible at once
    assert by_platform["cdiscount"]["outcomes"] == {"withdrawn": 1}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/statistics", {"from": "2026-03-05", "to": "2026-03-04"}),
        ("/statistics/platforms/amazon", {"from": "2026-03-05", "to": "2026-03-04"}),
        ("/statistics/export.csv", {"from": "2026-03-05", "to": "2026-03-04"}),
        ("/statistics", {"from": "2026-13-01"}),
        ("/statistics", {"to": "02/03/2026"}),
        ("/statistics", {"as_of": "soon"}),
        ("/statistics", {"as_of": "2026-02-30"}),
        ("/statistics", {"from": ""}),
        ("/statistics", {"min_position": -1}),
        ("/statistics/platforms/amazon", {"to": "tomorrow"}),
        ("/statistics/export.csv", {"as_of": "2026-3-2x"}),
        ("/statistics/export.csv", {"lang": "de"}),
        ("/statistics/export.csv", {"lang": ""}),
        ("/statistics/export.csv", {"table": "both"}),
        ("/statistics/annual/twenty", {}),
    ],
)
def test_an_invalid_query_is_a_422_problem(
    http: TestClient, path: str, params: dict[str, Any]
) -> None:
    HttpWorkflow(http, SettableClock(START)).report("Amazon Marketplace", None)
    body = assert_problem(http.get(path, params=params, headers=auth("analyst")), 422)
    assert body["type"].endswith("/problems/invalid-request")


def test_a_one_day_period_is_accepted(http: TestClient) -> None:
    flow = HttpWorkflow(http, SettableClock(START))
    flow.report("Amazon Marketplace", None)
    day = TODAY.isoformat()
    body = statistics_body(http, min_position=flow.position, **{"from": day, "to": day})
    assert body["totals"]["reported"] == 1


DISPLAY_NAMES = {
    "amazon": "Amazon",
    "cdiscount": "Cdiscount",
    "ebay": "eBay",
    "fnac_darty": "Fnac Darty",
}
"""How the figures name the platforms of RAW_PLATFORMS."""

FRENCH_CATEGORIES = {
    "delisting": "Déréférencement d'offres",
    "account_suspension": "Suspension de compte",
    "account_termination": "Résiliation de compte",
    "missing_statement_of_reasons": "Motivation absente ou insuffisante",
    "ranking": "Rétrogradation, classement",
    "terms_change": "Modification des CGU sans préavis",
    "funds_withheld": "Fonds bloqués",
    "unreachable_support": "Service client injoignable",
    "counterfeit_ip": "Contrefaçon, propriété intellectuelle",
    "self_preferencing": "Traitement différencié",
    "data_access": "Accès aux données",
    "unfair_terms_fees": "Clauses et frais déséquilibrés",
    "technical_failure": "Problème technique",
    "other": "Autre",
}
"""DOMAIN.md's problem categories, in its order, with their French names."""

BOM = "\ufeff"
WRITTEN_BY_REPORTERS = ("Amazon Marketplace", "amazon.fr", "Société")
"""What the scenarios' reporters wrote that names no platform as the figures do."""


def read_csv(http: TestClient, lang: str, **params: Any) -> tuple[list[str], list[list[str]], Any]:
    """The header, the rows and the answer of an export, read as a spreadsheet would: in French
    `;` between fields after a byte order mark, in English `,` and no mark."""
    answer = http.get(
        "/statistics/export.csv", params={**params, "lang": lang}, headers=auth("analyst")
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    text = answer.content.decode("utf-8")
    assert text.startswith(BOM) == (lang == "fr"), text[:20]
    for written in WRITTEN_BY_REPORTERS:
        assert written not in text, written
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=CSV_DELIMITERS[lang]))
    assert all(len(row) == len(rows[0]) for row in rows), rows
    return rows[0], rows[1:], answer


CSV_DELIMITERS = {"fr": ";", "en": ","}


def file_name(answer: Any) -> str:
    found = re.fullmatch(r'attachment; filename="([^"/]+)"', answer.headers["content-disposition"])
    assert found, answer.headers["content-disposition"]
    return found.group(1)


def number(cell: str, lang: str) -> float | None:
    """A cell as a number: a decimal comma in French, a point in English; empty is none."""
    if cell == "":
        return None
    assert ("." if lang == "fr" else ",") not in cell, cell
    return float(cell.replace(",", ".") if lang == "fr" else cell)


def column_value(entry: dict[str, Any], header: str) -> Any:
    """The figure of a platform entry an English CSV header names."""
    if header == "platform_name":
        return DISPLAY_NAMES[entry["platform"]]
    if header == "sent_to_platform":
        header = "sent"
    if header in entry:
        value = entry[header]
        return value["value"] if isinstance(value, dict) and "value" in value else value
    outcome = header.removeprefix("outcome_")
    if outcome in OUTCOME_KEYS:
        return entry["outcomes"].get(outcome, 0)
    raise AssertionError(f"a CSV column names no figure of the platform entry: {header}")


def uneven(flow: Workflow) -> None:
    """Two more eBay cases, so that its figures are no round numbers: two of its three cases
    sent answered (2/3), resolutions after 0, 1 and 3 days (an average of 4/3)."""
    clock = flow.clock
    cases = [flow.report("eBay", Category.RANKING) for _ in range(2)]
    for case in cases:
        flow.act(case, "qualify", category=Category.RANKING, priority=Priority.NORMAL)
        flow.act(case, "send")
    clock.advance(timedelta(days=1))
    flow.act(cases[0], "respond", stance=Stance.ACCEPTED)
    flow.act(cases[0], "resolve", outcome=Outcome.RESOLVED)
    clock.advance(timedelta(days=2))
    flow.act(cases[1], "resolve", outcome=Outcome.WITHDRAWN)


def test_the_csv_export_has_a_row_per_platform_with_the_figures_of_get_statistics(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    run_scenario(flow)
    uneven(flow)
    first_day = min(r.reported_on for r in flow.records).isoformat()
    today = flow.today().isoformat()
    for params in (
        {},
        {"as_of": "2026-03-05"},
        {"from": "2026-03-03", "to": "2026-03-31"},
        {"to": "2026-03-31"},
        {"from": "2027-01-01"},
    ):
        body = statistics_body(http, min_position=flow.position, **params)
        english, rows, answer = read_csv(http, "en", **params)
        french, french_rows, french_answer = read_csv(http, "fr", **params)
        assert int(answer.headers["X-Position"]) >= flow.position
        # The period in the file's name: the days asked for, by default the first day a case
        # was reported and today.
        period = f"{params.get('from', first_day)}_{params.get('to', today)}"
        assert file_name(answer) == f"statistics-{period}.csv"
        assert file_name(french_answer) == f"statistiques-{period}.csv"

        assert len(set(english)) == len(english)
        assert len(french) == len(english)
        assert set(french).isdisjoint(english), set(french) & set(english)
        assert french[:3] == ["plateforme", "clé_plateforme", "dossiers"]
        # One row per platform, as many in French, in the order of GET /statistics.
        entries = {e["platform"]: e for e in body["platforms"]}
        assert [r[english.index("platform")] for r in rows] == list(entries), params
        assert len(french_rows) == len(rows)
        for row, french_row in zip(rows, french_rows, strict=True):
            entry = entries[row[english.index("platform")]]
            for header, cell, french_cell in zip(english, row, french_row, strict=True):
                value = column_value(entry, header)
                if isinstance(value, str):
                    assert cell == french_cell == value, (header, cell, french_cell)
                else:
                    got = (number(cell, "en"), number(french_cell, "fr"))
                    assert got == (value, value), (params, entry["platform"], header, got, value)
        # Every figure of the entry (but the by_* breakdowns) is a column.
        named = {"sent" if h == "sent_to_platform" else h for h in english}
        scalars = ENTRY_FIELDS - {"by_category", "by_status", "outcomes"}
        assert scalars <= named, scalars - named
        assert {f"outcome_{o}" for o in OUTCOME_KEYS} <= set(english)
        # English is the default.
        plain = http.get("/statistics/export.csv", params=params, headers=auth("analyst"))
        assert plain.content == answer.content
    assert read_csv(http, "fr", **{"from": "2027-01-01"})[1] == []


def test_the_csv_export_has_a_table_of_cases_per_platform_and_category(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    run_scenario(flow)
    first_day = min(r.reported_on for r in flow.records).isoformat()
    body = statistics_body(http, min_position=flow.position)
    entries = {e["platform"]: e for e in body["platforms"]}
    categories = [*FRENCH_CATEGORIES, UNQUALIFIED]
    tables = {}
    names = {"en": "statistics-platforms-categories", "fr": "statistiques-plateformes-categories"}
    for lang, name in names.items():
        header, rows, answer = read_csv(http, lang, table="platform-category")
        assert file_name(answer) == f"{name}-{first_day}_{flow.today().isoformat()}.csv"
        tables[lang] = (header, rows)
    header, rows = tables["en"]
    assert header == ["platform_name", "platform", *categories, "cases"]
    french, french_rows = tables["fr"]
    assert french == [
        "plateforme", "clé_plateforme", *FRENCH_CATEGORIES.values(), "Non qualifié", "dossiers"
    ]  # fmt: skip
    assert french_rows == rows  # counts and names: nothing to translate
    assert [r[1] for r in rows] == list(entries)
    for row in rows:
        entry = entries[row[1]]
        assert row[0] == DISPLAY_NAMES[entry["platform"]]
        counts = dict(zip(categories, map(int, row[2:-1]), strict=True))
        assert {c: n for c, n in counts.items() if n} == canonical(
            entry["by_category"], "by_category"
        )
        assert int(row[-1]) == entry["cases"] == sum(counts.values())


def decimal_figures(answer: Any, name: str = "") -> Iterator[tuple[str, float]]:
    """Every float of an answer, with the name of the field that holds it."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            yield from decimal_figures(value, key)
    elif isinstance(answer, list):
        for value in answer:
            yield from decimal_figures(value, name)
    elif isinstance(answer, float):
        yield name, answer


def test_no_figure_is_published_with_more_decimals_than_its_precision(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    run_scenario(flow)
    uneven(flow)
    answers: list[Any] = []
    for params in ({}, {"as_of": "2026-03-05"}, {"from": "2026-03-03"}):
        body = statistics_body(http, min_position=flow.position, **params)
        answers.append(body)
        answers += [get_json(http, f"/statistics/platforms/{e['platform']}", **params)
                    for e in body["platforms"]]  # fmt: skip
    answers.append(get_json(http, "/statistics/annual/2026"))
    found = [figure for answer in answers for figure in decimal_figures(answer)]
    assert {name for name, _ in found} >= {"value", "median_days_to_first_answer",
        "p90_days_to_first_answer", "median_days_to_resolution", "median_days",
        "average_days_to_resolution"}  # fmt: skip
    for name, value in found:
        decimals = decimals_of(name)
        assert decimals is not None, f"{name}: {value} is published with no set precision"
        assert value == round(value, decimals), (name, value)
    # Figures that needed rounding (a p90 of whole days has one decimal at most: only the
    # floats' noise, as 2.8000000000000003, is rounded away).
    exact = [
        *decimal_figures(expected_statistics(flow.records, None, None, flow.today())),
        *decimal_figures(expected_annual(flow.records, 2026)),
    ]
    rounded = [name for name, v in exact if round(v, decimals_of(name) or 0) != v]
    assert {"value", "average_days_to_resolution"} <= set(rounded)


def test_the_openapi_document_describes_the_statistics_answers(http: TestClient) -> None:
    document = http.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            return resolved(schemas[schema["$ref"].rsplit("/", 1)[1]])
        if "items" in schema:
            return resolved(schema["items"])
        return schema

    def answer(path: str) -> dict[str, Any]:
        ok = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        return resolved(ok["schema"])

    everything = answer("/statistics")
    assert set(everything["properties"]) == {
        "position", "as_of", "totals", "platforms", "categories", "mediation"
    }  # fmt: skip
    platform = resolved(everything["properties"]["platforms"])
    assert set(platform["properties"]) == ENTRY_FIELDS
    assert set(answer("/statistics/platforms/{platform}")["properties"]) == ENTRY_FIELDS | {
        "position",
        "as_of",
    }
    rate = resolved(platform["properties"]["answer_rate"])
    assert set(rate["properties"]) == {"numerator", "denominator", "value"}
    assert "4 decimals" in rate["properties"]["value"]["description"]
    assert "1 decimal" in platform["properties"]["median_days_to_resolution"]["description"]
    annual_platform = resolved(answer("/statistics/annual/{year}")["properties"]["platforms"])
    assert set(annual_platform["properties"]) == {
        "platform", "cases", "main_categories", "average_days_to_resolution", "outcomes"
    }  # fmt: skip


def test_a_platform_is_found_by_any_of_its_names(http: TestClient) -> None:
    answer = http.post("/cases", json=report_body(platform="amazon.fr"), headers=auth("reporter"))
    assert answer.status_code == 201
    position = answer.json()["position"]
    entries = [
        http.get(
            f"/statistics/platforms/{name}",
            params={"min_position": position},
            headers=auth("analyst"),
        )
        for name in ("amazon", "Amazon Marketplace", "amazon.fr")
    ]
    assert [e.status_code for e in entries] == [200, 200, 200]
    assert {e.json()["platform"] for e in entries} == {"amazon"}
    assert all(e.json()["cases"] == 1 for e in entries)
