"""Faults the tests inject into projections: an exception of their own, a datastore that fails
just before its commit, and a counter that picks which calls fail."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Injected(Exception):
    """The failure a test injects into a projection."""


class FaultyDatastore:
    """A datastore whose committing transactions fail after their last statement, before the
    commit, when armed: whatever the apply wrote must be rolled back with it."""

    def __init__(self, datastore: Any, armed: Callable[[], bool]) -> None:
        self._datastore, self._armed = datastore, armed

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        with self._datastore.transaction(commit=commit) as cursor:
            yield cursor
            if commit and self._armed():
                raise Injected("after the rows and the position were written, before the commit")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)


class Faults:
    """Counts the calls a fault of one kind can hit, across restarts, and fails the chosen ones."""

    def __init__(self, kind: str, failing: set[int]) -> None:
        self.kind, self.failing = kind, failing
        self.calls = 0
        self.fired = 0
        self.armed = False  # for a FaultyDatastore: fail the commit under way

    def hit(self) -> bool:
        self.calls += 1
        if self.calls in self.failing:
            self.fired += 1
            return True
        return False
