"""The data protection officer's pages: `/console/protection-des-donnees` (open a case by its
identifier), the case's erasure form with its reason, then a confirmation page that says what
will be erased and that it cannot be undone, whose "Erase" button runs the erasure.

The erasure is `POST /cases/{id}/erase-personal-data` as a form: the reason is read by the
API's own request body (EraseRequest), the case's version rides in a hidden field as its
If-Match, and the command is the application's. The officer reads nothing of the case that the
API's role table does not let them (docs/http.md: no read of the case, only the erasure): the
page shows the case's identifier, its version and whether its personal data was erased.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from application.access import Role
from application.errors import VersionConflict
from application.mediation import MediationApplication
from domain.case import Case
from domain.errors import InvalidValue
from domain.errors import PersonalDataErasedError
from domain.values import MAX_REASON_LENGTH
from interfaces.http.schemas import EraseRequest
from interfaces.web.case_forms import posted_version
from interfaces.web.case_lookup import case_lookup
from interfaces.web.case_page import Notice
from interfaces.web.case_page import parsed_case_id
from interfaces.web.console_pages import console_page
from interfaces.web.forms import checked_form
from interfaces.web.page_errors import PageRoute
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.pages import url
from interfaces.web.platform_pages import CHANGED
from interfaces.web.staff import StaffMember
from interfaces.web.staff import require_staff
from interfaces.web.wording import N_
from interfaces.web.wording import wording

router = APIRouter(route_class=PageRoute)

DPO = require_staff(Role.DPO)
"""The data protection officer's pages: the erasure only (docs/http.md)."""
Officer = Annotated[StaffMember, Depends(DPO)]

REVIEW = "review"
ERASE = "erase"
"""The two steps of the form: the reason reviewed (the confirmation page), then erased."""

REASON = "reason"
REASON_MESSAGE = N_(
    "Write why the data is erased, in one text of at most %(max)s characters: the request's "
    "reference, the retention rule…"
)
ERASED_ALREADY = Notice(
    "refused", N_("The personal data of this case was erased already. Nothing was recorded."), {}
)
"""What the page says when the data was erased already, by whoever erased it first."""
ERASED = N_("The personal data of this case was erased.")


def read_case(mediation: MediationApplication, case_id: UUID) -> Case:
    """The case (blocking): only its version and whether it was erased are shown."""
    return mediation.get_case(case_id)


def show_erasure(
    request: Request,
    staff: StaffMember,
    case: Case,
    *,
    template: str = "console/erasure.html",
    notice: Notice | None = None,
    reason: str = "",
    version: int | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The erasure form (or its confirmation, `template`), for the version the officer saw."""
    say = wording(language(request))
    return console_page(
        request,
        template,
        staff,
        {
            "case_id": case.id,
            "version": case.version if version is None else version,
            "erased": case.personal_data_erased,
            "notice": notice,
            "notice_text": None if notice is None else say(notice.message, **notice.params),
            "values": {REASON: reason},
            "errors": {} if error is None else {REASON: error},
        },
        status_code=status_code,
    )


def reason_refused(request: Request) -> str:
    return wording(language(request))(REASON_MESSAGE, max=MAX_REASON_LENGTH)


@page(router, "dpo_home")
def dpo_home(request: Request, staff: Officer) -> Response:
    """The officer's console: a case opened by its identifier."""
    return case_lookup(request, staff, "erasure", "console/dpo_home.html")


@page(router, "erasure")
def erasure_form(request: Request, case_id: str, staff: Officer) -> HTMLResponse:
    """The case's erasure form, with its reason (or, once erased, that it was)."""
    case = read_case(request.app.state.mediation, parsed_case_id(case_id))
    notice = Notice("done", ERASED, {}) if request.query_params.get("done") == ERASE else None
    return show_erasure(request, staff, case, notice=notice)


@page(router, "erasure", methods=("POST",))
async def erasure(request: Request, case_id: str, staff: Officer) -> Response:
    """The reason reviewed: the confirmation page; confirmed: the erasure recorded and 303 to
    the case's page, or the page again saying why not (nothing recorded)."""
    posted = await checked_form(request)
    mediation: MediationApplication = request.app.state.mediation
    identifier = parsed_case_id(case_id)
    case = await run_in_threadpool(read_case, mediation, identifier)
    reason = str(posted.get(REASON, ""))[: MAX_REASON_LENGTH * 2]
    version = posted_version(posted)
    if case.personal_data_erased:
        return show_erasure(request, staff, case, notice=ERASED_ALREADY, status_code=409)
    try:
        checked = EraseRequest.model_validate({REASON: reason}).reason
    except (ValidationError, InvalidValue):
        error = reason_refused(request)
        return show_erasure(
            request, staff, case, reason=reason, version=version, error=error, status_code=422
        )
    if posted.get("step") != ERASE:
        return show_erasure(
            request, staff, case, template="console/erasure_confirm.html", reason=checked,
            version=version,
        )  # fmt: skip
    try:
        await run_in_threadpool(erase, mediation, identifier, checked, staff.actor, version)
    except VersionConflict:
        case = await run_in_threadpool(read_case, mediation, identifier)
        notice = Notice("stale", CHANGED, {"version": case.version})
        return show_erasure(request, staff, case, notice=notice, reason=checked, status_code=409)
    except PersonalDataErasedError:
        return show_erasure(request, staff, case, notice=ERASED_ALREADY, status_code=409)
    done = url("erasure", language(request), {"done": ERASE}, case_id=identifier)
    return RedirectResponse(done, status_code=303)


def erase(
    mediation: MediationApplication, case_id: UUID, reason: str, actor: str, version: int
) -> None:
    """The erasure, as `POST /cases/{id}/erase-personal-data` runs it, If-Match included."""
    mediation.erase_personal_data(case_id, reason=reason, actor=actor, expected_version=version)
