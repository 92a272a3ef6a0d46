"""Dependencies shared by the routes, as Annotated aliases.

They are `async def` because none blocks: FastAPI runs a plain `def` dependency in its thread
pool, and those hops (one per dependency per request) cost more CPU than the command itself."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from application.access import Credential, Role
from application.mediation import MediationApplication
from interfaces.http.auth import require
from interfaces.http.problems import ProblemError
from interfaces.http.read_models import ReadModelWaits


async def get_mediation(request: Request) -> MediationApplication:
    mediation: MediationApplication = request.app.state.mediation
    return mediation


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(description='the case\'s ETag, e.g. "3": refused with 412 if the case moved on'),
    ] = None,
) -> int | None:
    """The version an If-Match header expects; None when absent or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = re.fullmatch(r'\s*"?(\d{1,9})"?\s*', if_match)
    if match is None:
        raise ProblemError(
            "precondition-failed",
            'If-Match must be the ETag of the case, such as "3"; nothing was recorded',
        )
    return int(match.group(1))


MinPosition = Annotated[
    int | None,
    Query(ge=0, description="wait (a few seconds at most) until the read models reflect it"),
]


async def read_model_at(request: Request, min_position: int | None) -> None:
    """Read-your-writes: return once the read models reach `min_position` (see
    interfaces.http.read_models for the answers when they cannot).

    Not a dependency: FastAPI solves dependencies before it validates the route's own query
    and path, so an invalid request would wait before its 422. The routes that read a read
    model are `async def`: they validate, await this (no thread held while waiting), then run
    their blocking read in the thread pool."""
    if min_position is not None:
        waits: ReadModelWaits = request.app.state.read_model_waits
        await waits.reach(min_position)


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="the same key and body answer the first case"),
    ] = None,
) -> str | None:
    if key is None:
        return None
    if not re.fullmatch(r"[\x21-\x7e]{1,255}", key):
        raise ProblemError(
            "invalid-request",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            errors=[
                {
                    "field": "Idempotency-Key",
                    "in": "header",
                    "message": "1 to 255 visible ASCII characters",
                }
            ],
        )
    return key


MediationDep = Annotated[MediationApplication, Depends(get_mediation)]
IfMatch = Annotated[int | None, Depends(expected_version)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
Reporter = Annotated[Credential, Depends(require(Role.REPORTER, Role.CASEWORKER))]
Caseworker = Annotated[Credential, Depends(require(Role.CASEWORKER))]
CaseReader = Annotated[Credential, Depends(require(Role.CASEWORKER, Role.AUDITOR))]
Auditor = Annotated[Credential, Depends(require(Role.AUDITOR))]
DataProtectionOfficer = Annotated[Credential, Depends(require(Role.DPO))]
Analyst = Annotated[Credential, Depends(require(Role.CASEWORKER, Role.AUDITOR, Role.ANALYST))]
