"""The auditor's pages: `/console/audit` (open a case by its identifier), the case page read
only with its integrity badge and its replay "as of" a version or a day, the signed dossier to
download, and the dossier to print.

Each page reads what the API's auditor reads, through the same functions: the integrity report
of `GET /cases/{id}/integrity`, the states of `GET /cases/{id}?version=`/`?at=`, the history of
`GET /cases/{id}/history` and the dossier of `GET /cases/{id}/dossier`. The auditor may not
read the queues (docs/http.md), so a case is opened by its identifier. No page here changes a
case: the auditor's panel holds links and GET forms only.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Annotated
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import JSONResponse
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from application.access import Role
from application.dossier import make_dossier
from application.errors import CaseNotFound
from application.mediation import MediationApplication
from domain.case import Case
from interfaces.http.audit import dossier_document
from interfaces.http.audit import integrity_view
from interfaces.http.schemas import CaseView
from interfaces.http.schemas import IntegrityView
from interfaces.web.case_lookup import case_lookup
from interfaces.web.case_page import clocks_of
from interfaces.web.case_page import parsed_case_id
from interfaces.web.case_page import show_case
from interfaces.web.case_timeline import timeline
from interfaces.web.console_pages import console_page
from interfaces.web.page_errors import PageRoute
from interfaces.web.pages import SHOWN_IN
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.report_form import typed_date
from interfaces.web.staff import StaffMember
from interfaces.web.staff import require_staff
from interfaces.web.wording import N_
from interfaces.web.wording import wording

router = APIRouter(route_class=PageRoute)

AUDITOR = require_staff(Role.AUDITOR)
"""The auditor's pages: a case, its history, its integrity, its dossier (docs/http.md)."""
Auditor = Annotated[StaffMember, Depends(AUDITOR)]

REPLAY_FIELDS = ("version", "day", "time")

MESSAGES = {
    "version": N_("Choose a version from the list."),
    "no-version": N_("This case has no version %(version)s: choose one from the list."),
    "day": N_("Write the day as a date, for example 02/03/2026."),
    "time": N_("Write the time as hours and minutes, for example 14:30, or leave it empty."),
    "before": N_("The case did not exist yet at that moment: it was reported on %(date)s."),
    "both": N_("Ask for a version or a day, not both."),
}


@dataclass(frozen=True)
class Replay:
    """What the auditor asked to see: the case now, right after a version, or as it stood at
    an instant (a day, at a time or at its end); what was typed, and what is wrong with it."""

    version: int | None = None
    at: datetime | None = None
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def asked(self) -> bool:
        return self.version is not None or self.at is not None


def replay_asked(query: QueryParams) -> Replay:
    """The replay the query asks for (`version`, or `day` with an optional `time`), read as the
    API reads `?version=` and `?at=`: one or the other, never both."""
    typed = {name: query.get(name, "").strip()[:40] for name in REPLAY_FIELDS if query.get(name)}
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    version = None
    if typed.get("version"):
        text = typed["version"]
        if text.isdigit() and 0 < len(text) < 10 and int(text) > 0:
            version = int(text)
        else:
            errors["version"] = (MESSAGES["version"], {})
    at = None
    if typed.get("day") or typed.get("time"):
        day = typed_date(typed.get("day", ""))
        moment = read_time(typed.get("time", ""))
        if day is None:
            errors["day"] = (MESSAGES["day"], {})
        if moment is None:
            errors["time"] = (MESSAGES["time"], {})
        if day is not None and moment is not None:
            at = end_of(day) if moment == END_OF_DAY else datetime.combine(day, moment, SHOWN_IN)
    if version is not None and at is not None:
        errors["version"] = (MESSAGES["both"], {})
    if errors:
        return Replay(typed=typed, errors=errors)
    return Replay(version=version, at=at, typed=typed)


END_OF_DAY = time(23, 59, 59, 999999)


def read_time(text: str) -> time | None:
    """A time of day as a browser sends it (14:30, 14:30:05); blank: the end of the day."""
    if not text:
        return END_OF_DAY
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


def end_of(day: date) -> datetime:
    """The last instant of `day` in the service's time zone."""
    return datetime.combine(day + timedelta(days=1), time(0), SHOWN_IN) - timedelta(microseconds=1)


def replayed(mediation: MediationApplication, case_id: UUID, replay: Replay) -> Case:
    """The case as asked (blocking): the read of `GET /cases/{id}?version=`/`?at=`."""
    return mediation.get_case(case_id, version=replay.version, at=replay.at)


def refused_replay(replay: Replay, case: Case) -> Replay:
    """The replay asked of a version or an instant the case does not have, said by its field."""
    if replay.version is not None:
        error = (MESSAGES["no-version"], {"version": replay.version})
        return Replay(typed=replay.typed, errors={"version": error})
    reported = case.reported_at.astimezone(SHOWN_IN).date()
    return Replay(typed=replay.typed, errors={"day": (MESSAGES["before"], {"date": reported})})


def altered_at(integrity: IntegrityView) -> int | None:
    """The first version a problem names: where the stored history stops being intact."""
    versions = [p.version for p in integrity.problems if p.version is not None]
    return min(versions) if versions else None


@page(router, "audit_home")
def audit_home(request: Request, staff: Auditor) -> Response:
    """The auditor's console: a case opened by its identifier."""
    return case_lookup(request, staff, "audit_case", "console/audit_home.html")


@page(router, "audit_case")
def audit_case(request: Request, case_id: str, staff: Auditor) -> HTMLResponse:
    """The case read only: its integrity, its state and history now or as they stood."""
    mediation: MediationApplication = request.app.state.mediation
    identifier = parsed_case_id(case_id)
    integrity = integrity_view(mediation, identifier)
    audit = {"case_id": identifier, "integrity": integrity, "altered_at": altered_at(integrity)}
    if not integrity.verified:
        return console_page(request, "console/audit_altered.html", staff, audit)
    history = mediation.case_history(identifier)
    now = mediation.get_case(identifier)
    replay = replay_asked(request.query_params)
    case = now
    if replay.asked:
        try:
            case = replayed(mediation, identifier, replay)
        except CaseNotFound:
            replay = refused_replay(replay, now)
    say = wording(language(request))
    errors = {name: say(text, **values) for name, (text, values) in replay.errors.items()}
    return show_case(
        request,
        staff,
        case,
        [entry for entry in history if entry.version <= case.version],
        status_code=422 if replay.errors else 200,
        extra={
            **audit,
            "replay": replay,
            "replay_errors": errors,
            "head_version": now.version,
            "versions": timeline(history),
            "clocks": clocks_of(case, mediation.deadlines, clocks_day(mediation, case, replay)),
        },
    )


def clocks_day(mediation: MediationApplication, case: Case, replay: Replay) -> date:
    """The day the case's clocks are read at: today for the case now, else the day it stood
    so (the instant asked, or the day of the version's event)."""
    if replay.at is not None:
        return replay.at.astimezone(SHOWN_IN).date()
    if replay.version is not None:
        return case.updated_at.astimezone(SHOWN_IN).date()
    today: date = mediation.clock.now().date()
    return today


@page(router, "audit_dossier")
def audit_dossier(request: Request, case_id: str, staff: Auditor) -> Response:
    """The case's signed dossier, the very document `GET /cases/{id}/dossier` answers, as a
    file to keep."""
    identifier = parsed_case_id(case_id)
    document = dossier_document(request.app.state.mediation, identifier)
    return JSONResponse(
        document,
        headers={"Content-Disposition": f'attachment; filename="dossier-{identifier}.json"'},
    )


@page(router, "audit_print")
def audit_print(request: Request, case_id: str, staff: Auditor) -> HTMLResponse:
    """The dossier on paper: the same dossier as the download, its state, history, integrity
    and signed statement laid out to print."""
    mediation: MediationApplication = request.app.state.mediation
    identifier = parsed_case_id(case_id)
    made = make_dossier(mediation, identifier)
    integrity = IntegrityView.of(made.integrity, mediation.trusted_checkpoint())
    context: dict[str, Any] = {
        "case_id": identifier,
        "generated_at": made.generated_at,
        "integrity": integrity,
        "altered_at": altered_at(integrity),
        "statement": made.statement,
        "public_key": made.public_key,
        "signature": made.signature,
    }
    if made.case is not None and made.history is not None:
        view = CaseView.of(made.case)
        today = mediation.clock.now().date()
        context |= {
            "case": view,
            "platform_name": request.app.state.settings.platforms.display_name(view.platform),
            "clocks": clocks_of(made.case, mediation.deadlines, today),
            "steps": timeline(made.history),
        }
    return console_page(request, "console/dossier_print.html", staff, context)
