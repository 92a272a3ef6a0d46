"""Routes under /platform: a platform's own portal, for the cases sent to it.

A platform's token is bound to its platform: another platform's case, or a case not sent yet,
answers 404 exactly as a case that does not exist (its existence is not disclosed), and the
actor recorded is `platform:<key>`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from application.access import Credential, Role
from application.mediation import CommandResult
from interfaces.http.auth import AuthorizedRoute, require
from interfaces.http.deps import ETAG, IfMatch, MediationDep, command_answers
from interfaces.http.portal_views import PortalCaseView
from interfaces.http.problems import CASE_READ, COMMAND, answers
from interfaces.http.schemas import CommandResponse, PlatformResponseRequest

router = APIRouter(prefix="/platform/cases", tags=["platform portal"], route_class=AuthorizedRoute)

PlatformCaller = Annotated[Credential, Depends(require(Role.PLATFORM))]
ON_ITS_CASE = ("portal_case", "acknowledge_case", "respond_to_case")


def _platform(caller: Credential) -> str:
    assert caller.platform is not None  # settings bind every platform token to a platform
    return caller.platform


def _answer(response: Response, result: CommandResult) -> CommandResponse:
    response.headers["ETag"] = f'"{result.version}"'
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return CommandResponse.of(result)


@router.get(
    "/{case_id}",
    response_model=PortalCaseView,
    summary="Read a case sent to your platform",
    responses={200: {"description": "The case, as the platform sees it", **ETAG},
               **answers(*CASE_READ)},
)  # fmt: skip
def portal_case(
    case_id: UUID, response: Response, mediation: MediationDep, caller: PlatformCaller
) -> PortalCaseView:
    """A case sent to the token's platform: what the platform needs to act on it (the
    measure, the caseworker's message, the due date), never the business's contact. Another
    platform's case, or one not sent, is the same 404 as a case that does not exist."""
    case = mediation.case_for_platform(case_id, _platform(caller))
    response.headers["ETag"] = f'"{case.version}"'
    return PortalCaseView.of(case)


@router.post(
    "/{case_id}/acknowledge",
    response_model=CommandResponse,
    summary="Acknowledge a case sent to your platform",
    responses=command_answers(ON_ITS_CASE, *CASE_READ, "command-not-allowed", "version-conflict"),
)
def acknowledge_case(
    case_id: UUID, response: Response, mediation: MediationDep, caller: PlatformCaller
) -> CommandResponse:
    """Records that the platform has read the case, once a round; acknowledging again records
    nothing and answers the same, marked `Idempotent-Replayed: true`."""
    result = mediation.acknowledge_case(case_id, platform=_platform(caller), actor=caller.actor)
    return _answer(response, result)


@router.post(
    "/{case_id}/response",
    response_model=CommandResponse,
    summary="Answer a case sent to your platform",
    responses=command_answers(ON_ITS_CASE, *COMMAND),
)
def respond_to_case(
    case_id: UUID,
    body: PlatformResponseRequest,
    response: Response,
    mediation: MediationDep,
    caller: PlatformCaller,
    if_match: IfMatch,
) -> CommandResponse:
    """Records the platform's answer to a case awaiting it (its stance, its words, the day it
    answered), under the rules of a caseworker's `platform-response`, `If-Match` included."""
    result = mediation.record_platform_response(
        case_id,
        **body.to_command(),
        actor=caller.actor,
        expected_version=if_match,
        platform=_platform(caller),
    )
    return _answer(response, result)
