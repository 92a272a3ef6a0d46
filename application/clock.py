"""Where the application's notion of "now" comes from.

Every event's timestamp and every date rule ("not in the future", "due in 15 days") reads this
clock, so tests and tooling (replaying a scenario, running the deadline process for a given
date) can set it. In service it is the system clock.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the application reads the current instant."""

    def now(self) -> datetime:
        """The current instant, in UTC."""
        ...


class SystemClock:
    """The system's clock, in UTC: the service's."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SettableClock:
    """A clock that stands still until told to move: for tests and for replaying scenarios."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = _require_aware(instant)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("the clock needs an instant with a UTC offset")
    return instant.astimezone(UTC)
