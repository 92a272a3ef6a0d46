"""The index from a business's tracking code to its case.

An aggregate of its own, saved in the same transaction as the case's first event, so a code
never points nowhere and a case is never without its code; its id is derived from the code, so
a lookup is one read by id, with no table of our own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from uuid import uuid5

from eventsourcing.domain import Aggregate

from domain.values import TrackingCode

_TRACKING_NAMESPACE = UUID("6f1d3c2e-8a4b-4c7d-9e1f-2a3b4c5d6e7f")


def tracking_index_id(code: TrackingCode) -> UUID:
    return uuid5(_TRACKING_NAMESPACE, code.value)


class TrackingCodeIndex(Aggregate):
    """Points one tracking code at one case."""

    class Registered(Aggregate.Created):
        """The tracking code was given to its case."""

        case_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.case_id = self.case_id

    case_id: UUID

    @classmethod
    def register(cls, code: TrackingCode, case_id: UUID, now: datetime) -> TrackingCodeIndex:
        return cls._create(
            cls.Registered, id=tracking_index_id(code), timestamp=now, case_id=case_id
        )
