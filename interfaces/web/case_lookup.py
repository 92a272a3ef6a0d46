"""Opening a case by its identifier: the console home of the roles that read no queue (the
auditor, the data protection officer), a GET form that leads to the role's case page."""

from __future__ import annotations

from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from fastapi.responses import Response

from interfaces.web.console_pages import console_page
from interfaces.web.pages import language
from interfaces.web.pages import url
from interfaces.web.staff import StaffMember
from interfaces.web.wording import N_
from interfaces.web.wording import wording

FIELD = "case_id"
UNREADABLE = N_(
    "Write the case's identifier as the console or the API shows it: 36 characters, "
    "for example 0f8d5c1e-4b2a-4c7e-9a51-3d2e8b7c6a10."
)


def case_lookup(request: Request, staff: StaffMember, case_page: str, template: str) -> Response:
    """`template`'s form; once an identifier is given, 303 to `case_page` for it, or the form
    again with the error by its field (422)."""
    typed = request.query_params.get(FIELD, "").strip()[:100]
    if not typed:
        return console_page(request, template, staff, {"values": {}, "errors": {}})
    try:
        case_id = UUID(typed)
    except ValueError:
        error = wording(language(request))(UNREADABLE)
        context = {"values": {FIELD: typed}, "errors": {FIELD: error}}
        return console_page(request, template, staff, context, status_code=422)
    return RedirectResponse(url(case_page, language(request), case_id=case_id), status_code=303)
