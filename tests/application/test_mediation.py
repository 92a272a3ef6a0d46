"""The mediation application on every store: the in-memory one, a SQLite file and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from application.case_store import SNAPSHOT_INTERVAL
from application.clock import SettableClock
from application.errors import CaseNotFound
from application.errors import IdempotencyKeyReused
from application.errors import StaleVersion
from application.errors import VersionConflict
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from domain.errors import CommandNotAllowed
from domain.errors import InvalidValue
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
from interfaces.composition import open_application
from tests.conftest import START
from tests.domain.factories import company


def a_report(**changes: Any) -> ReportRequest:
    fields: dict[str, Any] = {
        "company": company(),
        "platform": Platform.parse("Cdiscount"),
        "description": PersonalText("Funds withheld for 90 days"),
        "occurred_on": START.date() - timedelta(days=10),
        "category_hint": Category.FUNDS_WITHHELD,
        "channel": Channel.EMAIL,
    }
    fields.update(changes)
    return ReportRequest(**fields)


def qualify(app: MediationApplication, case_id: Any, **kw: Any) -> Any:
    args = {
        "category": Category.FUNDS_WITHHELD,
        "priority": Priority.HIGH,
        "summary": PersonalText("Payouts blocked"),
        "p2b_articles": ["Art. 4(1)"],
        "assignee": "alice",
        "actor": "alice",
    }
    args.update(kw)
    return app.qualify_case(case_id, **args)


def test_a_case_goes_from_report_to_resolution(
    mediation: MediationApplication, clock: SettableClock
) -> None:
    reported = mediation.report_case(a_report(), actor="reporter-1")
    assert (reported.version, reported.status) == (1, Status.REPORTED)
    assert reported.tracking_code is not None
    case_id = reported.case_id

    clock.advance(timedelta(hours=2))
    qualified = qualify(mediation, case_id)
    sent = mediation.send_to_platform(case_id, message=PersonalText("Why?"), actor="alice")
    assert sent.response_due == clock.now().date() + timedelta(days=15)
    clock.advance(timedelta(days=3))
    answered = mediation.record_platform_response(
        case_id, stance=Stance.REFUSED, response=PersonalText("No"), actor="bob"
    )
    escalated = mediation.escalate_case(
        case_id, reason=EscalationReason.UNSATISFACTORY_RESPONSE, note=None, actor="bob"
    )
    assert escalated.mediator_reference
    resolved = mediation.resolve_case(
        case_id,
        outcome=Outcome.PARTIALLY_RESOLVED,
        summary=PersonalText("Half paid"),
        actor="carol",
    )

    results = [reported, qualified, sent, answered, escalated, resolved]
    assert [r.version for r in results] == [1, 2, 3, 4, 5, 6]
    positions = [r.position for r in results]
    assert positions == sorted(positions)
    assert len(set(positions)) == 6
    assert mediation.log_position() == positions[-1]

    case = mediation.get_case(case_id)
    assert case.status is Status.RESOLVED
    assert case.outcome is Outcome.PARTIALLY_RESOLVED
    assert case.assignee == "alice"
    assert case.platform.key == "cdiscount"
    assert case.reported_at == START

    history = mediation.case_history(case_id)
    assert [h.type for h in history] == [
        "Reported",
        "Qualified",
        "SentToPlatform",
        "PlatformResponded",
        "EscalatedToMediator",
        "Resolved",
    ]
    assert [h.actor for h in history] == ["reporter-1", "alice", "alice", "bob", "bob", "carol"]
    assert history[0].data["company"]["siren"] == "732829320"
    assert history[0].data["platform"] == {"key": "cdiscount", "reported_as": "Cdiscount"}
    assert history[2].data["response_due"] == sent.response_due.isoformat()  # type: ignore[union-attr]
    assert history[1].recorded_at == START + timedelta(hours=2)


def test_a_refused_command_records_nothing(mediation: MediationApplication) -> None:
    case_id = mediation.report_case(a_report(), actor="r").case_id
    before = mediation.log_position()
    with pytest.raises(CommandNotAllowed):
        mediation.escalate_case(case_id, reason=EscalationReason.COMPLEXITY, actor="a")
    with pytest.raises(CommandNotAllowed):
        mediation.send_to_platform(case_id, message=PersonalText("m"), actor="a")  # not qualified
    assert mediation.log_position() == before
    assert len(mediation.case_history(case_id)) == 1


def test_a_bad_date_records_nothing(mediation: MediationApplication) -> None:
    with pytest.raises(InvalidValue):
        mediation.report_case(a_report(occurred_on=START.date() + timedelta(days=1)), actor="r")
    assert mediation.log_position() == 0


def test_the_state_as_of_a_version_and_an_instant(
    mediation: MediationApplication, clock: SettableClock
) -> None:
    case_id = mediation.report_case(a_report(), actor="r").case_id
    instants: list[datetime] = [clock.now()]
    for priority in (Priority.LOW, Priority.NORMAL, Priority.URGENT):
        clock.advance(timedelta(days=1))
        instants.append(clock.now())
        qualify(mediation, case_id, priority=priority)

    assert mediation.get_case(case_id, version=1).status is Status.REPORTED
    assert mediation.get_case(case_id, version=2).priority is Priority.LOW
    assert mediation.get_case(case_id, version=4).priority is Priority.URGENT
    assert (
        mediation.get_case(case_id, at=instants[2] + timedelta(hours=1)).priority is Priority.NORMAL
    )
    assert mediation.get_case(case_id, at=instants[1]).version == 2
    assert mediation.get_case(case_id, at=instants[0]).version == 1
    with pytest.raises(CaseNotFound):
        mediation.get_case(case_id, at=instants[0] - timedelta(seconds=1))
    with pytest.raises(CaseNotFound):
        mediation.get_case(case_id, version=5)
    with pytest.raises(InvalidValue):
        mediation.get_case(case_id, version=0)


def test_an_unknown_case_is_not_found(mediation: MediationApplication) -> None:
    for read in (mediation.get_case, mediation.case_history):
        with pytest.raises(CaseNotFound):
            read(uuid4())
    with pytest.raises(CaseNotFound):
        qualify(mediation, uuid4())


def test_the_tracking_code_finds_its_case_in_any_written_form(
    mediation: MediationApplication,
) -> None:
    result = mediation.report_case(a_report(), actor="r")
    mediation.report_case(a_report(), actor="r")  # another case, another code
    code = str(result.tracking_code)
    for written in (code, code.upper(), code.replace("-", ""), f" {code} "):
        assert mediation.case_for_tracking_code(written).id == result.case_id
    for unknown in ("", "not-a-code", "a" * 26, code[:-1] + ("a" if code[-1] != "a" else "b")):
        with pytest.raises(CaseNotFound):
            mediation.case_for_tracking_code(unknown)


def test_an_expected_version_that_is_not_current_is_refused(
    mediation: MediationApplication,
) -> None:
    case_id = mediation.report_case(a_report(), actor="r").case_id
    with pytest.raises(StaleVersion) as raised:
        qualify(mediation, case_id, expected_version=2)
    assert raised.value.current == 1
    assert qualify(mediation, case_id, expected_version=1).version == 2


def test_an_idempotency_key_opens_one_case(mediation: MediationApplication) -> None:
    first = mediation.report_case(a_report(), actor="r", idempotency_key="k-1")
    again = mediation.report_case(a_report(), actor="r", idempotency_key="k-1")
    assert (again.case_id, again.tracking_code, again.version) == (
        first.case_id,
        first.tracking_code,
        1,
    )
    assert mediation.log_position() == first.position
    with pytest.raises(IdempotencyKeyReused):
        mediation.report_case(
            a_report(description=PersonalText("other")), actor="r", idempotency_key="k-1"
        )
    other_actor = mediation.report_case(a_report(), actor="someone-else", idempotency_key="k-1")
    assert other_actor.case_id != first.case_id


def test_a_long_case_loads_from_a_snapshot(mediation: MediationApplication) -> None:
    """A command on a case with 1,000 events replays no more than a snapshot interval."""
    case_id = mediation.report_case(a_report(), actor="r").case_id
    for n in range(999):
        qualify(mediation, case_id, summary=PersonalText(f"round {n}"))
    mediation.wait_for_snapshots()  # written off the commands' path

    decoded = count_decoded_events(mediation, lambda: qualify(mediation, case_id))
    assert decoded <= SNAPSHOT_INTERVAL + 1
    case = mediation.get_case(case_id)
    assert case.version == 1001
    assert case.summary == PersonalText("Payouts blocked")
    # Version 1 is the report, so version n is round n - 2.
    assert mediation.get_case(case_id, version=500).summary == PersonalText("round 498")


def count_decoded_events(mediation: MediationApplication, action: Callable[[], Any]) -> int:
    """How many stored records the action decodes (events and snapshots)."""
    mapper = mediation.mapper
    original = mapper.to_domain_event
    calls = 0

    def counting(stored: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(stored)

    mapper.to_domain_event = counting  # type: ignore[method-assign]
    try:
        action()
    finally:
        mapper.to_domain_event = original  # type: ignore[method-assign]
    return calls


class BarrierClock(SettableClock):
    """A clock that holds each command, after it loaded its case, until both have loaded."""

    def __init__(self, start: datetime, parties: int) -> None:
        super().__init__(start)
        self.barrier = threading.Barrier(parties, timeout=10)

    def now(self) -> datetime:
        self.barrier.wait()
        return super().now()


def test_two_writers_on_one_case_one_wins_the_other_conflicts(
    settings: Settings, clock: SettableClock
) -> None:
    setup = open_application(settings, clock)
    case_id = setup.report_case(a_report(), actor="r").case_id
    gate = BarrierClock(START + timedelta(hours=1), parties=2)
    # Two applications on one database, as two processes would be; the in-memory store is one
    # process's memory, so there both writers share the application.
    writers = (
        [setup, setup]
        if settings.store.value == "memory"
        else [open_application(settings, gate) for _ in range(2)]
    )
    for writer in writers:
        writer.clock = gate
    outcomes: list[Any] = []

    def write(app: MediationApplication, priority: Priority) -> None:
        try:
            outcomes.append(qualify(app, case_id, priority=priority))
        except VersionConflict as conflict:
            outcomes.append(conflict)

    threads = [
        threading.Thread(target=write, args=(writers[0], Priority.LOW)),
        threading.Thread(target=write, args=(writers[1], Priority.URGENT)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [o for o in outcomes if not isinstance(o, VersionConflict)]
    losers = [o for o in outcomes if isinstance(o, VersionConflict)]
    assert len(winners) == 1
    assert len(losers) == 1
    setup.clock = clock
    history = setup.case_history(case_id)
    assert len(history) == 2
    assert history[1].data["priority"] == setup.get_case(case_id).priority.value  # type: ignore[union-attr]
    for app in {id(w): w for w in [setup, *writers]}.values():
        app.close()


def test_cases_survive_reopening_the_store(
    durable_settings: Settings, clock: SettableClock
) -> None:
    first = open_application(durable_settings, clock)
    case_id = first.report_case(a_report(), actor="r").case_id
    qualify(first, case_id)
    history = first.case_history(case_id)
    first.close()
    reopened = open_application(durable_settings, clock)
    assert reopened.case_history(case_id) == history
    assert reopened.get_case(case_id).status is Status.QUALIFIED
    reopened.close()


def test_two_databases_do_not_see_each_other(tmp_path: Path, clock: SettableClock) -> None:
    from infrastructure.settings import load_settings

    one = open_application(load_settings(database_url=f"sqlite:///{tmp_path}/one.db"), clock)
    two = open_application(load_settings(database_url=f"sqlite:///{tmp_path}/two.db"), clock)
    case_id = one.report_case(a_report(), actor="r").case_id
    with pytest.raises(CaseNotFound):
        two.get_case(case_id)
    one.close()
    two.close()


def test_the_store_names_never_depend_on_a_class_name() -> None:
    class Renamed(MediationApplication):
        pass

    assert MediationApplication.name == Renamed.name == "mediation"
