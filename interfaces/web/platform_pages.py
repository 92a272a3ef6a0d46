"""A platform's pages in the console: `/console/plateforme`, the cases sent to it (to
acknowledge, to answer, answered), and the case page with its two forms, acknowledge and
answer.

They are the portal of the API (interfaces/http/portal.py) as pages: the list is the page
`GET /platform/cases` answers (its read model, its keyset cursor), a case is what
`GET /platform/cases/{id}` shows (never the business's contact, nor the caseworker's notes or
assignee), and the answer has the body and the rules of `POST /platform/cases/{id}/response`,
the case's version as If-Match. Another platform's case, or a case not sent yet, is the same
404 page as a case that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from application.access import Role
from application.case_queues import Cursor
from application.case_queues import Order
from application.errors import VersionConflict
from application.mediation import MediationApplication
from application.platform_cases import PlatformCases
from domain.case import RECORD_PLATFORM_RESPONSE
from domain.errors import CommandNotAllowed
from domain.errors import InvalidValue
from domain.values import Stance
from domain.values import Status
from interfaces.http.deps import read_model_at
from interfaces.http.portal import portal_page
from interfaces.http.portal_views import PortalCaseView
from interfaces.web.case_forms import FORMS
from interfaces.web.case_forms import FormRefused
from interfaces.web.case_forms import Refusal
from interfaces.web.case_forms import posted_values
from interfaces.web.case_forms import posted_version
from interfaces.web.case_forms import run_command
from interfaces.web.case_forms import validated
from interfaces.web.case_page import Notice
from interfaces.web.case_page import parsed_case_id
from interfaces.web.console import min_position
from interfaces.web.console_pages import console_page
from interfaces.web.console_words import words
from interfaces.web.forms import checked_form
from interfaces.web.page_errors import PageRoute
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.pages import url
from interfaces.web.staff import StaffMember
from interfaces.web.staff import require_staff
from interfaces.web.wording import N_
from interfaces.web.wording import wording

router = APIRouter(route_class=PageRoute)

PLATFORM = require_staff(Role.PLATFORM)
"""A platform's pages: the cases sent to it, and its two commands (docs/http.md)."""
PlatformMember = Annotated[StaffMember, Depends(PLATFORM)]

PAGE_SIZE = 20
ACKNOWLEDGE = "acknowledge"
ANSWER = FORMS[RECORD_PLATFORM_RESPONSE]
"""The answer's form: the caseworker's form of the same command, with the same rules."""

SHOWN = {"to-do": Status.AWAITING_PLATFORM, "answered": Status.PLATFORM_RESPONDED}
"""The list's filter: the cases awaiting the platform, or those it answered."""

DONE = {
    ACKNOWLEDGE: N_("Your acknowledgement was recorded."),
    ANSWER.command: N_("Your answer was recorded. Thank you."),
}


def platform_of(staff: StaffMember) -> str:
    assert staff.platform is not None  # the accounts bind every platform's account to one
    return staff.platform


def to_do(case: PortalCaseView) -> str:
    """What the platform has to do with the case, in words: acknowledge, answer, nothing."""
    if ACKNOWLEDGE in case.allowed_commands:
        return N_("To acknowledge")
    if "response" in case.allowed_commands:
        return N_("To answer")
    if case.responded_on is not None:
        return N_("Answered")
    return N_("Nothing to do")


@page(router, "platform_home")
async def platform_home(request: Request, staff: PlatformMember) -> HTMLResponse:
    """The cases sent to the platform, the most recently sent first, a page at a time."""
    shown = request.query_params.get("show", "")
    status = SHOWN.get(shown)
    cursor = request.query_params.get("cursor") or None
    try:
        after = None if cursor is None else Cursor.decode(cursor, Order.DUE_FIRST)
    except InvalidValue:
        after, cursor = None, None
    position = min_position(request)
    if position is not None:
        await read_model_at(request, position)
    view: PlatformCases = request.app.state.runner.view(PlatformCases.name)
    listed = await run_in_threadpool(
        portal_page,
        request.app.state.mediation,
        view,
        platform_of(staff),
        status,
        None,
        PAGE_SIZE,
        after,
    )
    return console_page(
        request,
        "console/platform_home.html",
        staff,
        {
            "platform_name": request.app.state.settings.platforms.display_name(staff.platform),
            "cases": [(case, to_do(case)) for case in listed.items],
            "show": shown if status is not None else "",
            "next_cursor": listed.next_cursor,
            "later_page": cursor is not None,
        },
    )


@dataclass(frozen=True)
class PortalCase:
    """A case as `GET /platform/cases/{id}` shows it, and whether its personal data was erased
    (its answer then takes no text)."""

    view: PortalCaseView
    erased: bool


def show_portal_case(
    request: Request,
    staff: StaffMember,
    shown: PortalCase,
    *,
    notice: Notice | None = None,
    refusal: Refusal | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The case as the portal shows it, with the forms its status allows."""
    case = shown.view
    lang = language(request)
    say = wording(lang)
    label = words(lang)
    errors = {} if refusal is None else refusal.errors
    return console_page(
        request,
        "console/platform_case.html",
        staff,
        {
            "case": case,
            "erased": shown.erased,
            "platform_name": request.app.state.settings.platforms.display_name(case.platform),
            "to_do": to_do(case),
            "form": ANSWER,
            "notice": notice,
            "notice_text": None if notice is None else say(notice.message, **notice.params),
            "form_action": url("platform_case", lang, case_id=case.id),
            "answer_heading": say(N_("Your answer")),
            "answer_button": say(N_("Send your answer")),
            "errors": {name: say(text, **values) for name, (text, values) in errors.items()},
            "refused_command": None if refusal is None else ANSWER.command,
            "values": typed or {},
            "choices": {"stance": [(s.value, label(s), None) for s in Stance]},
        },
        status_code=status_code,
    )


def read_portal_case(mediation: MediationApplication, case_id: UUID, platform: str) -> PortalCase:
    """The case as the portal shows it; not found unless sent to `platform`."""
    case = mediation.case_for_platform(case_id, platform)
    return PortalCase(PortalCaseView.of(case), case.personal_data_erased)


@page(router, "platform_case")
def platform_case(request: Request, case_id: str, staff: PlatformMember) -> HTMLResponse:
    """A case sent to the platform: what it needs to act, and its two forms."""
    mediation: MediationApplication = request.app.state.mediation
    shown = read_portal_case(mediation, parsed_case_id(case_id), platform_of(staff))
    done = DONE.get(request.query_params.get("done", ""))
    notice = None if done is None else Notice("done", done, {})
    return show_portal_case(request, staff, shown, notice=notice)


@page(router, "platform_case", methods=("POST",))
async def platform_command(request: Request, case_id: str, staff: PlatformMember) -> Response:
    """Acknowledge or answer, from the case page: 303 back to the page once recorded, else
    the page again saying why (each error by its field, what was typed kept)."""
    posted = await checked_form(request)
    mediation: MediationApplication = request.app.state.mediation
    platform = platform_of(staff)
    identifier = parsed_case_id(case_id)
    shown = await run_in_threadpool(read_portal_case, mediation, identifier, platform)
    command = str(posted.get("command", ""))
    typed: dict[str, str] = {}
    try:
        if command == ACKNOWLEDGE:
            await run_in_threadpool(
                mediation.acknowledge_case, identifier, platform=platform, actor=staff.actor
            )
        elif command == ANSWER.command:
            typed = posted_values(ANSWER, posted)
            arguments = validated(ANSWER, typed, personal_data_erased=shown.erased)
            await run_in_threadpool(
                run_command,
                ANSWER,
                mediation,
                identifier,
                arguments,
                actor=staff.actor,
                expected_version=posted_version(posted),
                platform=platform,
            )
        else:
            notice = Notice("refused", N_("This action does not exist."), {})
            return show_portal_case(request, staff, shown, notice=notice, status_code=400)
    except FormRefused as refused:
        return show_portal_case(
            request, staff, shown, refusal=refused.refusal, typed=typed, status_code=422
        )
    except VersionConflict:
        shown = await run_in_threadpool(read_portal_case, mediation, identifier, platform)
        notice = Notice("stale", CHANGED, {"version": shown.view.version})
        return show_portal_case(request, staff, shown, notice=notice, typed=typed, status_code=409)
    except CommandNotAllowed:
        notice = Notice("refused", NOT_NOW, {})
        return show_portal_case(request, staff, shown, notice=notice, status_code=409)
    done = url("platform_case", language(request), {"done": command}, case_id=identifier)
    return RedirectResponse(done, status_code=303)


CHANGED = N_(
    "This case changed after this page was shown (it is now at version %(version)s). "
    "Nothing was recorded."
)
NOT_NOW = N_("This action is not possible in the case's status. Nothing was recorded.")
