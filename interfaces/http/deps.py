"""Dependencies shared by the routes, as Annotated aliases.

They are `async def` because none blocks: FastAPI runs a plain `def` dependency in its thread
pool, and those hops (one per dependency per request) cost more CPU than the command itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from typing import Any
from typing import Protocol
from typing import TypeVar
from uuid import UUID

from fastapi import Depends
from fastapi import Header
from fastapi import Query
from fastapi import Request
from fastapi import Response

from application.access import Credential
from application.access import Role
from application.case_queues import Cursor
from application.mediation import CommandResult
from application.mediation import MediationApplication
from interfaces.http.auth import require
from interfaces.http.problems import COMMAND
from interfaces.http.problems import REPORT
from interfaces.http.problems import ProblemError
from interfaces.http.problems import answers
from interfaces.http.problems import header_docs
from interfaces.http.read_models import ReadModelWaits


async def get_mediation(request: Request) -> MediationApplication:
    mediation: MediationApplication = request.app.state.mediation
    return mediation


IF_MATCH = r'^(\*|"[0-9]{1,9}"|[0-9]{1,9})$'
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"


def unreadable_header(name: str, message: str) -> ProblemError:
    """A header that is not written as its pattern in the contract says: 422, in its words."""
    return ProblemError(
        "invalid-request",
        f"{name}: {message}",
        errors=[{"field": name, "in": "header", "message": message}],
    )


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            json_schema_extra={"pattern": IF_MATCH},
            description='the case\'s ETag, e.g. "3": refused with 412 (and nothing recorded) '
            "if the case has moved past that version; `*` or none: whatever the version",
        ),
    ] = None,
) -> int | None:
    """The version an If-Match header expects; None when absent or `*`. A header that is no
    ETag of this service is unreadable input: 422, as every other."""
    if if_match is None or if_match == "*":
        return None
    if re.fullmatch(IF_MATCH, if_match) is None:
        raise unreadable_header("If-Match", 'the ETag of the case, such as "3", or *')
    return int(if_match.strip('"'))


MinPosition = Annotated[
    int | None,
    Query(ge=0, description="wait (a few seconds at most) until the read models reflect it"),
]
PageCursor = Annotated[
    str | None, Query(max_length=500, description="the previous page's `next_cursor`")
]


class Row(Protocol):
    @property
    def id(self) -> UUID: ...


R = TypeVar("R", bound=Row)


def paged(rows: list[R], limit: int, sort_value: Callable[[R], str]) -> tuple[list[R], str | None]:
    """The first `limit` of `rows`, which a list read one over the limit to learn whether a
    page follows, and that page's `next_cursor` (the last row's sort value and id; none when
    no page follows)."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(sort_value(last), last.id).encode()


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
        Header(
            alias="Idempotency-Key",
            json_schema_extra={"pattern": IDEMPOTENCY_KEY},
            description="1 to 255 visible ASCII characters: the same key from the same caller "
            "with the same report answers exactly the first answer, and records nothing",
        ),
    ] = None,
) -> str | None:
    if key is not None and re.fullmatch(IDEMPOTENCY_KEY, key) is None:
        raise unreadable_header("Idempotency-Key", "1 to 255 visible ASCII characters")
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


def _case_links(operations: tuple[str, ...]) -> dict[str, Any]:
    """OpenAPI links from an answer carrying a case's `id` to the operations on that case."""
    return {
        name: {"operationId": name, "parameters": {"case_id": "$response.body#/id"}}
        for name in operations
    }


ON_A_CASE = (
    "get_case",
    "case_history",
    "qualify_case",
    "send_to_platform",
    "record_platform_response",
    "escalate_case",
    "resolve_case",
    "case_integrity",
    "case_dossier",
    "erase_personal_data",
)
ETAG = header_docs({"ETag": 'the case\'s version, e.g. "3"'})


def set_etag(response: Response, version: int) -> None:
    """The case's version as the answer's ETag (ETAG documents it): what `If-Match` sends back."""
    response.headers["ETag"] = f'"{version}"'


def recorded(response: Response, result: CommandResult) -> CommandResult:
    """A command's result, its answer given the case's new version as ETag and, when it repeats
    an answer already given (an idempotent report, an acknowledgement), `Idempotent-Replayed`."""
    set_etag(response, result.version)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


def command_answers(links: tuple[str, ...], *slugs: str) -> dict[int | str, dict[str, Any]]:
    """The answers of a command on a case: what it recorded, linked to the operations `links`
    on the same case, and the problems `slugs`."""
    return {
        200: {
            "description": "Recorded: the case's new version and status, and the log position "
            "of its last event (a read model's `min_position`)",
            **ETAG,
            "links": _case_links(links),
        },
        **answers(*slugs),
    }


COMMAND_ANSWERS = command_answers(ON_A_CASE, *COMMAND)
"""The answers of every command of the staff on a case (the report's are its own)."""

REPORT_ANSWERS: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "The case was reported (or, with the same Idempotency-Key and report, "
        "the first answer again, with `Idempotent-Replayed: true`)",
        **header_docs({"Location": "the case's address", "ETag": 'its version: "1"'}),
        "links": {
            **_case_links(ON_A_CASE),
            "track": {
                "operationId": "track",
                "parameters": {"tracking_code": "$response.body#/tracking_code"},
            },
        },
    },
    **answers(*REPORT),
}
