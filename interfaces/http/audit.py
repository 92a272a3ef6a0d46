"""Routes for auditors: a case's integrity and its dossier."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from application.audit import CHAIN_RULE
from application.audit import DOSSIER_FORMAT
from application.dossier import make_dossier
from application.mediation import MediationApplication
from interfaces.http.auth import AuthorizedRoute
from interfaces.http.deps import Auditor
from interfaces.http.deps import MediationDep
from interfaces.http.problems import CASE_READ
from interfaces.http.problems import READ
from interfaces.http.problems import answers
from interfaces.http.schemas import CaseView
from interfaces.http.schemas import HistoryEventView
from interfaces.http.schemas import IntegrityView

router = APIRouter(prefix="/cases", tags=["audit"], route_class=AuthorizedRoute)


@router.get(
    "/{case_id}/integrity",
    summary="Check a case's stored history",
    response_description="What was checked, and each problem found (none: `verified`)",
    responses=answers(*READ, "not-found"),
)
def case_integrity(case_id: UUID, mediation: MediationDep, _: Auditor) -> IntegrityView:
    """Whether the case's stored history is intact (its hash chain, the seal of each event,
    its snapshots, the events the latest signed checkpoint saw), and each problem found."""
    return integrity_view(mediation, case_id)


def integrity_view(mediation: MediationApplication, case_id: UUID) -> IntegrityView:
    """The case's integrity report as `GET /cases/{id}/integrity` answers it (and the
    console's auditor sees it)."""
    return IntegrityView.of(mediation.integrity_report(case_id), mediation.trusted_checkpoint())


@router.get(
    "/{case_id}/dossier",
    summary="Download a case's signed dossier",
    response_description="The dossier, a JSON document to keep and verify offline",
    responses=answers(*CASE_READ),
)
def case_dossier(case_id: UUID, mediation: MediationDep, _: Auditor) -> dict[str, Any]:
    """The case, its history, its integrity, its sealed events and a statement of its head
    signed with the service's Ed25519 key: anyone verifies it offline, without the database
    or any secret (`mediation audit verify-dossier FILE`)."""
    return dossier_document(mediation, case_id)


def dossier_document(mediation: MediationApplication, case_id: UUID) -> dict[str, Any]:
    """The case's signed dossier as the JSON document `GET /cases/{id}/dossier` answers (and
    the console's auditor downloads)."""
    made = make_dossier(mediation, case_id)
    return {
        "format": DOSSIER_FORMAT,
        "generated_at": made.generated_at.isoformat(),
        "case_id": str(case_id),
        "state": None if made.case is None else CaseView.of(made.case).model_dump(mode="json"),
        "history": None
        if made.history is None
        else [HistoryEventView.of(e).model_dump(mode="json") for e in made.history],
        "integrity": IntegrityView.of(made.integrity, mediation.trusted_checkpoint()).model_dump(
            mode="json"
        ),
        "seal": {
            "chain": CHAIN_RULE,
            "mac": "HMAC-SHA-256 of b'event' + hash, under the seal key named by key_id "
            "(verifiable only by the service)",
            "events": made.seal_events,
        },
        "statement": made.statement,
        "public_key": made.public_key,
        "signature": made.signature,
    }
