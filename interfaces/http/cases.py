"""Routes under /cases: the report, the five workflow commands, and the reads of one case."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Query
from fastapi import Request
from fastapi import Response

from domain.errors import InvalidValue
from interfaces.http.auth import AuthorizedRoute
from interfaces.http.deps import COMMAND_ANSWERS
from interfaces.http.deps import ETAG
from interfaces.http.deps import REPORT_ANSWERS
from interfaces.http.deps import CaseReader
from interfaces.http.deps import Caseworker
from interfaces.http.deps import IdempotencyKey
from interfaces.http.deps import IfMatch
from interfaces.http.deps import MediationDep
from interfaces.http.deps import Reporter
from interfaces.http.problems import CASE_READ
from interfaces.http.problems import answers
from interfaces.http.schemas import CaseView
from interfaces.http.schemas import CommandResponse
from interfaces.http.schemas import EscalateCaseRequest
from interfaces.http.schemas import EscalateCaseResponse
from interfaces.http.schemas import HistoryEventView
from interfaces.http.schemas import HistoryView
from interfaces.http.schemas import PlatformResponseRequest
from interfaces.http.schemas import QualifyCaseRequest
from interfaces.http.schemas import ReportCaseRequest
from interfaces.http.schemas import ReportCaseResponse
from interfaces.http.schemas import ResolveCaseRequest
from interfaces.http.schemas import SendToPlatformRequest
from interfaces.http.schemas import SendToPlatformResponse

router = APIRouter(prefix="/cases", tags=["cases"], route_class=AuthorizedRoute)


RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def instant(text: str) -> datetime:
    """An instant from a query string, written as RFC 3339 says (the `date-time` format of the
    contract: with seconds and a UTC offset), where an unencoded '+' arrives as a space."""
    written = text.strip().replace(" ", "+")
    try:
        if RFC_3339.fullmatch(written) is None:
            raise ValueError(written)
        return datetime.fromisoformat(written)
    except ValueError:
        raise InvalidValue(
            "at", f"{text!r} is not an instant with its UTC offset (RFC 3339)", where="query"
        ) from None


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.post(
    "",
    status_code=201,
    summary="Report a business's trouble with a platform",
    responses=REPORT_ANSWERS,
)
def report_case(
    body: ReportCaseRequest,
    request: Request,
    response: Response,
    mediation: MediationDep,
    reporter: Reporter,
    key: IdempotencyKey,
) -> ReportCaseResponse:
    """Opens a case for a business's trouble with a platform, and answers its id, its version
    and the tracking code the business follows it with (`GET /track/{tracking_code}`). With an
    `Idempotency-Key`, the same report sent again answers the first answer and records
    nothing."""
    report = body.to_report(request.app.state.settings.platforms)
    result = mediation.report_case(report, actor=reporter.actor, idempotency_key=key)
    response.headers["Location"] = f"/cases/{result.case_id}"
    _etag(response, result.version)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ReportCaseResponse.of(result)


@router.post(
    "/{case_id}/qualify",
    summary="Qualify a case",
    responses=COMMAND_ANSWERS,
)
def qualify_case(
    case_id: UUID,
    body: QualifyCaseRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> CommandResponse:
    """Sets the case's category, priority, summary, the P2B articles at stake and who handles
    it; a reported case, or a qualified one not yet sent, only. `If-Match` refuses it (412) if
    the case has moved on meanwhile."""
    result = mediation.qualify_case(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return CommandResponse.of(result)


@router.post(
    "/{case_id}/send-to-platform",
    summary="Send a case to the platform",
    responses=COMMAND_ANSWERS,
)
def send_to_platform(
    case_id: UUID,
    body: SendToPlatformRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> SendToPlatformResponse:
    """Sends the case's message to the platform and answers the date its response is due
    (15 days from today, 5 when urgent, unless `response_due` says otherwise)."""
    result = mediation.send_to_platform(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return SendToPlatformResponse.of(result)


@router.post(
    "/{case_id}/platform-response",
    summary="Record the platform's answer",
    responses=COMMAND_ANSWERS,
)
def record_platform_response(
    case_id: UUID,
    body: PlatformResponseRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> CommandResponse:
    """Records how the platform answered a case awaiting it (its stance, its words, the day
    it answered): the case then waits for the caseworker's review."""
    result = mediation.record_platform_response(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return CommandResponse.of(result)


@router.post(
    "/{case_id}/escalate",
    summary="Escalate a case to the business mediator",
    responses=COMMAND_ANSWERS,
)
def escalate_case(
    case_id: UUID,
    body: EscalateCaseRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> EscalateCaseResponse:
    """Hands the case to the business mediator, with the reason, and answers the mediator's
    file reference."""
    result = mediation.escalate_case(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return EscalateCaseResponse.of(result)


@router.post(
    "/{case_id}/resolve",
    summary="Resolve a case with an outcome",
    responses=COMMAND_ANSWERS,
)
def resolve_case(
    case_id: UUID,
    body: ResolveCaseRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> CommandResponse:
    """Closes the case with an outcome its status allows (the case's `allowed_commands` lists
    them); a resolved case takes no more commands."""
    result = mediation.resolve_case(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return CommandResponse.of(result)


@router.get(
    "/{case_id}",
    summary="Read a case, now or as it was",
    responses={200: {"description": "The case as asked for", **ETAG}, **answers(*CASE_READ)},
)
def get_case(
    case_id: UUID,
    response: Response,
    mediation: MediationDep,
    _: CaseReader,
    version: Annotated[
        int | None, Query(ge=1, le=10**9, description="the state right after event N")
    ] = None,
    at: Annotated[
        str | None,
        Query(
            max_length=64,
            description="the state at this instant: RFC 3339, with its UTC offset "
            "(`2026-11-26T12:00:00Z`); 404 before the case existed",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
) -> CaseView:
    """Every field the case's events set, and the commands its status allows: now, right after
    event `version`, or as it stood at the instant `at`."""
    case = mediation.get_case(case_id, version=version, at=None if at is None else instant(at))
    _etag(response, case.version)
    return CaseView.of(case)


@router.get(
    "/{case_id}/history",
    summary="Read a case's history",
    response_description="The case's events, oldest first",
    responses=answers(*CASE_READ),
)
def case_history(case_id: UUID, mediation: MediationDep, _: CaseReader) -> HistoryView:
    """Every event of the case, oldest first: its version, type, when it was recorded, the
    actor whose token caused it, and its data."""
    entries = mediation.case_history(case_id)
    return HistoryView(
        case_id=case_id,
        events=[HistoryEventView.of(e) for e in entries],
    )
