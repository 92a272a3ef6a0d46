"""Routes under /cases: the report, the five workflow commands, and the reads of one case."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Protocol
from uuid import UUID

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Query
from fastapi import Request
from fastapi import Response
from fastapi.types import DecoratedCallable

from application.access import Credential
from application.mediation import CommandResult
from application.mediation import MediationApplication
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
from interfaces.http.deps import recorded
from interfaces.http.deps import set_etag
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


class CommandRequest(Protocol):
    """The body of a caseworker's command: the command's own arguments."""

    def to_command(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CaseworkerCommands:
    """What a caseworker's command on a case takes besides the case and its body: the
    application, the caseworker (the actor recorded), the version `If-Match` expects, and the
    answer, which carries the case's new version as its ETag."""

    mediation: MediationApplication
    caseworker: Credential
    if_match: int | None
    response: Response

    def run(
        self, command: Callable[..., CommandResult], case_id: UUID, body: CommandRequest
    ) -> CommandResult:
        """`command`, a method of MediationApplication, on the case with the body's arguments."""
        result = command(
            self.mediation,
            case_id,
            **body.to_command(),
            actor=self.caseworker.actor,
            expected_version=self.if_match,
        )
        return recorded(self.response, result)


async def caseworker_commands(
    response: Response, mediation: MediationDep, caseworker: Caseworker, if_match: IfMatch
) -> CaseworkerCommands:
    return CaseworkerCommands(mediation, caseworker, if_match, response)


Commands = Annotated[CaseworkerCommands, Depends(caseworker_commands)]


def command_route(path: str, summary: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The route of a caseworker's command on a case: a POST to `path`, answering what every
    such command answers (COMMAND_ANSWERS)."""
    return router.post(path, summary=summary, responses=COMMAND_ANSWERS)


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
    return ReportCaseResponse.of(recorded(response, result))


@command_route("/{case_id}/qualify", summary="Qualify a case")
def qualify_case(case_id: UUID, body: QualifyCaseRequest, commands: Commands) -> CommandResponse:
    """Sets the case's category, priority, summary, the P2B articles at stake and who handles
    it; a reported case, or a qualified one not yet sent, only. `If-Match` refuses it (412) if
    the case has moved on meanwhile."""
    return CommandResponse.of(commands.run(MediationApplication.qualify_case, case_id, body))


@command_route("/{case_id}/send-to-platform", summary="Send a case to the platform")
def send_to_platform(
    case_id: UUID, body: SendToPlatformRequest, commands: Commands
) -> SendToPlatformResponse:
    """Sends the case's message to the platform and answers the date its response is due
    (15 days from today, 5 when urgent, unless `response_due` says otherwise)."""
    return SendToPlatformResponse.of(
        commands.run(MediationApplication.send_to_platform, case_id, body)
    )


@command_route("/{case_id}/platform-response", summary="Record the platform's answer")
def record_platform_response(
    case_id: UUID, body: PlatformResponseRequest, commands: Commands
) -> CommandResponse:
    """Records how the platform answered a case awaiting it (its stance, its words, the day
    it answered): the case then waits for the caseworker's review."""
    return CommandResponse.of(
        commands.run(MediationApplication.record_platform_response, case_id, body)
    )


@command_route("/{case_id}/escalate", summary="Escalate a case to the business mediator")
def escalate_case(
    case_id: UUID, body: EscalateCaseRequest, commands: Commands
) -> EscalateCaseResponse:
    """Hands the case to the business mediator, with the reason, and answers the mediator's
    file reference."""
    return EscalateCaseResponse.of(commands.run(MediationApplication.escalate_case, case_id, body))


@command_route("/{case_id}/resolve", summary="Resolve a case with an outcome")
def resolve_case(case_id: UUID, body: ResolveCaseRequest, commands: Commands) -> CommandResponse:
    """Closes the case with an outcome its status allows (the case's `allowed_commands` lists
    them); a resolved case takes no more commands."""
    return CommandResponse.of(commands.run(MediationApplication.resolve_case, case_id, body))


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
    set_etag(response, case.version)
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
