"""Following a case with its tracking code: the form that asks for it, and the case's page.

An unknown code and a malformed one get the same page, after the same work: a malformed code
is looked up as a fresh random one, which no case has.
"""

from __future__ import annotations

import contextlib
import logging
import re
from urllib.parse import quote

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from application.errors import CaseNotFound
from application.history import HistoryEntry
from application.mediation import MediationApplication
from application.personal_data import PersonalDataUnreadable
from application.sealing import IntegrityFailure
from domain.case import Case
from domain.errors import InvalidValue
from domain.values import TrackingCode
from infrastructure.settings import Settings
from interfaces.web.outage import store_outage_page
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.pages import render
from interfaces.web.pages import url
from interfaces.web.throttle import throttles
from interfaces.web.throttle import too_many
from interfaces.web.timeline import next_step
from interfaces.web.timeline import status_words
from interfaces.web.timeline import steps
from interfaces.web.wording import N_
from interfaces.web.wording import wording

router = APIRouter()
log = logging.getLogger("mediation.web")

LONGEST_CODE = 100
"""What is read of a code typed or put in an address (a real one is 26 characters)."""


@page(router, "track_form")
async def track_form(request: Request, code: str | None = None) -> Response:
    """Asks for the tracking code, then leads to its case's page."""
    if code is None:
        return render(request, "track_form.html", {"values": {}, "errors": {}})
    # Only what a code is written with: no character of it can lead to another address.
    typed = re.sub(r"[^0-9A-Za-z-]", "", code)[:LONGEST_CODE]
    if not typed:
        errors = {"code": wording(language(request))(N_("Enter your tracking code"))}
        return render(request, "track_form.html", {"values": {}, "errors": errors}, status_code=422)
    # A code that is not one is let through: its page says, as for any unknown code, where
    # to find the right one.
    with contextlib.suppress(InvalidValue):
        typed = str(TrackingCode.parse(typed))
    return RedirectResponse(
        url("track", language(request), code=quote(typed, safe="")), status_code=303
    )


@page(router, "track")
@store_outage_page
async def track(request: Request, code: str) -> HTMLResponse:
    """The case's status in words, its dated steps and the next one; an unknown code, 404; a
    case whose stored history fails verification, 409; too many look-ups from one address, 429."""
    if not throttles(request).tracking.admits(request):
        return too_many(request, throttles(request).tracking)
    mediation: MediationApplication = request.app.state.mediation
    settings: Settings = request.app.state.settings
    try:
        case, history = await run_in_threadpool(_case_and_history, mediation, code)
    except CaseNotFound:
        return render(request, "track_unknown.html", status_code=404)
    except (IntegrityFailure, PersonalDataUnreadable) as failure:
        # Never shown as if intact; the business is told so, the log says what failed.
        log.error("integrity failure: %s", failure)
        return render(request, "track_unverified.html", status_code=409)
    say = wording(language(request))
    return render(
        request,
        "track.html",
        {
            "status": status_words(case, say),
            "steps": steps(history, say),
            "next_step": next_step(case, settings.deadlines, say),
            "reported_at": case.reported_at,
        },
    )


def _case_and_history(
    mediation: MediationApplication, code: str
) -> tuple[Case, list[HistoryEntry]]:
    try:
        TrackingCode.parse(code[:LONGEST_CODE])
    except InvalidValue:
        code = TrackingCode.new().value
    case = mediation.case_for_tracking_code(code[:LONGEST_CODE])
    return case, mediation.case_history(case.id)
