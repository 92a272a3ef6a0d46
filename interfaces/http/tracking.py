"""Public tracking: a business follows its case with its tracking code, and sees no more."""

from __future__ import annotations

from fastapi import APIRouter

from interfaces.http.deps import MediationDep
from interfaces.http.problems import answers
from interfaces.http.schemas import TrackingView

router = APIRouter(tags=["public tracking"])


@router.get(
    "/track/{tracking_code}",
    summary="Follow a case with its tracking code",
    response_description="The case's status, when it was reported and last changed",
    responses=answers("not-found", "store-unavailable"),
)
def track(tracking_code: str, mediation: MediationDep) -> TrackingView:
    """Public, without a token: the status of the case behind a tracking code, when it was
    reported and last changed, and nothing else. An unknown code and a malformed one answer the
    same 404."""
    case = mediation.case_for_tracking_code(tracking_code[:100])
    return TrackingView(
        status=case.status, reported_at=case.reported_at, updated_at=case.updated_at
    )
