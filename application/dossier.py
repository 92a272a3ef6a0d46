"""A case's dossier: the case, its history, its integrity report, the sealed events and a
signed statement of its head, so that anyone can verify it offline, without the database or
any secret (application.audit.verify_dossier, `mediation audit verify-dossier`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.audit import IntegrityReport
from application.history import HistoryEntry
from application.mediation import MediationApplication
from application.personal_data import keys_per_call
from domain.case import Case


@dataclass(frozen=True)
class CaseDossier:
    """A case's dossier, before it is written out as JSON."""

    generated_at: datetime
    case: Case | None
    history: list[HistoryEntry] | None
    integrity: IntegrityReport
    seal_events: list[dict[str, Any]]
    statement: dict[str, Any]
    public_key: str
    signature: str


@keys_per_call
def make_dossier(mediation: MediationApplication, case_id: UUID) -> CaseDossier:
    """The case with everything needed to verify it offline, and a signed statement of its
    head. A case that fails verification still gets a dossier: its report says why, and its
    state and history are left out rather than served as if intact."""
    report = mediation.integrity_report(case_id)
    case, history = None, None
    if report.verified:
        case, history = mediation.get_case(case_id), mediation.case_history(case_id)
    generated_at = mediation.clock.now()
    statement = {
        "case_id": str(case_id),
        "head_version": report.head_version,
        "head_hash": report.head_hash.hex(),
        "generated_at": generated_at.isoformat(),
    }
    auditor = mediation.auditor
    return CaseDossier(
        generated_at=generated_at,
        case=case,
        history=history,
        integrity=report,
        seal_events=auditor.seal_data(case_id),
        statement=statement,
        public_key=mediation.keys.verifying_key_hex,
        signature=auditor.sign(statement),
    )
