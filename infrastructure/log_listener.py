"""Waking the projections the moment another process records events (PostgreSQL).

Every write NOTIFYs the events table's channel (infrastructure.recorders). A projection worker
in another process than the API would otherwise learn of new events only at its next poll; this
listener wakes it at once. Polling stays: a notification can be lost (a dropped connection), so
it only shortens the wait, it never decides what is read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from collections.abc import Mapping

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

log = logging.getLogger("mediation.projections")

RECONNECT_SECONDS = 1.0
LOOK_SECONDS = 0.1
"""How long one wait for notifications lasts: how soon `stop` is noticed."""


class LogListener:
    """Wakes the projections when another process records events (PostgreSQL NOTIFY)."""

    def __init__(self, conninfo: Mapping[str, str], channel: str) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, wake: Callable[[], None]) -> None:
        self._thread = threading.Thread(
            target=self._listen, args=(wake,), name="log-listener", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _listen(self, wake: Callable[[], None]) -> None:
        conninfo = make_conninfo(**self.conninfo)
        while not self.stopping.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    wake()  # whatever was recorded while not listening
                    while not self.stopping.is_set():
                        for _ in connection.notifies(timeout=LOOK_SECONDS):
                            wake()
            except psycopg.Error as error:
                log.warning("not listening for new events (%s); polling meanwhile", error)
                self.stopping.wait(RECONNECT_SECONDS)
