"""A case's history as plain data: what auditors read, one entry per stored event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields
from dataclasses import is_dataclass
from datetime import date
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from domain.platforms import Platform
from domain.values import PersonalText
from domain.values import Siren
from domain.values import TrackingCode

# Attributes every event has, shown beside `data` rather than in it.
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "actor", "originator_topic"}
)


@dataclass(frozen=True)
class HistoryEntry:
    """One stored event of a case, as plain data: what auditors read."""

    version: int
    type: str
    recorded_at: datetime
    actor: str
    data: dict[str, Any]


def history_entry(event: Any) -> HistoryEntry:
    data = {name: plain(value) for name, value in vars(event).items() if name not in _ENVELOPE}
    return HistoryEntry(
        version=event.originator_version,
        type=type(event).__name__,
        recorded_at=event.timestamp,
        actor=event.actor,
        data=data,
    )


def plain(value: Any) -> Any:
    """A JSON-ready rendering of a domain value: enums by key, dates in ISO 8601."""
    match value:
        case None | bool() | int() | float() | str():
            return value
        case Enum():
            return value.value
        case datetime() | date():
            return value.isoformat()
        case UUID():
            return str(value)
        case PersonalText():
            return value.text
        case Siren():
            return value.value
        case TrackingCode():
            return str(value)
        case Platform():
            return {"key": value.key, "reported_as": value.reported_as.text}
        case Mapping():
            return {str(k): plain(v) for k, v in value.items()}
        case list() | tuple():
            return [plain(v) for v in value]
        case _ if is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"no plain rendering for {type(value).__name__}")
