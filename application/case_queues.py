"""The caseworkers' queues: which cases wait for what, in the order they should be taken up.

A read model with one row per case, kept by the handlers below from the event log. It holds no
personal data in clear: the company's name (for a sole trader, a person's name) is kept as the
sealed events store it, encrypted under the case's key, and revealed only when a page is served
(`MediationApplication.personal_texts`); an erasure destroys that key, so the row then reads
"[effacé]" without being touched.
"""

from __future__ import annotations

import base64
import json
from abc import abstractmethod
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from application.personal_data import stored_form
from application.read_models import RowsReadModel
from application.read_models import RowUpdates
from application.read_models import row_updates
from domain.case import Case
from domain.errors import InvalidValue
from domain.values import Status

UNQUALIFIED = "unqualified"
"""The category of a case neither qualified nor given a category by its reporter."""


class Queue(Enum):
    TO_QUALIFY = "to-qualify"
    TO_SEND = "to-send"
    AWAITING_PLATFORM = "awaiting-platform"
    AWAITING_ACKNOWLEDGEMENT = "awaiting-acknowledgement"
    OVERDUE = "overdue"
    TO_REVIEW = "to-review"
    WITH_MEDIATOR = "with-mediator"
    RESOLVED = "resolved"


class Order(Enum):
    """What a queue is sorted by: the oldest report, the nearest due date, the latest news."""

    REPORTED_FIRST = "reported_at"
    DUE_FIRST = "response_due"
    WAITING_LONGEST = "updated_at"
    RESOLVED_LAST = "resolved_at"


@dataclass(frozen=True)
class QueueRule:
    status: Status
    order: Order
    descending: bool = False
    overdue_only: bool = False
    unacknowledged_only: bool = False
    """Only the cases whose platform has not acknowledged the round it awaits."""


QUEUES: dict[Queue, QueueRule] = {
    Queue.TO_QUALIFY: QueueRule(Status.REPORTED, Order.REPORTED_FIRST),
    Queue.TO_SEND: QueueRule(Status.QUALIFIED, Order.REPORTED_FIRST),
    Queue.AWAITING_PLATFORM: QueueRule(Status.AWAITING_PLATFORM, Order.DUE_FIRST),
    Queue.AWAITING_ACKNOWLEDGEMENT: QueueRule(
        Status.AWAITING_PLATFORM, Order.DUE_FIRST, unacknowledged_only=True
    ),
    Queue.OVERDUE: QueueRule(Status.AWAITING_PLATFORM, Order.DUE_FIRST, overdue_only=True),
    Queue.TO_REVIEW: QueueRule(Status.PLATFORM_RESPONDED, Order.WAITING_LONGEST),
    Queue.WITH_MEDIATOR: QueueRule(Status.WITH_MEDIATOR, Order.WAITING_LONGEST),
    Queue.RESOLVED: QueueRule(Status.RESOLVED, Order.RESOLVED_LAST, descending=True),
}


@dataclass(frozen=True)
class QueueItem:
    id: UUID
    status: Status
    platform: str
    category: str
    priority: str | None
    assignee: str | None
    company_name: str  # its stored form (see stored_form), not its text
    reported_at: datetime
    updated_at: datetime
    response_due: date | None
    resolved_at: datetime | None
    # The facts of the round with the platform (of the last one, once it is over): the deadline
    # process finds the reminders due from them, by the rules in force when it runs.
    last_sent_on: date | None = None
    reminders: int = 0
    acknowledged_on: date | None = None


@dataclass(frozen=True)
class QueueFilters:
    platform: str | None = None
    category: str | None = None
    priority: str | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class QueuePage:
    queue: Queue
    items: list[QueueItem]
    next_cursor: str | None
    position: int


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort value and the id of its last item (keyset pagination)."""

    value: str
    case_id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.value, str(self.case_id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, order: Order) -> Cursor:
        """The cursor in `text`, checked to be one a page of a queue in `order` could give."""
        try:
            padded = text + "=" * (-len(text) % 4)
            value, case_id = json.loads(base64.urlsafe_b64decode(padded))
            if not isinstance(value, str) or not isinstance(case_id, str):
                raise ValueError("not text")
            if order is Order.DUE_FIRST:
                date.fromisoformat(value)
            elif datetime.fromisoformat(value).tzinfo is None:
                raise ValueError("no offset")
            return cls(value, UUID(case_id))
        except (ValueError, TypeError, AttributeError):
            raise InvalidValue(
                "cursor", "not a cursor this service gave for this queue", where="query"
            ) from None


class CaseQueues(RowsReadModel):
    """The queue read model: what it stores and what it answers."""

    name = "case_queues"

    @abstractmethod
    def page(
        self,
        queue: Queue,
        filters: QueueFilters,
        as_of: date,
        limit: int,
        after: Cursor | None,
    ) -> tuple[list[QueueItem], int]:
        """A page of the queue after the cursor, and the position it reflects."""

    @abstractmethod
    def counts(self, filters: QueueFilters, as_of: date) -> dict[Queue, int]:
        """How many cases each queue holds, with these filters, as of `as_of` (what is
        overdue): the figures beside the queues' names."""

    @abstractmethod
    def awaiting_reminder(
        self, priority: str, reminders: int, sent_by: date, limit: int, after: Cursor | None
    ) -> list[QueueItem]:
        """The cases of `priority` awaiting their platform, sent on or before `sent_by`, that
        have had exactly `reminders` reminders in this round: by sending day, then id (a
        cursor's value is a sending day)."""

    @abstractmethod
    def clear(self) -> None:
        """Forget everything (for a rebuild from the start of the log)."""


def queue_updates(events: Iterable[Any]) -> RowUpdates:
    """The row updates that a run of events makes, merged per case in log order."""
    return row_updates(events, fields_of)


def fields_of(event: Any) -> Mapping[str, Any]:
    """What one event changes in its case's queue row (nothing for the others)."""
    at = getattr(event, "timestamp", None)
    match event:
        case Case.Reported():
            return {
                "status": Status.REPORTED.value,
                "platform": event.platform.key,
                "category": event.category_hint.value if event.category_hint else UNQUALIFIED,
                "priority": None,
                "assignee": None,
                "company_name": stored_form(event.company.name),
                "reported_at": at,
                "updated_at": at,
                "response_due": None,
                "resolved_at": None,
                "last_sent_on": None,
                "reminders": 0,
                "acknowledged_on": None,
            }
        case Case.Qualified():
            return {
                "status": Status.QUALIFIED.value,
                "category": event.category.value,
                "priority": event.priority.value,
                "assignee": event.assignee,
                "updated_at": at,
            }
        case Case.SentToPlatform():
            return {
                "status": Status.AWAITING_PLATFORM.value,
                "response_due": event.response_due,
                "updated_at": at,
                "last_sent_on": event.sent_on,
                "reminders": 0,
                "acknowledged_on": None,
            }
        # The platform's acknowledgement and its reminders change no status, and are no news
        # that moves a case in the caseworkers' order: `updated_at` stays.
        case Case.PlatformAcknowledged():
            return {"acknowledged_on": event.acknowledged_on}
        case Case.PlatformReminded():
            return {"reminders": event.number}
        case Case.PlatformResponded():
            return {
                "status": Status.PLATFORM_RESPONDED.value,
                "response_due": None,
                "updated_at": at,
            }
        case Case.EscalatedToMediator():
            return {"status": Status.WITH_MEDIATOR.value, "response_due": None, "updated_at": at}
        case Case.Resolved():
            return {
                "status": Status.RESOLVED.value,
                "response_due": None,
                "resolved_at": at,
                "updated_at": at,
            }
    # PersonalDataErased changes nothing a queue shows; other aggregates' events are not cases.
    return {}


def sort_value(item: QueueItem, order: Order) -> str:
    """The item's sort key as a cursor carries it."""
    return sortable(getattr(item, order.value))


def sortable(value: date | datetime | None) -> str:
    """Dates and instants as text whose order is their order: instants in UTC, fixed width."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return value.isoformat()


COLUMNS: Sequence[str] = (
    "case_id",
    "status",
    "platform",
    "category",
    "priority",
    "assignee",
    "company_name",
    "reported_at",
    "updated_at",
    "response_due",
    "resolved_at",
    "last_sent_on",
    "reminders",
    "acknowledged_on",
)
