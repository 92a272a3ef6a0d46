"""Routes under /cases: the report, the five workflow commands, and the reads of one case."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from domain.errors import InvalidValue
from interfaces.http.auth import AuthorizedRoute
from interfaces.http.deps import (
    CaseReader,
    Caseworker,
    IdempotencyKey,
    IfMatch,
    MediationDep,
    Reporter,
)
from interfaces.http.schemas import (
    CaseView,
    CommandResponse,
    EscalateCaseRequest,
    EscalateCaseResponse,
    HistoryEventView,
    HistoryView,
    PlatformResponseRequest,
    QualifyCaseRequest,
    ReportCaseRequest,
    ReportCaseResponse,
    ResolveCaseRequest,
    SendToPlatformRequest,
    SendToPlatformResponse,
)

router = APIRouter(prefix="/cases", tags=["cases"], route_class=AuthorizedRoute)


def instant(text: str) -> datetime:
    """An ISO 8601 instant from a query string, where an unencoded '+' arrives as a space."""
    try:
        return datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError:
        raise InvalidValue("at", f"{text!r} is not an ISO 8601 instant", where="query") from None


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.post("", status_code=201, response_model=ReportCaseResponse)
def report_case(
    body: ReportCaseRequest,
    request: Request,
    response: Response,
    mediation: MediationDep,
    reporter: Reporter,
    key: IdempotencyKey,
) -> ReportCaseResponse:
    """Report a business's trouble with a platform; answers the tracking code for the business."""
    report = body.to_report(request.app.state.settings.platforms)
    result = mediation.report_case(report, actor=reporter.actor, idempotency_key=key)
    response.headers["Location"] = f"/cases/{result.case_id}"
    _etag(response, result.version)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ReportCaseResponse.of(result)


@router.post("/{case_id}/qualify", response_model=CommandResponse)
def qualify(
    case_id: UUID,
    body: QualifyCaseRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> CommandResponse:
    """Set the category, priority and summary; a reported or qualified case only."""
    result = mediation.qualify_case(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return CommandResponse.of(result)


@router.post("/{case_id}/send-to-platform", response_model=SendToPlatformResponse)
def send_to_platform(
    case_id: UUID,
    body: SendToPlatformRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> SendToPlatformResponse:
    """Send the case to the platform; answers the date its response is due."""
    result = mediation.send_to_platform(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return SendToPlatformResponse.of(result)


@router.post("/{case_id}/platform-response", response_model=CommandResponse)
def platform_response(
    case_id: UUID,
    body: PlatformResponseRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> CommandResponse:
    """Record the platform's answer to a case awaiting it."""
    result = mediation.record_platform_response(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return CommandResponse.of(result)


@router.post("/{case_id}/escalate", response_model=EscalateCaseResponse)
def escalate(
    case_id: UUID,
    body: EscalateCaseRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> EscalateCaseResponse:
    """Escalate to the business mediator; answers the mediator's file reference."""
    result = mediation.escalate_case(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return EscalateCaseResponse.of(result)


@router.post("/{case_id}/resolve", response_model=CommandResponse)
def resolve(
    case_id: UUID,
    body: ResolveCaseRequest,
    response: Response,
    mediation: MediationDep,
    caseworker: Caseworker,
    if_match: IfMatch,
) -> CommandResponse:
    """Close the case with an outcome its status allows."""
    result = mediation.resolve_case(
        case_id, **body.to_command(), actor=caseworker.actor, expected_version=if_match
    )
    _etag(response, result.version)
    return CommandResponse.of(result)


@router.get("/{case_id}", response_model=CaseView)
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
        Query(max_length=64, description="the state at this instant (ISO 8601, with offset)"),
    ] = None,
) -> CaseView:
    """The case now, or as it was at a version or an instant."""
    case = mediation.get_case(case_id, version=version, at=None if at is None else instant(at))
    _etag(response, case.version)
    return CaseView.of(case)


@router.get("/{case_id}/history", response_model=HistoryView)
def history(case_id: UUID, mediation: MediationDep, _: CaseReader) -> HistoryView:
    """Every event of the case, oldest first: who did what, when."""
    entries = mediation.case_history(case_id)
    return HistoryView(
        case_id=case_id,
        events=[HistoryEventView.of(e) for e in entries],
    )
