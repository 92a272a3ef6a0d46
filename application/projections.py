"""Following the event log into the read models: exactly once, from any process, never stalled.

The runner reads the log by position and hands each read model the events it has not applied
yet; the read model commits their effect with the new position in one transaction. It polls
(the library's PostgreSQL subscription relies on LISTEN/NOTIFY alone, which can lose a
notification, and its SQLite recorder cannot subscribe) and is also woken at once by saves
made in its own process. Events are decoded without decrypting: read models never see
personal data.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Generic
from typing import Protocol
from typing import Self
from typing import TypeVar

from application.case_queues import CaseQueues
from application.case_queues import queue_updates
from application.case_statistics import CaseStatistics
from application.case_statistics import changes
from application.notifications import notices_for
from application.outbox import OutboxLog
from application.platform_cases import PlatformCases
from application.platform_cases import platform_case_updates
from application.read_models import ReadModel
from application.sealing import BrokenSeal
from application.sealing import integrity_failure

log = logging.getLogger("mediation.projections")

BATCH = 500


class EventLog:
    """What the runner needs of the application: the log's head, and decoded pages of it."""

    def __init__(
        self,
        head: Callable[[], int],
        read: Callable[[int, int], Sequence[tuple[int, Any]]],
    ) -> None:
        self.head = head
        self.read = read


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    log_position: int
    error: str | None

    @property
    def lag(self) -> int:
        return max(self.log_position - self.position, 0)


class Projection(Protocol):
    """A read model and the handlers that feed it, as the runner drives them."""

    name: str

    def position(self) -> int: ...

    def apply(self, events: Sequence[tuple[int, Any]]) -> None: ...

    def standby(self) -> Projection: ...

    def switch_to(self, standby: Projection) -> bool: ...


V = TypeVar("V", bound=ReadModel)


class ReadModelProjection(Generic[V]):
    """A read model's store driven as a projection: a subclass applies the events with its
    handlers; the position, the standby copy and the switch are the store's."""

    def __init__(self, view: V) -> None:
        self.view = view
        self.name = view.name

    def position(self) -> int:
        return self.view.position()

    def standby(self) -> Self:
        twin = copy.copy(self)
        twin.view = self.view.standby()
        return twin

    def switch_to(self, standby: Projection) -> bool:
        assert isinstance(standby, ReadModelProjection)
        return self.view.switch_to(standby.view)


class QueueProjection(ReadModelProjection[CaseQueues]):
    """The queue read model and the handlers that feed it."""

    def apply(self, events: Sequence[tuple[int, Any]]) -> None:
        if events:
            self.view.apply(queue_updates(e for _, e in events), events[-1][0])


class StatisticsProjection(ReadModelProjection[CaseStatistics]):
    """The statistics read model and the handlers that feed it."""

    def apply(self, events: Sequence[tuple[int, Any]]) -> None:
        if events:
            decoded = [e for _, e in events]
            self.view.apply(events[-1][0], lambda known: changes(decoded, known))


class PlatformCasesProjection(ReadModelProjection[PlatformCases]):
    """The cases sent to each platform, and the handler that feeds them."""

    def apply(self, events: Sequence[tuple[int, Any]]) -> None:
        if events:
            self.view.apply(platform_case_updates(e for _, e in events), events[-1][0])


class OutboxProjection:
    """The outbox and the notices each event calls for (application.notifications), added with
    the position in one transaction. Never rebuilt: a rebuild would send every e-mail again."""

    def __init__(self, outbox: OutboxLog) -> None:
        self.view = outbox
        self.name = outbox.name

    def position(self) -> int:
        return self.view.position()

    def apply(self, events: Sequence[tuple[int, Any]]) -> None:
        if events:
            notices = [(n, e.timestamp) for _, e in events for n in notices_for(e)]
            self.view.apply(notices, events[-1][0])

    def standby(self) -> Projection:
        raise NotImplementedError("the outbox is never rebuilt: it would send everything again")

    def switch_to(self, standby: Projection) -> bool:
        raise NotImplementedError("the outbox is never rebuilt")


def rebuild(
    projection: Projection,
    log_: EventLog,
    *,
    batch: int = 2_000,
    progress: Callable[[int, int], None] = lambda done, head: None,
) -> int:
    """Rebuild one read model (see rebuild_all)."""
    return rebuild_all([projection], log_, batch=batch, progress=progress)


def rebuild_all(
    projections: Sequence[Projection],
    log_: EventLog,
    *,
    batch: int = 2_000,
    progress: Callable[[int, int], None] = lambda done, head: None,
) -> int:
    """Rebuild read models from the whole log into their standby copies, in batches (one
    transaction each), while the live copies keep answering; then switch each, once its copy
    has caught up. The log is read once for all of them. An interrupted rebuild resumes where
    it stopped. Returns the position reached (the lowest of them)."""
    pending = [(projection, projection.standby()) for projection in projections]
    while pending:
        positions = [standby.position() for _, standby in pending]
        events = log_.read(min(positions) + 1, batch)
        if events:
            for (_, standby), position in zip(pending, positions, strict=True):
                fresh = [e for e in events if e[0] > position]
                if fresh:
                    standby.apply(fresh)
            progress(events[-1][0], max(log_.head(), events[-1][0]))
        else:
            pending = [(p, standby) for p, standby in pending if not p.switch_to(standby)]
    return min((p.position() for p in projections), default=0)


class Waker(Protocol):
    """Something that calls `wake` when events are recorded elsewhere (another process)."""

    def start(self, wake: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...


class ProjectionRunner:
    def __init__(
        self,
        log_: EventLog,
        projections: Sequence[Projection],
        *,
        poll_seconds: float = 0.5,
        batch: int = BATCH,
        waker: Waker | None = None,
    ) -> None:
        self.log = log_
        self.projections = list(projections)
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.waker = waker
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.errors: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def rebuildable(self) -> list[Projection]:
        """The read models a rebuild may build again from the log (not the outbox)."""
        return [p for p in self.projections if not isinstance(p, OutboxProjection)]

    def view(self, name: str) -> Any:
        """The read model of the projection called `name` (CaseQueues.name, CaseStatistics.name)."""
        for projection in self.projections:
            if projection.name == name:
                return getattr(projection, "view")  # noqa: B009 (not part of the Protocol)
        raise LookupError(f"no projection {name!r}")

    def catch_up(self) -> int:
        """Apply every event not yet applied; the number of events read.

        The log is read once for all read models (they are usually at the same position), and
        each is given the events past its own position."""
        with self._lock:
            positions = {p.name: p.position() for p in self.projections}
            done = 0
            while not self.stopping.is_set():
                events = self._read(min(positions.values(), default=0) + 1)
                if not events:
                    break
                for projection in self.projections:
                    fresh = [e for e in events if e[0] > positions[projection.name]]
                    if fresh:
                        self._apply(projection, fresh)
                        positions[projection.name] = fresh[-1][0]
                done += len(events)
            return done

    def _read(self, start: int) -> Sequence[tuple[int, Any]]:
        try:
            return self.log.read(start, self.batch)
        except Exception as error:
            for projection in self.projections:  # none of them can move on
                self.errors[projection.name] = f"{type(error).__name__}: {error}"
            raise

    def _apply(self, projection: Projection, events: Sequence[tuple[int, Any]]) -> None:
        try:
            projection.apply(events)
        except Exception as error:
            self.errors[projection.name] = f"{type(error).__name__}: {error}"
            raise
        self.errors.pop(projection.name, None)

    def status(self) -> list[ProjectionStatus]:
        head = self.log.head()
        return [
            ProjectionStatus(p.name, p.position(), head, self.errors.get(p.name))
            for p in self.projections
        ]

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="projections", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        """Until stopped: catch up, then wait for a save (in this process, or another one's
        when a waker tells) or the next poll."""
        if self.waker is not None:
            self.waker.start(self.wake.set)
        try:
            self._follow()
        finally:
            if self.waker is not None:
                self.waker.stop()

    def _follow(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                self.catch_up()
                failures = 0
            except Exception:
                failures += 1
                log.exception("projections failed; retrying")
            self.wake.wait(self.poll_seconds * min(2**failures, 60))
            self.wake.clear()

    def reached(self) -> int:
        """The position every read model has reached (from the store: wherever they run)."""
        return min((p.position() for p in self.projections), default=0)

    def wait_for(self, position: int, timeout: float) -> bool:
        """Whether every read model reaches `position` within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self.reached() >= position:
                return True
            if time.monotonic() >= deadline:
                return False
            self.wake.set()
            time.sleep(0.02)


def open_seal(sealer: Any, notification: Any) -> Any:
    """The record inside a notification's seal, its MAC checked (the chain is checked on load)."""
    try:
        opened = sealer.open(notification)
        sealer.check_event(opened, None)
    except BrokenSeal as broken:
        raise integrity_failure(
            notification.originator_id, notification.originator_version, broken.problem
        ) from None
    return opened.record
