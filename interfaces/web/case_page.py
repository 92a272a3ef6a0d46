"""The case page: `/console/dossiers/{case_id}`, a header (company, platform, status, clocks),
the timeline of the history, and an action panel chosen by role.

The caseworker's panel holds exactly the forms the case's status allows (the transition table
in domain/case.py), each with the case's version in a hidden field: the form posts to the page
itself and the command runs as the API runs it, with that version as If-Match. A form made
from a version the case has moved past records nothing and says who moved first; a command
recorded answers 303 back to the page (Post/Redirect/Get) with a short confirmation.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from application.access import Role
from application.errors import CaseNotFound
from application.errors import VersionConflict
from application.history import HistoryEntry
from application.mediation import MediationApplication
from domain.case import Case
from domain.deadlines import Deadlines
from domain.deadlines import is_overdue
from domain.errors import CommandNotAllowed
from domain.measures import Measure
from domain.measures import StatementOfReasons
from domain.values import Category
from domain.values import EscalationReason
from domain.values import Priority
from domain.values import Stance
from interfaces.http.schemas import CaseView
from interfaces.web.case_forms import FORMS
from interfaces.web.case_forms import CommandForm
from interfaces.web.case_forms import FormRefused
from interfaces.web.case_forms import Refusal
from interfaces.web.case_forms import posted_values
from interfaces.web.case_forms import posted_version
from interfaces.web.case_forms import run_command
from interfaces.web.case_forms import validated
from interfaces.web.case_timeline import Step
from interfaces.web.case_timeline import timeline
from interfaces.web.console import Caseworker
from interfaces.web.console_pages import console_page
from interfaces.web.console_words import words
from interfaces.web.forms import checked_form
from interfaces.web.page_errors import PageRoute
from interfaces.web.pages import SHOWN_IN
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.pages import url
from interfaces.web.staff import StaffMember
from interfaces.web.wording import N_
from interfaces.web.wording import wording

router = APIRouter(route_class=PageRoute)

ACTION_PANELS: dict[Role, str] = {
    Role.CASEWORKER: "console/actions/caseworker.html",
    Role.AUDITOR: "console/actions/auditor.html",
}
"""The action panel each role sees on a case page; a role without one reads the page only."""


@dataclass(frozen=True)
class Clocks:
    """The case's deadlines as of today: the answer due, how late, when its grace ends."""

    today: date
    response_due: date | None
    overdue_days: int
    grace_ends: date | None
    next_due: date
    """The due date a sending today would set (the send form's default)."""


@dataclass(frozen=True)
class Notice:
    """What the page says above everything: a message to translate and its parameters."""

    kind: str  # "done", "stale" or "refused"
    message: str
    params: dict[str, Any]
    """The message's values: a date is written as the page writes dates."""


def clocks_of(case: Case, deadlines: Deadlines, today: date) -> Clocks:
    due = case.response_due
    return Clocks(
        today=today,
        response_due=due,
        overdue_days=(today - due).days if due is not None and is_overdue(due, today) else 0,
        grace_ends=None if due is None else deadlines.grace_ends(due, case.priority),
        next_due=deadlines.due(today, case.priority),
    )


def _value(value: Any) -> str:
    return "" if value is None else str(getattr(value, "value", value))


def defaults(case: CaseView, staff: StaffMember) -> dict[str, str]:
    """What the forms show before anything is typed: the qualification as it stands."""
    measure = case.measure
    return {
        "qualify-category": _value(case.category or case.category_hint),
        "qualify-priority": _value(case.priority),
        "qualify-summary": case.summary or "",
        "qualify-p2b_articles": ", ".join(case.p2b_articles),
        "qualify-assignee": case.assignee or staff.username,
        "qualify-measure": _value(measure and measure.measure),
        "qualify-effective_on": _value(measure and measure.effective_on),
        "qualify-statement_of_reasons": _value(measure and measure.statement_of_reasons),
        "qualify-notice_received_on": _value(measure and measure.notice_received_on),
    }


def form_choices(lang: str, case: CaseView) -> dict[str, list[tuple[str, ...]]]:
    """What each choice of the forms offers: (value, words) for a list, (value, words, hint)
    for radios; `resolve` offers the outcomes the case's status allows."""
    label = words(lang)
    allowed = {a.command: a for a in case.allowed_commands}
    outcomes = (allowed["resolve"].outcomes or []) if "resolve" in allowed else []

    def listed(values: Iterable[Enum]) -> list[tuple[str, ...]]:
        return [(v.value, label(v)) for v in values]

    def radios(values: Iterable[Enum]) -> list[tuple[str, ...]]:
        return [(v.value, label(v), None) for v in values]  # type: ignore[misc]

    return {
        "category": listed(Category),
        "priority": listed(Priority),
        "measure": listed(Measure),
        "statement_of_reasons": listed(StatementOfReasons),
        "stance": radios(Stance),
        "reason": radios(EscalationReason),
        "outcome": radios(outcomes),
    }


def parsed_case_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CaseNotFound(None) from None


def read_case(mediation: MediationApplication, case_id: UUID) -> tuple[Case, list[HistoryEntry]]:
    """The case now and its history (blocking)."""
    return mediation.get_case(case_id), mediation.case_history(case_id)


def first_move_after(history: list[HistoryEntry], version: int) -> HistoryEntry:
    """The event that moved the case past `version`: who moved first."""
    return next((e for e in history if e.version > version), history[-1])


def moved_by(event: HistoryEntry) -> dict[str, Any]:
    """Who moved the case, at what time, on which day (in the service's time zone)."""
    local = event.recorded_at.astimezone(SHOWN_IN)
    return {"actor": event.actor, "time": local.strftime("%H:%M"), "day": local.date()}


def show_case(
    request: Request,
    staff: StaffMember,
    case: Case,
    history: list[HistoryEntry],
    *,
    notice: Notice | None = None,
    refused: tuple[CommandForm, Refusal] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
    extra: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    """The case page, with what was typed kept and each refusal by its field; `extra`: what
    the role's panel shows besides (it may stand in for the rest, as the clocks of a past
    version)."""
    mediation: MediationApplication = request.app.state.mediation
    view = CaseView.of(case)
    steps: list[Step] = timeline(history)
    allowed = {a.command: a for a in view.allowed_commands}
    say = wording(language(request))
    errors = {} if refused is None else refused[1].errors
    return console_page(
        request,
        "console/case.html",
        staff,
        {
            "case": view,
            "platform_name": request.app.state.settings.platforms.display_name(view.platform),
            "steps": steps,
            "clocks": clocks_of(case, mediation.deadlines, mediation.clock.now().date()),
            "notice": notice,
            "notice_text": None if notice is None else say(notice.message, **notice.params),
            "action_panel": ACTION_PANELS.get(staff.role),
            "forms": [FORMS[command] for command in allowed if command in FORMS],
            "refused_command": None if refused is None else refused[0].command,
            "errors": {field: say(text, **params) for field, (text, params) in errors.items()},
            "values": {**defaults(view, staff), **(typed or {})},
            "choices": form_choices(language(request), view),
            **(extra or {}),
        },
        status_code=status_code,
    )


@page(router, "case")
def case_page(request: Request, case_id: str, staff: Caseworker) -> HTMLResponse:
    """The case, its history and the commands its status allows."""
    case, history = read_case(request.app.state.mediation, parsed_case_id(case_id))
    done = FORMS.get(request.query_params.get("done", ""))
    notice = None if done is None else Notice("done", done.done, {})
    return show_case(request, staff, case, history, notice=notice)


@page(router, "case", methods=("POST",))
async def case_command(request: Request, case_id: str, staff: Caseworker) -> Response:
    """One command from its form: recorded then 303 back to the page, or the page again with
    the refusal (each error by its field, what was typed kept), or, when the case has moved
    since the form was made, who moved first and the case as it is now."""
    posted = await checked_form(request)
    mediation: MediationApplication = request.app.state.mediation
    identifier = parsed_case_id(case_id)
    form = FORMS.get(str(posted.get("command", "")))
    version = posted_version(posted)
    if form is None:
        case, history = await run_in_threadpool(read_case, mediation, identifier)
        notice = Notice("refused", N_("This action does not exist."), {})
        return show_case(request, staff, case, history, notice=notice, status_code=400)
    typed = posted_values(form, posted)
    erased = (await run_in_threadpool(mediation.get_case, identifier)).personal_data_erased
    try:
        arguments = validated(form, typed, personal_data_erased=erased)
        await run_in_threadpool(
            run_command,
            form,
            mediation,
            identifier,
            arguments,
            actor=staff.actor,
            expected_version=version,
        )
    except FormRefused as refusal:
        case, history = await run_in_threadpool(read_case, mediation, identifier)
        return show_case(
            request,
            staff,
            case,
            history,
            refused=(form, refusal.refusal),
            typed=typed,
            status_code=422,
        )
    except VersionConflict:
        case, history = await run_in_threadpool(read_case, mediation, identifier)
        first = first_move_after(history, version)
        notice = Notice(
            "stale",
            N_("This case was changed by %(actor)s at %(time)s, on %(day)s. Nothing was recorded."),
            moved_by(first),
        )
        return show_case(request, staff, case, history, notice=notice, typed=typed, status_code=409)
    except CommandNotAllowed:
        case, history = await run_in_threadpool(read_case, mediation, identifier)
        notice = Notice(
            "refused",
            N_("This action is not possible in the case's status. Nothing was recorded."),
            {},
        )
        return show_case(request, staff, case, history, notice=notice, status_code=409)
    done = url("case", language(request), {"done": form.command}, case_id=identifier)
    return RedirectResponse(done, status_code=303)
