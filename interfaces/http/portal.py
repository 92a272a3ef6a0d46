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
from interfaces.http.deps import IfMatch, MediationDep
from interfaces.http.portal_views import PortalCaseView
from interfaces.http.schemas import CommandResponse, PlatformResponseRequest

router = APIRouter(prefix="/platform/cases", tags=["platform portal"], route_class=AuthorizedRoute)

PlatformCaller = Annotated[Credential, Depends(require(Role.PLATFORM))]


def _platform(caller: Credential) -> str:
    assert caller.platform is not None  # settings bind every platform token to a platform
    return caller.platform


def _answer(response: Response, result: CommandResult) -> CommandResponse:
    response.headers["ETag"] = f'"{result.version}"'
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return CommandResponse.of(result)


@router.get("/{case_id}", response_model=PortalCaseView)
def portal_case(
    case_id: UUID, response: Response, mediation: MediationDep, caller: PlatformCaller
) -> PortalCaseView:
    """A case sent to the platform: what it needs to act, without the business's contact."""
    case = mediation.case_for_platform(case_id, _platform(caller))
    response.headers["ETag"] = f'"{case.version}"'
    return PortalCaseView.of(case)


@router.post("/{case_id}/acknowledge", response_model=CommandResponse)
def acknowledge(
    case_id: UUID, response: Response, mediation: MediationDep, caller: PlatformCaller
) -> CommandResponse:
    """The platform has read the case; acknowledging again records nothing and answers the
    same, marked `Idempotent-Replayed: true`."""
    result = mediation.acknowledge_case(case_id, platform=_platform(caller), actor=caller.actor)
    return _answer(response, result)


@router.post("/{case_id}/response", response_model=CommandResponse)
def respond(
    case_id: UUID,
    body: PlatformResponseRequest,
    response: Response,
    mediation: MediationDep,
    caller: PlatformCaller,
    if_match: IfMatch,
) -> CommandResponse:
    """The platform's answer, under the caseworker's rules (and the same If-Match)."""
    result = mediation.record_platform_response(
        case_id,
        **body.to_command(),
        actor=caller.actor,
        expected_version=if_match,
        platform=_platform(caller),
    )
    return _answer(response, result)
