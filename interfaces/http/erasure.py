"""Route for the data protection officer: erasing a case's personal data."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi import Response

from interfaces.http.auth import AuthorizedRoute
from interfaces.http.deps import COMMAND_ANSWERS
from interfaces.http.deps import DataProtectionOfficer
from interfaces.http.deps import IfMatch
from interfaces.http.deps import MediationDep
from interfaces.http.deps import recorded
from interfaces.http.schemas import CommandResponse
from interfaces.http.schemas import EraseRequest

router = APIRouter(prefix="/cases", tags=["erasure"], route_class=AuthorizedRoute)


@router.post(
    "/{case_id}/erase-personal-data",
    summary="Erase a case's personal data",
    responses=COMMAND_ANSWERS,
)
def erase_personal_data(
    case_id: UUID,
    body: EraseRequest,
    response: Response,
    mediation: MediationDep,
    officer: DataProtectionOfficer,
    if_match: IfMatch,
) -> CommandResponse:
    """Erases the case's personal data (GDPR): the case's key is destroyed with the event
    recorded, every personal field reads "[effacé]" from then on, and the case still replays,
    verifies and goes on to its outcome, its commands taking no free text."""
    result = mediation.erase_personal_data(
        case_id, reason=body.reason, actor=officer.actor, expected_version=if_match
    )
    return CommandResponse.of(recorded(response, result))
