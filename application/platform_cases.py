"""The cases sent to each platform, newest sent first: what its portal lists.

A read model with one row per case sent to a platform, kept by the handler below from the
event log: which platform, where the case stands, when it was last sent and when the answer
is due. It holds no personal data: the portal shows each case as the case itself says it
(`MediationApplication.case_for_platform`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from application.case_queues import Cursor
from application.read_models import RowsReadModel
from application.read_models import RowUpdates
from application.read_models import row_updates
from domain.case import Case
from domain.values import Status


@dataclass(frozen=True)
class PlatformCase:
    """A case as the portal's list finds it (its row)."""

    id: UUID
    platform: str
    status: Status
    last_sent_on: date | None  # None: not sent yet, not listed
    response_due: date | None


@dataclass(frozen=True)
class PortalFilters:
    """What a platform narrows its list to: a status, an answer due by a day."""

    status: Status | None = None
    due_by: date | None = None


class PlatformCases(RowsReadModel):
    """The cases sent to each platform: what the read model stores and answers."""

    name = "platform_cases"

    @abstractmethod
    def page(
        self, platform: str, filters: PortalFilters, limit: int, after: Cursor | None
    ) -> tuple[list[PlatformCase], int]:
        """The cases sent to `platform` that meet the filters, newest sent first, after the
        cursor; and the position it reflects."""


def platform_case_updates(events: Iterable[Any]) -> RowUpdates:
    """The row updates that a run of events makes, merged per case in log order."""
    return row_updates(events, _fields_of)


def _fields_of(event: Any) -> Mapping[str, Any]:
    match event:
        case Case.Reported():
            return {"platform": event.platform.key, "status": Status.REPORTED}
        case Case.Qualified():
            return {"status": Status.QUALIFIED}
        case Case.SentToPlatform():
            return {
                "status": Status.AWAITING_PLATFORM,
                "last_sent_on": event.sent_on,
                "response_due": event.response_due,
            }
        case Case.PlatformResponded():
            return {"status": Status.PLATFORM_RESPONDED, "response_due": None}
        case Case.EscalatedToMediator():
            return {"status": Status.WITH_MEDIATOR, "response_due": None}
        case Case.Resolved():
            return {"status": Status.RESOLVED, "response_due": None}
    return {}
