"""The caseworker's queues: `/console`, a column of queues with their counts, and a page of
the queue chosen, filtered, with "Page suivante".

The pages read the queue read model through the API's own helper (interfaces/http/queues.py),
so a page of the console is the page `GET /queues/{queue}` answers, keyset cursor included;
`min_position` waits, as the API does, until the queues reflect a command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Request
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from application.access import Role
from application.case_queues import QUEUES
from application.case_queues import UNQUALIFIED
from application.case_queues import CaseQueues
from application.case_queues import Cursor
from application.case_queues import Queue
from application.case_queues import QueueFilters
from application.mediation import MediationApplication
from domain.deadlines import is_overdue
from domain.errors import InvalidValue
from domain.platforms import PlatformDirectory
from domain.values import Category
from domain.values import Priority
from interfaces.http.deps import read_model_at
from interfaces.http.queues import QueueItemView
from interfaces.http.queues import page_view
from interfaces.web.console_pages import HOMES
from interfaces.web.console_pages import console_page
from interfaces.web.console_words import words
from interfaces.web.page_errors import PageRoute
from interfaces.web.pages import SHOWN_IN
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.pages import url
from interfaces.web.staff import StaffMember
from interfaces.web.staff import require_staff

router = APIRouter(route_class=PageRoute)

PAGE_SIZE = 25
FILTERS = ("platform", "category", "priority", "assignee")
CASEWORKER = require_staff(Role.CASEWORKER)
"""The caseworker's pages: the queues and the case page with its commands (docs/http.md)."""
Caseworker = Annotated[StaffMember, Depends(CASEWORKER)]
CONSOLE_STAFF = require_staff(*HOMES)
"""Every role with a home in the console: `/console` leads each to its own."""


@dataclass(frozen=True)
class QueueRow:
    """One case in a queue's table, as the console shows it."""

    case_id: UUID
    company: str
    platform: str
    category: Category | str
    priority: Priority | None
    reported_on: date
    due_on: date | None
    assignee: str | None
    overdue: bool


def row_of(item: QueueItemView, platform_name: str, today: date) -> QueueRow:
    return QueueRow(
        case_id=item.id,
        company=item.company_name,
        platform=platform_name,
        category=UNQUALIFIED if item.category == UNQUALIFIED else Category(item.category),
        priority=None if item.priority is None else Priority(item.priority),
        reported_on=item.reported_at.astimezone(SHOWN_IN).date(),
        due_on=item.response_due,
        assignee=item.assignee,
        overdue=item.response_due is not None and is_overdue(item.response_due, today),
    )


def chosen_queue(text: str | None) -> Queue:
    """The queue asked for; the first one when none (or an unknown one) is."""
    try:
        return Queue(text)
    except ValueError:
        return Queue.TO_QUALIFY


def chosen_filters(request: Request) -> dict[str, str]:
    """The filters filled in (blank ones left out), each cut to a sane length."""
    query = request.query_params
    return {name: query[name].strip()[:200] for name in FILTERS if query.get(name, "").strip()}


def min_position(request: Request) -> int | None:
    text = request.query_params.get("min_position", "")
    return int(text) if text.isdigit() and len(text) < 19 else None


def read_page(
    mediation: MediationApplication,
    queues: CaseQueues,
    platforms: PlatformDirectory,
    queue: Queue,
    filters: QueueFilters,
    cursor: str | None,
) -> tuple[list[QueueRow], str | None, dict[Queue, int]]:
    """A page of the queue (from `cursor`: an unreadable one starts over), its next cursor,
    and every queue's count (blocking)."""
    today = mediation.clock.now().date()
    try:
        after = None if cursor is None else Cursor.decode(cursor, QUEUES[queue].order)
    except InvalidValue:
        after = None
    view = page_view(mediation, queues, queue, filters, today, PAGE_SIZE, after)
    rows = [row_of(i, platforms.display_name(i.platform), today) for i in view.items]
    return rows, view.next_cursor, queues.counts(filters, today)


def filter_choices(request: Request) -> dict[str, list[tuple[str, str]]]:
    """The values each filter offers, by its name: (value, words)."""
    label = words(language(request))
    platforms = sorted(request.app.state.settings.platforms, key=lambda p: p.name.casefold())
    return {
        "platform": [(p.key, p.name) for p in platforms],
        "category": [(c.value, label(c)) for c in Category] + [(UNQUALIFIED, label(UNQUALIFIED))],
        "priority": [(p.value, label(p)) for p in Priority],
    }


@page(router, "console")
async def queues_page(
    request: Request, staff: Annotated[StaffMember, Depends(CONSOLE_STAFF)]
) -> Response:
    """The caseworker's queues, one of them shown; any other role is led to its own home."""
    if staff.role is not Role.CASEWORKER:
        return RedirectResponse(url(HOMES[staff.role].page, language(request)), status_code=303)
    queue = chosen_queue(request.query_params.get("queue"))
    filters = chosen_filters(request)
    cursor = request.query_params.get("cursor") or None
    position = min_position(request)
    if position is not None:
        await read_model_at(request, position)
    rows, next_cursor, counts = await run_in_threadpool(
        read_page,
        request.app.state.mediation,
        request.app.state.runner.view(CaseQueues.name),
        request.app.state.settings.platforms,
        queue,
        QueueFilters(**filters),
        cursor,
    )
    return console_page(
        request,
        "console/queues.html",
        staff,
        {
            "queue": queue,
            "queues": list(Queue),
            "counts": counts,
            "rows": rows,
            "filters": filters,
            "next_cursor": next_cursor,
            "later_page": cursor is not None,
            "choices": filter_choices(request),
        },
    )
