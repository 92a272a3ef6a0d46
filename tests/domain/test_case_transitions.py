"""The transition table of DOMAIN.md, binding: every allowed transition and every refused one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from datetime import date
from datetime import timedelta

import pytest

from domain.case import TRANSITIONS
from domain.case import Case
from domain.errors import CommandNotAllowed
from domain.errors import InvalidCaseCommand
from domain.errors import InvalidValue
from domain.errors import PersonalDataErasedError
from domain.platforms import Platform
from domain.values import ERASED
from domain.values import Category
from domain.values import CompanySize
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Status
from tests.domain.factories import DEADLINES
from tests.domain.factories import NOW
from tests.domain.factories import TODAY
from tests.domain.factories import case_in
from tests.domain.factories import company
from tests.domain.factories import escalate
from tests.domain.factories import qualify
from tests.domain.factories import reported_case
from tests.domain.factories import resolve
from tests.domain.factories import respond
from tests.domain.factories import send

# DOMAIN.md's table, written out by hand so that the test does not read the code's own table.
EXPECTED: dict[Status, dict[str, set[Outcome] | None]] = {
    Status.REPORTED: {"qualify": None, "resolve": {Outcome.WITHDRAWN, Outcome.INADMISSIBLE}},
    Status.QUALIFIED: {
        "qualify": None,
        "send-to-platform": None,
        "resolve": {Outcome.WITHDRAWN, Outcome.INADMISSIBLE},
    },
    Status.AWAITING_PLATFORM: {
        "platform-response": None,
        "escalate": None,
        "resolve": {Outcome.WITHDRAWN},
    },
    Status.PLATFORM_RESPONDED: {
        "send-to-platform": None,
        "escalate": None,
        "resolve": set(Outcome) - {Outcome.INADMISSIBLE},
    },
    Status.WITH_MEDIATOR: {"resolve": set(Outcome) - {Outcome.INADMISSIBLE}},
    Status.RESOLVED: {},
}

REACHES = {
    "qualify": Status.QUALIFIED,
    "send-to-platform": Status.AWAITING_PLATFORM,
    "platform-response": Status.PLATFORM_RESPONDED,
    "escalate": Status.WITH_MEDIATOR,
}

COMMANDS: dict[str, Callable[[Case], None]] = {
    "qualify": qualify,
    "send-to-platform": send,
    "platform-response": respond,
    "escalate": escalate,
}


def attempts() -> list[tuple[Status, str, Outcome | None, bool]]:
    """Every (status, command, outcome) and whether DOMAIN.md allows it."""
    rows = []
    for status, allowed in EXPECTED.items():
        for command in COMMANDS:
            rows.append((status, command, None, command in allowed))
        for outcome in Outcome:
            outcomes = allowed.get("resolve") or set()
            rows.append((status, "resolve", outcome, outcome in outcomes))
    return rows


def run(case: Case, command: str, outcome: Outcome | None) -> None:
    if command == "resolve":
        assert outcome is not None
        resolve(case, outcome)
    else:
        COMMANDS[command](case)


@pytest.mark.parametrize(
    ("status", "command", "outcome"),
    [(s, c, o) for s, c, o, ok in attempts() if ok],
    ids=lambda v: getattr(v, "value", v),
)
def test_an_allowed_command_records_one_event_and_moves_the_case(
    status: Status, command: str, outcome: Outcome | None
) -> None:
    case = case_in(status)
    version = case.version
    run(case, command, outcome)
    events = case.collect_events()
    assert len(events) == 1
    assert case.version == version + 1
    assert events[0].actor == "alice"  # type: ignore[attr-defined]
    assert case.status == (Status.RESOLVED if command == "resolve" else REACHES[command])


@pytest.mark.parametrize(
    ("status", "command", "outcome"),
    [(s, c, o) for s, c, o, ok in attempts() if not ok],
    ids=lambda v: getattr(v, "value", v),
)
def test_a_refused_command_names_the_status_and_the_allowed_commands_and_records_nothing(
    status: Status, command: str, outcome: Outcome | None
) -> None:
    case = case_in(status)
    version = case.version
    with pytest.raises(CommandNotAllowed) as raised:
        run(case, command, outcome)
    error = raised.value
    assert error.status == status.value
    assert status.value in str(error)
    assert {a.command for a in error.allowed} == set(EXPECTED[status])
    for allowed in error.allowed:
        assert str(allowed) in str(error)
        expected_outcomes = TRANSITIONS[status][allowed.command]
        assert allowed.outcomes == (
            None
            if expected_outcomes is None
            else tuple(sorted(expected_outcomes, key=lambda o: o.value))
        )
    assert case.collect_events() == []
    assert case.version == version
    assert case.status == status


def test_a_resolved_case_refuses_every_command() -> None:
    case = case_in(Status.RESOLVED)
    for command in [*COMMANDS, "resolve"]:
        with pytest.raises(CommandNotAllowed, match="the case is closed"):
            run(case, command, Outcome.RESOLVED)


def test_a_case_is_reported_with_its_actor_and_a_tracking_code() -> None:
    case = reported_case()
    (event,) = case.collect_events()
    assert isinstance(event, Case.Reported)
    assert event.actor == "reporter-1"
    assert event.timestamp == NOW
    assert case.status is Status.REPORTED
    assert case.reported_at == NOW


def test_a_report_of_a_measure_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidValue, match="future"):
        Case.report(
            company=reported_case().company,
            platform=reported_case().platform,
            description=PersonalText("x"),
            occurred_on=TODAY + timedelta(days=1),
            actor="r",
            now=NOW,
        )


@pytest.mark.parametrize(("priority", "days"), [(Priority.NORMAL, 15), (Priority.URGENT, 5)])
def test_the_response_due_date_is_computed_when_sent_and_stored_in_the_event(
    priority: Priority, days: int
) -> None:
    case = case_in(Status.REPORTED)
    qualify(case, priority=priority)
    send(case)
    event = case.collect_events()[-1]
    assert isinstance(event, Case.SentToPlatform)
    assert event.response_due == TODAY + timedelta(days=days)
    assert case.response_due == event.response_due


@pytest.mark.parametrize("due", [TODAY, TODAY - timedelta(days=1), TODAY + timedelta(days=400)])
def test_a_response_due_date_given_by_hand_must_be_after_today_and_near(due: date) -> None:
    case = case_in(Status.QUALIFIED)
    with pytest.raises(InvalidValue):
        case.send_to_platform(
            message=PersonalText("m"), deadlines=DEADLINES, response_due=due, actor="a", now=NOW
        )
    assert case.collect_events() == []


def test_an_answer_cannot_predate_the_sending_nor_be_in_the_future() -> None:
    case = case_in(Status.AWAITING_PLATFORM)
    with pytest.raises(InvalidCaseCommand, match="before"):
        respond(case, responded_on=TODAY - timedelta(days=1))
    with pytest.raises(InvalidValue, match="future"):
        respond(case, responded_on=TODAY + timedelta(days=1))
    respond(case, responded_on=TODAY)
    assert case.status is Status.PLATFORM_RESPONDED


def test_an_answer_may_be_recorded_days_after_it_was_given() -> None:
    case = case_in(Status.AWAITING_PLATFORM)
    later = NOW + timedelta(days=9)
    respond(case, now=later, responded_on=TODAY + timedelta(days=4))
    assert case.responded_on == TODAY + timedelta(days=4)


def test_escalation_makes_the_mediator_file_reference() -> None:
    case = case_in(Status.AWAITING_PLATFORM)
    escalate(case)
    assert case.mediator_reference is not None
    assert case.mediator_reference.startswith(f"MED-{TODAY.year}-")
    assert case.response_due is None


def test_a_follow_up_round_sets_a_new_due_date_and_keeps_the_first_sending_date() -> None:
    case = case_in(Status.PLATFORM_RESPONDED)
    later = NOW + timedelta(days=20)
    send(case, now=later)
    assert case.platform_rounds == 2
    assert case.first_sent_on == TODAY
    assert case.response_due == later.date() + timedelta(days=15)


def test_a_command_needs_an_aware_instant_and_an_actor() -> None:
    case = case_in(Status.REPORTED)
    with pytest.raises(ValueError, match="UTC offset"):
        qualify(case, now=NOW.replace(tzinfo=None))
    with pytest.raises(InvalidValue):
        case.qualify(
            category=Category.OTHER,
            priority=Priority.LOW,
            summary=PersonalText("s"),
            actor=" ",
            now=NOW,
        )
    assert case.collect_events() == []


def test_erasure_replaces_every_personal_field_and_keeps_the_rest() -> None:
    case = case_in(Status.PLATFORM_RESPONDED)
    escalate(case)
    case.erase_personal_data(reason="GDPR request 42", actor="dpo", now=NOW)
    (event,) = case.collect_events()[-1:]
    assert isinstance(event, Case.PersonalDataErased)
    assert (event.actor, event.reason) == ("dpo", "GDPR request 42")
    company = case.company
    assert company.contact_name.is_erased
    assert company.contact_email.is_erased
    assert company.name.is_erased  # a sole trader's business bears the person's name
    assert case.platform.reported_as.is_erased  # free text, as written by the reporter
    # What is not personal data is kept: the figures go on counting the case.
    assert (company.siren.value, company.size, case.platform.key) == (
        "732829320",
        CompanySize.MICRO,
        "amazon",
    )
    for name in ("description", "summary", "message", "platform_response"):
        assert getattr(case, name).is_erased, name
    assert case.escalation_note is None  # nothing was written: nothing to erase
    assert case.status is Status.WITH_MEDIATOR
    assert case.mediator_reference is not None


@pytest.mark.parametrize("status", list(Status))
def test_any_case_can_be_erased_once(status: Status) -> None:
    case = case_in(status)
    case.erase_personal_data(reason="retention", actor="dpo", now=NOW)
    with pytest.raises(PersonalDataErasedError):
        case.erase_personal_data(reason="again", actor="dpo", now=NOW)
    assert len(case.collect_events()) == 1


def test_an_erased_case_takes_no_new_personal_data_but_moves_on_without() -> None:
    case = case_in(Status.AWAITING_PLATFORM)
    case.erase_personal_data(reason="request", actor="dpo", now=NOW)
    case.collect_events()
    with pytest.raises(PersonalDataErasedError, match="erased"):
        respond(case)
    with pytest.raises(PersonalDataErasedError):
        case.escalate(
            reason=EscalationReason.COMPLEXITY, note=PersonalText("n"), actor="a", now=NOW
        )
    with pytest.raises(PersonalDataErasedError):
        resolve(case, Outcome.WITHDRAWN)
    assert case.collect_events() == []
    case.escalate(reason=EscalationReason.COMPLEXITY, actor="a", now=NOW)
    assert case.status is Status.WITH_MEDIATOR


def test_a_status_rule_is_reported_before_the_erasure_rule() -> None:
    case = case_in(Status.RESOLVED)
    case.erase_personal_data(reason="request", actor="dpo", now=NOW)
    with pytest.raises(CommandNotAllowed):
        qualify(case)


def test_a_personal_text_added_to_the_state_is_erased_without_editing_any_list() -> None:
    """The erasure finds personal data by its type, wherever the state holds it: a field a
    later feature adds is erased with no list of personal fields to remember to update."""

    class CaseWithFileNotes(Case):
        file_notes: tuple[PersonalText, ...] = field(init=False, default=())
        referral: PersonalText | None = field(init=False, default=None)

    case = CaseWithFileNotes.report(
        company=company(),
        platform=Platform.parse("eBay"),
        description=PersonalText("Delisted"),
        occurred_on=TODAY,
        actor="reporter-1",
        now=NOW,
    )
    case.file_notes = (PersonalText("Called Jeanne Dupont"), PersonalText("She sent a photo"))
    case.referral = PersonalText("Referred by Maître Martin")
    case.erase_personal_data(reason="GDPR art. 17", actor="dpo", now=NOW)
    assert case.file_notes == (ERASED, ERASED)
    assert case.referral == ERASED
    assert case.company.name == case.description == ERASED
