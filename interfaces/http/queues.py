"""GET /queues/{queue}: the caseworkers' work lists, from the queue read model.

The route is `async def` so that a `min_position` wait holds no thread (deps.read_model_at);
the page itself is read in the thread pool."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Query
from fastapi import Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from application.case_queues import QUEUES
from application.case_queues import CaseQueues
from application.case_queues import Cursor
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.case_queues import sort_value
from application.mediation import MediationApplication
from domain.values import Status
from interfaces.http.auth import AuthorizedRoute
from interfaces.http.deps import Caseworker
from interfaces.http.deps import MediationDep
from interfaces.http.deps import MinPosition
from interfaces.http.deps import PageCursor
from interfaces.http.deps import paged
from interfaces.http.deps import read_model_at
from interfaces.http.problems import READ_MODEL
from interfaces.http.problems import answers
from interfaces.http.schemas import IsoDate

router = APIRouter(tags=["queues"], route_class=AuthorizedRoute)

Text = Annotated[str | None, Query(max_length=200, description="only the cases with this value")]


class QueueItemView(BaseModel):
    id: UUID
    status: Status
    platform: str
    category: str
    priority: str | None
    assignee: str | None
    company_name: str
    reported_at: datetime
    response_due: date | None
    last_sent_on: date | None
    reminders: int
    acknowledged_on: date | None


class QueueView(BaseModel):
    queue: Queue
    items: list[QueueItemView]
    next_cursor: str | None
    position: int


@router.get(
    "/queues/{queue}",
    summary="Read a page of a work queue",
    response_description="A page of the queue, and the log position it reflects",
    responses=answers(*READ_MODEL),
)
async def read_queue(
    queue: Queue,
    request: Request,
    mediation: MediationDep,
    _: Caseworker,
    min_position: MinPosition = None,
    platform: Text = None,
    category: Text = None,
    priority: Text = None,
    assignee: Text = None,
    as_of: Annotated[
        IsoDate | None, Query(description="decides what is overdue; default today")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: PageCursor = None,
) -> QueueView:
    """The cases in one of the caseworkers' queues (to qualify, to send, awaiting the platform,
    awaiting its acknowledgement, overdue, to review, with the mediator, resolved), each with
    its latest round with the platform (last sent, reminders, acknowledged), in the queue's
    order, filtered by platform, category, priority or assignee; `next_cursor` fetches the next
    page, which never repeats nor skips a case. `min_position` waits until the queue reflects
    that event."""
    queues: CaseQueues = request.app.state.runner.view(CaseQueues.name)
    after = None if cursor is None else Cursor.decode(cursor, QUEUES[queue].order)
    filters = QueueFilters(
        platform=platform, category=category, priority=priority, assignee=assignee
    )
    today = as_of or mediation.clock.now().date()
    await read_model_at(request, min_position)
    return await run_in_threadpool(
        page_view, mediation, queues, queue, filters, today, limit, after
    )


def page_view(
    mediation: MediationApplication,
    queues: CaseQueues,
    queue: Queue,
    filters: QueueFilters,
    today: date,
    limit: int,
    after: Cursor | None,
) -> QueueView:
    """Reads the page (blocking) and makes its view, the company names revealed from their
    stored form."""
    rows, reached = queues.page(queue, filters, today, limit + 1, after)
    order = QUEUES[queue].order
    items, next_cursor = paged(rows, limit, lambda item: sort_value(item, order))
    company_names = mediation.personal_texts({i.id: i.company_name for i in items})
    return QueueView(
        queue=queue,
        items=[
            # The item's fields the view shows, the company's name revealed.
            QueueItemView(**{**asdict(i), "company_name": company_names[i.id]})
            for i in items
        ],
        next_cursor=next_cursor,
        position=reached,
    )
