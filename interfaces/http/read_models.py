"""Read-your-writes: requests that wait for the read models to reach a log position.

A wait holds no thread: it is a future on the event loop. One task reads how far the read
models have got, for every waiting request at once, every POLL_SECONDS while any waits, and
wakes those whose position is reached. The position is read from the store, so this works as
well in an API process that runs no projections (a worker beside it keeps them); the runner
of this process, when it runs, is woken to catch up at once rather than at its next poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from application.mediation import MediationApplication
from application.projections import ProjectionRunner
from domain.errors import InvalidValue
from infrastructure.settings import Settings
from interfaces.http.problems import ProblemError

POLL_SECONDS = 0.02


def _behind(detail: str) -> ProblemError:
    return ProblemError("read-model-behind", detail, headers={"Retry-After": "1"})


class ReadModelWaits:
    """The waits of one process: each up to `timeout` seconds, at most `capacity` at once."""

    def __init__(
        self,
        runner: ProjectionRunner,
        head: Callable[[], int],
        *,
        timeout: float,
        capacity: int,
    ) -> None:
        self.runner = runner
        self.head = head
        self.timeout = timeout
        self.capacity = capacity
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._watcher: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def reach(self, position: int) -> None:
        """Return once every read model has reached `position`. A position beyond the log's
        head is a client error (422: no event has it yet, nothing will reach it); one not
        reached within the timeout, or asked while `capacity` requests wait already, is a 503
        read-model-behind with Retry-After."""
        head, reached = await run_in_threadpool(self._positions)
        if position > head:
            raise InvalidValue(
                "min_position",
                f"position {position} is beyond the log's head ({head}): no event has it yet",
                where="query",
            )
        if reached >= position:
            return
        self.runner.wake.set()
        if len(self._waiting) >= self.capacity:
            raise _behind(
                f"{self.capacity} requests are waiting for the read models already; retry shortly"
            )
        waiter = (position, asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        try:
            async with asyncio.timeout(self.timeout):
                await waiter[1]
        except TimeoutError:
            raise _behind(
                f"the read models have not reached position {position} yet; retry shortly"
            ) from None
        finally:
            self._waiting.remove(waiter)

    def _positions(self) -> tuple[int, int]:
        return self.head(), self.runner.reached()

    async def _watch(self) -> None:
        try:
            while self._waiting:
                self.runner.wake.set()
                try:
                    reached = await run_in_threadpool(self.runner.reached)
                except Exception as error:  # the store failed: so do the waits (a 503)
                    for _, future in self._waiting:
                        if not future.done():
                            future.set_exception(error)
                else:
                    for position, future in self._waiting:
                        if position <= reached and not future.done():
                            future.set_result(None)
                await asyncio.sleep(POLL_SECONDS)
        finally:
            self._watcher = None


def read_model_waits(
    mediation: MediationApplication, runner: ProjectionRunner, settings: Settings
) -> ReadModelWaits:
    return ReadModelWaits(
        runner,
        mediation.log_position,
        timeout=settings.read_model_wait_seconds,
        capacity=settings.read_model_max_waiters,
    )
