"""The case view is read from the case's state by name: every state field is shown (or the
test names why not), and what the view shows is the state's own value."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

from pydantic import AliasPath

from domain.case import Case
from domain.measures import Measure
from domain.measures import MeasureFacts
from domain.measures import StatementOfReasons
from domain.values import ERASED
from domain.values import PersonalText
from domain.values import Status
from interfaces.http.schemas import CaseView
from tests.domain.factories import NOW
from tests.domain.factories import case_in


def shown_state_fields() -> set[str]:
    """The state fields the view reads: its own names, and the roots of its alias paths."""
    names = set()
    for name, info in CaseView.model_fields.items():
        alias = info.validation_alias
        names.add(str(alias.path[0]) if isinstance(alias, AliasPath) else name)
    return names


def test_every_field_of_the_state_is_in_the_view() -> None:
    missing = {f.name for f in fields(Case)} - shown_state_fields()
    assert not missing, f"state fields the case view does not show: {sorted(missing)}"


def test_the_view_shows_the_state_values() -> None:
    case = case_in(Status.RESOLVED)
    case.measure = MeasureFacts(Measure.SUSPENSION, date(2026, 3, 1), StatementOfReasons.NOT_GIVEN)
    view = CaseView.of(case)
    assert view.id == case.id
    assert view.version == case.version
    assert view.status is Status.RESOLVED
    assert view.company.name == case.company.name.text
    assert view.company.siren == case.company.siren.value
    assert view.platform == case.platform.key
    assert view.platform_name == case.platform.reported_as.text
    assert view.tracking_code == str(case.tracking_code)
    assert view.resolution_summary == case.resolution_summary.text  # type: ignore[union-attr]
    assert view.measure is not None
    assert view.measure.measure is Measure.SUSPENSION
    assert view.measure.statement_of_reasons is StatementOfReasons.NOT_GIVEN
    assert [a.command for a in view.allowed_commands] == [
        a.command for a in case.allowed_commands()
    ]


def test_an_erased_case_shows_erased_texts() -> None:
    case = case_in(Status.AWAITING_PLATFORM)
    case.erase_personal_data(reason="request", actor="dpo", now=NOW)
    view = CaseView.of(case)
    texts = [view.company.name, view.company.contact_email, view.description, view.platform_name]
    assert texts == [ERASED.text] * 4
    assert view.personal_data_erased
    assert isinstance(case.description, PersonalText)
