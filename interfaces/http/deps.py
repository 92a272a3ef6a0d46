"""Dependencies shared by the routes, as Annotated aliases.

They are `async def` because none blocks: FastAPI runs a plain `def` dependency in its thread
pool, and those hops (one per dependency per request) cost more CPU than the command itself.
Only a wait for a read model goes to a thread."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from application.access import Credential, Role
from application.mediation import MediationApplication
from interfaces.http.auth import require
from interfaces.http.problems import ProblemError


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


async def read_model_at(
    request: Request,
    min_position: Annotated[
        int | None,
        Query(ge=0, description="wait (a few seconds at most) until the read model reflects it"),
    ] = None,
) -> int | None:
    """Read-your-writes: wait for the read models to reach `min_position`, or answer 503."""
    if min_position is None:
        return None
    settings = request.app.state.settings
    runner = request.app.state.runner
    if not await run_in_threadpool(runner.wait_for, min_position, settings.read_model_wait_seconds):
        raise ProblemError(
            "read-model-behind",
            f"the read models have not reached position {min_position} yet; retry shortly",
            headers={"Retry-After": "1"},
        )
    return min_position


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
ReadModelAt = Annotated[int | None, Depends(read_model_at)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
Reporter = Annotated[Credential, Depends(require(Role.REPORTER, Role.CASEWORKER))]
Caseworker = Annotated[Credential, Depends(require(Role.CASEWORKER))]
CaseReader = Annotated[Credential, Depends(require(Role.CASEWORKER, Role.AUDITOR))]
Auditor = Annotated[Credential, Depends(require(Role.AUDITOR))]
DataProtectionOfficer = Annotated[Credential, Depends(require(Role.DPO))]
Analyst = Annotated[Credential, Depends(require(Role.CASEWORKER, Role.AUDITOR, Role.ANALYST))]
