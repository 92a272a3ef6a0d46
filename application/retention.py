"""Retention: the personal data of cases resolved long enough ago is erased (the DPO's
`mediation retention run`), and what the erasures so far are."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from uuid import UUID

from application.case_store import CaseStore
from domain.case import Case


def cases_to_erase(store: CaseStore, as_of: date, years: int) -> list[UUID]:
    """Cases resolved more than `years` years before `as_of` whose personal data is kept."""
    resolved_on: dict[UUID, date] = {}
    erased: set[UUID] = set()
    for event in store.log_events(Case.Resolved, Case.PersonalDataErased):
        if isinstance(event, Case.PersonalDataErased):
            erased.add(event.originator_id)
        else:
            resolved_on[event.originator_id] = event.timestamp.date()
    limit = years_before(as_of, years)
    return [c for c, day in resolved_on.items() if day < limit and c not in erased]


def erasures_since(store: CaseStore, instant: datetime) -> int:
    """How many erasures were recorded from `instant` on."""
    return sum(e.timestamp >= instant for e in store.log_events(Case.PersonalDataErased))


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
