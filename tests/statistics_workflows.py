"""Driving the statistics tests: workflows through the application or over HTTP that record
what was accepted, random workflows (Hypothesis), and the stores they run on."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from uuid import uuid4

import pytest
from eventsourcing.sqlite import SQLiteDatastore
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from application.case_statistics import CaseStatistics
from application.case_statistics import annual
from application.case_statistics import statistics
from application.clock import SettableClock
from application.errors import CaseNotFound
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from application.projections import EventLog
from domain.errors import CommandNotAllowed
from domain.errors import PersonalDataErasedError
from domain.measures import Measure
from domain.measures import MeasureFacts
from domain.measures import StatementOfReasons
from domain.platforms import Platform
from domain.values import Category
from domain.values import Channel
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Stance
from domain.values import Status
from infrastructure.settings import Settings
from infrastructure.statistics_stores import SQLCaseStatistics
from interfaces.composition import open_application
from tests.conftest import PLATFORM_TOKENS
from tests.conftest import auth
from tests.conftest import platform_auth
from tests.conftest import report_body
from tests.conftest import settings_for
from tests.domain.factories import company
from tests.statistics_oracle import ADDS_PERSONAL_DATA
from tests.statistics_oracle import PERMITTED
from tests.statistics_oracle import RAW_PLATFORMS
from tests.statistics_oracle import Record
from tests.statistics_oracle import Refused
from tests.statistics_oracle import assert_annual
from tests.statistics_oracle import assert_same_figures
from tests.statistics_oracle import expected_statistics
from tests.statistics_oracle import facts_of

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

    def report(
        self, raw_platform: str, hint: Category | None, measure: MeasureFacts | None = None
    ) -> Record:
        case_id, position = self._report(raw_platform, hint, measure)
        assert position > self.position
        self.position = position
        record = Record(
            id=case_id,
            platform=RAW_PLATFORMS[raw_platform],
            reported_at=self.clock.now(),
            hint=hint.value if hint else None,
            stated=facts_of(measure),
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
        measure: MeasureFacts | None = None,
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
            "measure": measure,
            "platform": record.platform,
        }
        try:
            position, due = self._command(record.id, kind, args)
        except Refused:
            assert not expected, f"{kind} refused on {record}"
            self.refused += 1
            return False
        assert expected, f"{kind} accepted on {record}"
        today = self.today()
        if kind in ("acknowledge", "remind"):  # may record nothing
            self._supporting(record, kind, position, today)
            return True
        assert position is not None
        assert position > self.position
        self.position = position
        if kind == "qualify":
            record.status = Status.QUALIFIED
            record.category, record.priority = category.value, priority.value
            # DOMAIN.md: the measure established, by default the business's.
            record.established = facts_of(measure) or record.stated
        elif kind == "send":
            # DOMAIN.md: due 15 calendar days after sending, 5 when urgent.
            assert due == today + timedelta(days=5 if record.priority == "urgent" else 15)
            record.status = Status.AWAITING_PLATFORM
            record.sends.append((today, due))
            record.round_acknowledged = False
            record.round_reminders = 0
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

    def _supporting(self, record: Record, kind: str, position: int | None, today: date) -> None:
        """An acknowledgement (once a round) or the reminders due (DOMAIN.md: days 7 and 14
        after sending, urgent 2 and 4): what was recorded, if anything."""
        if kind == "acknowledge":
            recorded = 0 if record.round_acknowledged else 1
            if recorded:
                record.acknowledgements.append((record.sends[-1][0], today))
                record.round_acknowledged = True
        else:
            days = (2, 4) if record.priority == "urgent" else (7, 14)
            sent = record.sends[-1][0]
            due = sum(sent + timedelta(days=d) <= today for d in days)
            recorded = max(0, due - record.round_reminders)
            record.reminders += [today] * recorded
            record.round_reminders += recorded
        assert (position is not None) == (recorded > 0), (kind, record, position)
        if position is not None:
            assert position > self.position
            self.position = position

    def _report(
        self, raw_platform: str, hint: Category | None, measure: MeasureFacts | None
    ) -> tuple[UUID, int]:
        raise NotImplementedError

    def _command(
        self, case_id: UUID, kind: str, args: dict[str, Any]
    ) -> tuple[int | None, date | None]:
        """The command's position (None if it recorded nothing) and the due date it set."""
        raise NotImplementedError


def remind(app: MediationApplication, case_id: UUID, as_of: date) -> int | None:
    """Record the reminders due by `as_of`, as the deadline process does; the position, None
    if none was due."""
    reminded = app.remind_platform(case_id, as_of=as_of, actor="system:deadlines")
    return reminded.result.position if reminded else None


class AppWorkflow(Workflow):
    def __init__(self, app: MediationApplication, clock: SettableClock) -> None:
        super().__init__(clock)
        self.app = app

    def _report(
        self, raw_platform: str, hint: Category | None, measure: MeasureFacts | None
    ) -> tuple[UUID, int]:
        request = ReportRequest(
            company=replace(company(), name=f"Société {len(self.records)}"),
            platform=Platform.parse(raw_platform),
            description=PersonalText("Delisted overnight without any explanation"),
            occurred_on=self.today() - timedelta(days=3),
            category_hint=hint,
            channel=Channel.WEB,
            measure=measure,
        )
        result = self.app.report_case(request, actor="reporter-1")
        return result.case_id, result.position

    def _command(
        self, case_id: UUID, kind: str, args: dict[str, Any]
    ) -> tuple[int | None, date | None]:
        app = self.app
        try:
            if kind == "acknowledge":
                key = args["platform"]
                result = app.acknowledge_case(case_id, platform=key, actor=f"platform:{key}")
                return (None if result.replayed else result.position), None
            if kind == "remind":
                return remind(app, case_id, self.today()), None
            if kind == "qualify":
                result = app.qualify_case(
                    case_id,
                    category=args["category"],
                    priority=args["priority"],
                    summary=PersonalText("Summary"),
                    measure=args["measure"],
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
        except (CommandNotAllowed, PersonalDataErasedError, CaseNotFound):
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

    def _report(
        self, raw_platform: str, hint: Category | None, measure: MeasureFacts | None
    ) -> tuple[UUID, int]:
        body = report_body(
            platform=raw_platform,
            name=f"Société {len(self.records)}",
            occurred_on=(self.today() - timedelta(days=3)).isoformat(),
        )
        if hint is None:
            del body["category_hint"]
        else:
            body["category_hint"] = hint.value
        if measure is not None:
            body["measure"] = measure_body(measure)
        answer = self.http.post("/cases", json=body, headers=auth("reporter"))
        assert answer.status_code == 201, answer.text
        return UUID(answer.json()["id"]), answer.json()["position"]

    def _command(
        self, case_id: UUID, kind: str, args: dict[str, Any]
    ) -> tuple[int | None, date | None]:
        if kind == "acknowledge":
            return self._acknowledge(case_id, args["platform"]), None
        if kind == "remind":  # the deadline process's: no route
            app: MediationApplication = self.http.app.state.mediation  # type: ignore[attr-defined]
            try:
                return remind(app, case_id, self.today()), None
            except CommandNotAllowed:
                raise Refused from None
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
        if kind == "qualify" and args["measure"] is not None:
            body["measure"] = measure_body(args["measure"])
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

    def _acknowledge(self, case_id: UUID, key: str) -> int | None:
        """Through the platform's portal; a platform without a token (no portal) through the
        application. The position, None when the round was already acknowledged."""
        if key not in PLATFORM_TOKENS:
            app: MediationApplication = self.http.app.state.mediation  # type: ignore[attr-defined]
            try:
                result = app.acknowledge_case(case_id, platform=key, actor=f"platform:{key}")
            except (CommandNotAllowed, CaseNotFound):
                raise Refused from None
            return None if result.replayed else result.position
        answer = self.http.post(
            f"/platform/cases/{case_id}/acknowledge", headers=platform_auth(key)
        )
        if answer.status_code in (404, 409):
            raise Refused
        assert answer.status_code == 200, answer.text
        replayed = answer.headers.get("Idempotent-Replayed") == "true"
        return None if replayed else answer.json()["position"]


def measure_body(facts: MeasureFacts) -> dict[str, Any]:
    body: dict[str, Any] = {"measure": facts.measure.value}
    if facts.statement_of_reasons is not None:
        body["statement_of_reasons"] = facts.statement_of_reasons.value
    return body


# Random workflows.

COMMANDS = ["qualify", "send", "respond", "escalate", "resolve", "acknowledge", "remind"]
ONWARD: dict[Status, list[str]] = {
    Status.REPORTED: ["qualify", "qualify", "qualify", "resolve"],
    Status.QUALIFIED: ["send", "send", "send", "qualify", "resolve"],
    Status.AWAITING_PLATFORM: [
        *["respond", "wait", "respond", "wait", "escalate", "resolve", "respond"],
        *["acknowledge", "remind"],  # supporting events, which leave it awaiting
    ],
    Status.PLATFORM_RESPONDED: ["send", "send", "escalate", "resolve", "resolve"],
    Status.WITH_MEDIATOR: ["resolve"],
    Status.RESOLVED: ["resolve"],  # refused: a resolved case is closed
}
"""A command that moves a case on, picked by its status, so that random workflows also reach
the end of the workflow ("wait": none, so that platforms also answer late, or never)."""

CASE = st.integers(min_value=0, max_value=7)
MEASURES = st.one_of(
    st.none(),
    st.builds(
        MeasureFacts,
        measure=st.sampled_from(Measure),
        statement_of_reasons=st.sampled_from([None, *StatementOfReasons]),
    ),
)
REPORT = st.tuples(
    st.just("report"),
    st.sampled_from(sorted(RAW_PLATFORMS)),
    st.sampled_from([None, *Category]),
    MEASURES,  # as stated
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
    MEASURES,  # as established
)
ERASE = st.tuples(st.just("erase"), CASE)
DEADLINES = st.tuples(st.just("deadlines"), CASE)  # the reminders due, as the process sends
STEPS = st.sampled_from(["act"] * 24 + ["report"] * 3 + ["erase"] + ["deadlines"] * 6).flatmap(
    lambda what: {"act": ACT, "report": REPORT, "erase": ERASE, "deadlines": DEADLINES}[what]
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
        flow.report(step[1], step[2], step[3] if len(step) > 3 else None)
        return
    if not flow.records:
        return
    record = flow.records[step[1] % len(flow.records)]
    if step[0] == "erase":
        flow.act(record, "erase")
        return
    if step[0] == "deadlines":
        for awaited in [r for r in flow.records if r.status is Status.AWAITING_PLATFORM]:
            flow.act(awaited, "remind")
        return
    _, index, free, pick, category, priority, stance, offset, reason, outcome_pick, measure = step
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
        measure=measure,
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
        view = SQLCaseStatistics.in_memory()
        yield lambda: view
    elif store == "sqlite":
        datastore = SQLiteDatastore(str(folder / f"scratch-{uuid4().hex[:8]}.db"))
        try:
            yield lambda: SQLCaseStatistics.on_sqlite(datastore)
        finally:
            datastore.close()
    else:
        prefix = f"scratch_{uuid4().hex[:8]}"
        datastore = app.recorder.datastore  # type: ignore[attr-defined]
        yield lambda: SQLCaseStatistics.on_postgres(datastore, prefix=prefix)


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


def run_scenario(flow: Workflow) -> dict[str, Record]:
    """A fixed workflow touching every figure: several platforms and categories, urgent and
    standard rounds, answers on time, late, backdated and never, follow-up rounds, every
    escalation reason, outcomes, a requalification and a refused command; measures stated,
    established and neither, statements of reasons missing and partly given; acknowledgements
    (again, in a follow-up round, refused after an answer), reminders before an answer, before
    a backdated answer, and without an answer."""
    clock = flow.clock
    hours = clock.advance
    c: dict[str, Record] = {}
    not_given, partly = StatementOfReasons.NOT_GIVEN, StatementOfReasons.PARTLY
    c["a"] = flow.report(
        "Amazon Marketplace", Category.DELISTING, MeasureFacts(Measure.DELISTING, None, not_given)
    )
    c["b"] = flow.report("amazon.fr", None, MeasureFacts(Measure.SUSPENSION, None, partly))
    c["c"] = flow.report("Cdiscount", Category.FUNDS_WITHHELD)
    c["d"] = flow.report("eBay", None, MeasureFacts(Measure.OTHER))
    c["e"] = flow.report("Fnac", Category.RANKING, MeasureFacts(Measure.TERMS_CHANGE, None, partly))
    c["f"] = flow.report("Cdiscount", None, MeasureFacts(Measure.TERMINATION, None, not_given))
    c["g"] = flow.report("Amazon Marketplace", None)
    hours(timedelta(hours=1))
    flow.act(c["a"], "qualify", category=Category.DELISTING, priority=Priority.NORMAL)
    flow.act(c["b"], "qualify", category=Category.ACCOUNT_SUSPENSION, priority=Priority.URGENT)
    flow.act(
        c["c"], "qualify", category=Category.FUNDS_WITHHELD, priority=Priority.HIGH,
        measure=MeasureFacts(Measure.FUNDS_WITHHELD, None, not_given),
    )  # fmt: skip
    flow.act(c["d"], "qualify", category=Category.RANKING, priority=Priority.NORMAL)
    flow.act(c["e"], "qualify", category=Category.OTHER, priority=Priority.URGENT)
    flow.act(
        c["b"], "qualify", category=Category.TERMS_CHANGE, priority=Priority.URGENT,
        measure=MeasureFacts(Measure.TERMS_CHANGE, None, StatementOfReasons.GIVEN),
    )  # fmt: skip
    assert not flow.act(c["f"], "remind")  # refused: not sent
    hours(timedelta(days=1))  # day 1
    for name in "abcde":
        flow.act(c[name], "send")
    hours(timedelta(days=3))  # day 4
    day = flow.today()
    flow.act(c["a"], "acknowledge")
    flow.act(c["a"], "acknowledge")  # records nothing
    flow.act(c["c"], "acknowledge")
    flow.act(c["b"], "remind")  # urgent: its first reminder (day 2 after sending)
    flow.act(c["a"], "respond", stance=Stance.ACCEPTED, responded_on=day - timedelta(days=2))
    flow.act(c["b"], "respond", stance=Stance.REFUSED)
    assert not flow.act(c["b"], "acknowledge")  # refused: answered
    assert not flow.act(c["f"], "escalate", reason=EscalationReason.COMPLEXITY)  # refused
    hours(timedelta(days=10))  # day 14
    flow.act(c["c"], "remind")  # day 7 after sending
    flow.act(c["e"], "remind")  # urgent: both
    flow.act(c["e"], "remind")  # records nothing
    flow.act(c["c"], "respond", stance=Stance.PARTIALLY_ACCEPTED)
    flow.act(c["e"], "escalate", reason=EscalationReason.NO_RESPONSE)
    flow.act(c["a"], "send")  # a follow-up round
    hours(timedelta(days=5))  # day 19
    flow.act(c["a"], "acknowledge")  # the first acknowledgement stays the one counted
    flow.act(c["a"], "remind")  # nothing due yet in this round
    flow.act(c["a"], "respond", stance=Stance.INFORMATION_REQUESTED)
    flow.act(c["a"], "resolve", outcome=Outcome.RESOLVED)
    flow.act(c["b"], "escalate", reason=EscalationReason.UNSATISFACTORY_RESPONSE)
    flow.act(c["f"], "resolve", outcome=Outcome.WITHDRAWN)
    hours(timedelta(days=2))  # day 21
    flow.act(c["b"], "resolve", outcome=Outcome.PARTIALLY_RESOLVED)
    flow.act(c["e"], "resolve", outcome=Outcome.NOT_RESOLVED)
    flow.act(c["c"], "escalate", reason=EscalationReason.COMPLEXITY)
    flow.act(c["d"], "remind")  # days 7 and 14 after sending
    flow.act(c["d"], "acknowledge")  # 20 days after sending
    hours(timedelta(days=9))  # day 30
    day = flow.today()
    # Backdated before its first reminder: not an answer after a reminder.
    flow.act(c["d"], "respond", stance=Stance.REFUSED, responded_on=day - timedelta(days=10))
    flow.act(c["d"], "escalate", reason=EscalationReason.BUSINESS_REQUEST)
    c["h"] = flow.report("eBay", Category.COUNTERFEIT_IP)
    flow.act(c["h"], "resolve", outcome=Outcome.INADMISSIBLE)
    hours(timedelta(days=1))  # day 31
    c["i"] = flow.report("Fnac", None)
    flow.act(c["i"], "qualify", category=Category.DATA_ACCESS, priority=Priority.NORMAL)
    flow.act(c["i"], "send")
    return c
