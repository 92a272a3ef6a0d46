"""Erasure finds personal data by its type: a PersonalText added to the state, however deep,
is erased without any list of fields to keep up to date."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields

from domain.case import Case
from domain.values import ERASED
from domain.values import PersonalText
from domain.values import Status
from tests.domain.factories import NOW
from tests.domain.factories import case_in
from tests.domain.factories import reported_case


@dataclass(frozen=True)
class Witness:
    """A value a future event might put in the state: a personal text inside a dataclass."""

    name: PersonalText
    seen_on: str


def test_a_personal_text_added_to_the_state_is_erased_with_the_rest() -> None:
    case = reported_case()
    # What a new event's apply would do: new state, no list edited anywhere.
    case.new_note = PersonalText("Mme Durand a appelé")  # type: ignore[attr-defined]
    case.new_witnesses = (Witness(PersonalText("M. Petit"), "2026-03-02"),)  # type: ignore[attr-defined]
    case.erase_personal_data(reason="request", actor="dpo", now=NOW)
    assert case.new_note == ERASED  # type: ignore[attr-defined]
    assert case.new_witnesses == (Witness(ERASED, "2026-03-02"),)  # type: ignore[attr-defined]


def test_every_personal_text_of_a_resolved_case_reads_erased_and_nothing_else_changes() -> None:
    case = case_in(Status.RESOLVED)
    before = {f.name: getattr(case, f.name) for f in fields(Case)}
    case.erase_personal_data(reason="request", actor="dpo", now=NOW)
    for name, value in before.items():
        after = getattr(case, name)
        if name == "personal_data_erased":
            assert after is True
        elif isinstance(value, PersonalText):
            assert after == ERASED, name
        elif not _holds_personal_text(value):
            assert after == value, name
    assert case.company.siren == before["company"].siren  # not personal: kept
    assert case.company.name == ERASED


def _holds_personal_text(value: object) -> bool:
    if isinstance(value, PersonalText):
        return True
    if isinstance(value, tuple):
        return any(_holds_personal_text(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return any(_holds_personal_text(getattr(value, f)) for f in value.__dataclass_fields__)
    return False
