"""A job run on a schedule: once when started, then every `every` seconds, in a thread of its
own, until stopped (the deadline process, the rotation of the data keys).

A failed run (the database away) is logged and tried again after 1 s, then 2, 4… up to a
minute (never later than the next tick), so the job resumes soon after the database is back
rather than a tick later. The runs so far and the last one's result are there for whoever
watches (tests, /readyz).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic
from typing import TypeVar

T = TypeVar("T")

RETRY_FIRST_SECONDS = 1.0
RETRY_LONGEST_SECONDS = 60.0

log = logging.getLogger("mediation.schedule")


class Schedule(Generic[T]):
    """A job run when started, then every `every` seconds, until stopped."""

    def __init__(self, name: str, job: Callable[[], T], every: float) -> None:
        self.name = name
        self.job = job
        self.every = every
        self.runs = 0
        self.failures = 0
        """Runs failed in a row."""
        self.last: T | None = None
        self.stopping = threading.Event()
        self._ran = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run_once(self) -> T:
        result = self.job()
        with self._ran:
            self.runs += 1
            self.last = result
            self._ran.notify_all()
        return result

    def wait_for_runs(self, count: int, timeout: float) -> bool:
        """Whether `count` runs have completed within `timeout` seconds."""
        with self._ran:
            return self._ran.wait_for(lambda: self.runs >= count, timeout)

    def _loop(self) -> None:
        retry = RETRY_FIRST_SECONDS
        while not self.stopping.is_set():
            wait = self.every
            try:
                self.run_once()
                self.failures, retry = 0, RETRY_FIRST_SECONDS
            except Exception:
                self.failures += 1
                wait, retry = min(self.every, retry), min(retry * 2, RETRY_LONGEST_SECONDS)
                log.exception("the %s run failed; trying again in %s s", self.name, wait)
            self.stopping.wait(wait)
