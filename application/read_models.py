"""What every read model's store is to the projection runner: the log position it reflects,
and a standby copy that a rebuild fills while this one keeps answering."""

from __future__ import annotations

from abc import ABC
from abc import abstractmethod
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any
from typing import Self
from uuid import UUID

# Field updates per case, as the handlers produce them: case id -> column -> value.
RowUpdates = dict[UUID, dict[str, Any]]


class ReadModel(ABC):
    """A read model's store, as the projection runner drives it."""

    name: str

    @abstractmethod
    def position(self) -> int:
        """The log position of the last event applied (0 before the first)."""

    @abstractmethod
    def standby(self) -> Self:
        """The second copy, which a rebuild fills while this one keeps answering; an
        interrupted rebuild resumes where it stopped."""

    @abstractmethod
    def switch_to(self, standby: Self) -> bool:
        """Make the standby copy the one that answers, atomically, if it has caught up with
        this one (else False: apply more and try again)."""


class RowsReadModel(ReadModel):
    """A read model of one row per case, which its handlers update field by field."""

    @abstractmethod
    def apply(self, updates: RowUpdates, position: int) -> bool:
        """Apply the updates and record `position`, in one transaction; refuse (False) a
        position already reached, so that every event is applied exactly once."""


def row_updates(events: Iterable[Any], fields_of: Callable[[Any], Mapping[str, Any]]) -> RowUpdates:
    """The row updates that a run of events makes, merged per case in log order."""
    updates: RowUpdates = {}
    for event in events:
        fields = fields_of(event)
        if fields:
            updates.setdefault(event.originator_id, {}).update(fields)
    return updates
