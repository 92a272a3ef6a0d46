"""The report: the form a business fills in, and the receipt with its tracking code.

A report sent is answered 303 to the receipt. The receipt is shown to the browser that sent
the report only (its tracking code rides in a short-lived cookie, never in an address), and a
report sent twice (a double click, the back button, a reload) opens one case: its idempotency
key is a fingerprint of the browser and of what the form says (`report_key`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from babel.lists import format_list
from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from application.errors import CaseNotFound
from application.errors import IdempotencyKeyReused
from application.mediation import CommandResult
from application.mediation import MediationApplication
from domain.case import utc_today
from domain.measures import urgency_rule
from domain.values import ERASED
from domain.values import Priority
from infrastructure.settings import Settings
from interfaces.http.problems import STORE_ERRORS
from interfaces.web.forms import CSRF_COOKIE
from interfaces.web.forms import CSRF_FIELD
from interfaces.web.forms import checked_form
from interfaces.web.forms import secure
from interfaces.web.outage import store_outage_page
from interfaces.web.outage import unavailable
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.pages import render
from interfaces.web.pages import url
from interfaces.web.report_form import CATEGORIES
from interfaces.web.report_form import INVALID
from interfaces.web.report_form import LANGUAGES
from interfaces.web.report_form import MEASURES
from interfaces.web.report_form import SIREN_CHECKSUM
from interfaces.web.report_form import SIZES
from interfaces.web.report_form import STATEMENTS
from interfaces.web.report_form import Choice
from interfaces.web.report_form import ReportForm
from interfaces.web.report_form import ReportFormErrors
from interfaces.web.throttle import throttles
from interfaces.web.throttle import too_many
from interfaces.web.timeline import escalation_from
from interfaces.web.wording import wording

router = APIRouter()

REPORT_FORM_ACTOR = "web-form"
"""The actor recorded in the events of the reports sent through the site."""
RECEIPT_COOKIE = "mediation_receipt"
RECEIPT_SECONDS = 30 * 60
"""How long the browser that sent a report can show its receipt again."""
HONEYPOT = "website"
"""The form's field for robots only (hidden from people): filled in, nothing is recorded."""


def _mediation(request: Request) -> MediationApplication:
    mediation: MediationApplication = request.app.state.mediation
    return mediation


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _today(request: Request) -> date:
    return utc_today(_mediation(request).clock.now())


def _translated(choices: tuple[Choice, ...], lang: str) -> list[Choice]:
    say = wording(lang)
    return [(value, say(label), say(hint) if hint else None) for value, label, hint in choices]


def _form_page(
    request: Request, form: ReportForm, errors: dict[str, str] | None = None
) -> HTMLResponse:
    """The form as typed; refused (`errors`, each said by its field): 422."""
    context = _form_context(request, form, errors)
    return render(request, "report.html", context, status_code=200 if errors is None else 422)


def _form_context(
    request: Request, form: ReportForm, errors: dict[str, str] | None
) -> dict[str, Any]:
    lang = language(request)
    say = wording(lang)
    return {
        "values": form.values,
        "errors": errors or {},
        "honeypot": HONEYPOT,
        "sizes": _translated(SIZES, lang),
        "measures": _translated(MEASURES, lang),
        "statements": _translated(STATEMENTS, lang),
        "categories": _translated(CATEGORIES, lang),
        "languages": LANGUAGES,
        "platform_names": sorted(p.name for p in _settings(request).platforms),
        "retention_years": _settings(request).retention_years,
        "siren_messages": {"length": say(INVALID["siren"]), "checksum": say(SIREN_CHECKSUM)},
    }


def report_key(posted: FormData, browser: str) -> str:
    """The report's idempotency key: a fingerprint of the browser (its CSRF token) and of what
    the form says. The same report sent again from the same browser (a double click, the back
    button, a reload) opens one case; a report changed before it is sent again opens another."""
    said = sorted((name, str(value)) for name, value in posted.multi_items() if name != CSRF_FIELD)
    return hashlib.sha256(json.dumps([browser, said]).encode()).hexdigest()


@page(router, "report")
async def report_form(request: Request) -> HTMLResponse:
    """The empty form; the messages to the business in the page's language unless changed."""
    return _form_page(request, ReportForm.of({"language": language(request)}))


@page(router, "report", methods=("POST",))
async def send_report(request: Request) -> Response:
    """Records the report and answers 303 to its receipt; or the form again, as typed, with
    each error next to its field (422), or with a notice when the store cannot be reached."""
    posted = await checked_form(request)
    if not throttles(request).reports.admits(request):
        return too_many(request, throttles(request).reports)
    if posted.get(HONEYPOT):
        return RedirectResponse(url("receipt", language(request)), status_code=303)
    form = ReportForm.of(posted)
    key = report_key(posted, request.cookies[CSRF_COOKIE])
    try:
        result = await run_in_threadpool(_record, request, form, key)
    except ReportFormErrors as wrong:
        errors = wrong.said_in(language(request))
        return _form_page(request, form, errors)
    except STORE_ERRORS:
        context = _form_context(request, form, None) | {"outage": True}
        return unavailable(request, "report.html", context)
    answer = RedirectResponse(url("receipt", language(request)), status_code=303)
    answer.set_cookie(
        RECEIPT_COOKIE,
        str(result.tracking_code),
        max_age=RECEIPT_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/",
    )
    return answer


def _record(request: Request, form: ReportForm, key: str) -> CommandResult:
    """The report recorded once per form: a form changed after it was sent (back, edit,
    send) is a new report."""
    mediation = _mediation(request)
    report = form.report(_settings(request).platforms, _today(request))
    try:
        return mediation.report_case(report, actor=REPORT_FORM_ACTOR, idempotency_key=key)
    except IdempotencyKeyReused:
        return mediation.report_case(report, actor=REPORT_FORM_ACTOR)


@page(router, "receipt")
@store_outage_page
async def receipt(request: Request) -> HTMLResponse:
    """The tracking code of the report this browser just sent, and what happens next."""
    code = request.cookies.get(RECEIPT_COOKIE)
    if not code:
        return render(request, "no_receipt.html", status_code=404)
    try:
        case = await run_in_threadpool(_mediation(request).case_for_tracking_code, code)
    except CaseNotFound:
        return render(request, "no_receipt.html", status_code=404)
    today = _today(request)
    deadlines = _settings(request).deadlines
    priority = case.priority
    if priority is None and urgency_rule(case.reported_measure, today) is not None:
        priority = Priority.URGENT
    due = deadlines.due(today, priority)
    email = case.company.contact_email
    return render(
        request,
        "receipt.html",
        {
            "tracking_code": str(case.tracking_code),
            "email": None if email == ERASED else masked(email.text),
            "urgent": priority is Priority.URGENT,
            "answer_days": deadlines.response_days(priority),
            "due": due,
            "reminder_days": format_list(
                [str(d) for d in deadlines.reminder_days(priority)], locale=language(request)
            ),
            "grace_days": deadlines.grace_days(priority),
            "escalation": escalation_from(deadlines, due, priority),
        },
    )


def masked(address: str) -> str:
    """An e-mail address shown without its owner's name: `j•••@atelier-dupont.fr`."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}•••@{domain}"
