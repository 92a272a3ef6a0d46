"""Routes under /platform: a platform's own portal, for the cases sent to it.

A platform's token is bound to its platform: another platform's case, or a case not sent yet,
answers 404 exactly as a case that does not exist (its existence is not disclosed), and the
actor recorded is `platform:<key>`."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Query
from fastapi import Request
from fastapi import Response
from pydantic import BaseModel
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from application.access import Credential
from application.access import Role
from application.case_queues import Cursor
from application.case_queues import Order
from application.case_queues import sortable
from application.mediation import MediationApplication
from application.platform_cases import PlatformCases
from application.platform_cases import PortalFilters
from domain.values import Status
from interfaces.http.auth import AuthorizedRoute
from interfaces.http.auth import require
from interfaces.http.deps import ETAG
from interfaces.http.deps import IfMatch
from interfaces.http.deps import MediationDep
from interfaces.http.deps import MinPosition
from interfaces.http.deps import PageCursor
from interfaces.http.deps import command_answers
from interfaces.http.deps import paged
from interfaces.http.deps import read_model_at
from interfaces.http.deps import recorded
from interfaces.http.deps import set_etag
from interfaces.http.portal_views import PortalCaseView
from interfaces.http.problems import CASE_READ
from interfaces.http.problems import COMMAND
from interfaces.http.problems import READ_MODEL
from interfaces.http.problems import answers
from interfaces.http.schemas import CommandResponse
from interfaces.http.schemas import IsoDate
from interfaces.http.schemas import PlatformResponseRequest

router = APIRouter(prefix="/platform/cases", tags=["platform portal"], route_class=AuthorizedRoute)

PlatformCaller = Annotated[Credential, Depends(require(Role.PLATFORM))]
ON_ITS_CASE = ("portal_case", "acknowledge_case", "respond_to_case")


def _platform(caller: Credential) -> str:
    assert caller.platform is not None  # settings bind every platform token to a platform
    return caller.platform


class PortalPageView(BaseModel):
    """A page of the cases sent to the platform, newest sent first."""

    items: list[PortalCaseView]
    next_cursor: str | None = Field(description="the next page's `cursor`; none: the last page")
    position: int = Field(description="the log position the list reflects")


@router.get(
    "",
    summary="List the cases sent to your platform",
    response_description="A page of the cases, newest sent first",
    responses=answers(*READ_MODEL),
)
async def portal_cases(
    request: Request,
    mediation: MediationDep,
    caller: PlatformCaller,
    status: Annotated[Status | None, Query(description="only the cases in this status")] = None,
    due_by: Annotated[
        IsoDate | None, Query(description="only the cases whose answer is due by this day")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: PageCursor = None,
    min_position: MinPosition = None,
) -> PortalPageView:
    """The cases sent to the token's platform, the most recently sent first, each as
    `GET /platform/cases/{case_id}` shows it; filtered by status and due date; `next_cursor`
    fetches the next page, which never repeats nor skips a case. `min_position` waits until
    the list reflects that event."""
    view: PlatformCases = request.app.state.runner.view(PlatformCases.name)
    after = None if cursor is None else Cursor.decode(cursor, Order.DUE_FIRST)
    await read_model_at(request, min_position)
    return await run_in_threadpool(
        portal_page, mediation, view, _platform(caller), status, due_by, limit, after
    )


def portal_page(
    mediation: MediationApplication,
    view: PlatformCases,
    platform: str,
    status: Status | None,
    due_by: date | None,
    limit: int,
    after: Cursor | None,
) -> PortalPageView:
    """A page of the cases sent to `platform` as `GET /platform/cases` answers it (blocking):
    the list's rows, then each case as the case says it."""
    rows, reached = view.page(platform, PortalFilters(status, due_by), limit + 1, after)
    rows, next_cursor = paged(rows, limit, lambda row: sortable(row.last_sent_on))
    return PortalPageView(
        items=[PortalCaseView.of(mediation.case_for_platform(r.id, platform)) for r in rows],
        next_cursor=next_cursor,
        position=reached,
    )


@router.get(
    "/{case_id}",
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
    set_etag(response, case.version)
    return PortalCaseView.of(case)


@router.post(
    "/{case_id}/acknowledge",
    summary="Acknowledge a case sent to your platform",
    responses=command_answers(ON_ITS_CASE, *CASE_READ, "command-not-allowed", "version-conflict"),
)
def acknowledge_case(
    case_id: UUID, response: Response, mediation: MediationDep, caller: PlatformCaller
) -> CommandResponse:
    """Records that the platform has read the case, once a round; acknowledging again records
    nothing and answers the same, marked `Idempotent-Replayed: true`."""
    result = mediation.acknowledge_case(case_id, platform=_platform(caller), actor=caller.actor)
    return CommandResponse.of(recorded(response, result))


@router.post(
    "/{case_id}/response",
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
    return CommandResponse.of(recorded(response, result))
