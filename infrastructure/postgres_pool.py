"""The PostgreSQL connection pool: after an outage, no dead connection is handed out, and the
pool fills again as soon as the server answers.

The library's pool left the first requests after an outage failing:
- it reopens lost connections with an exponential backoff, so after an outage of seconds its
  next attempt came seconds after the server was back, and meanwhile every request waited for
  a connection until it timed out (a 503). Here a lost connection is reopened every half second
  at most.
- a connection cut while it sat in the pool is found dead only when used. Pinging it at every
  checkout costs a round trip per statement, a large share of a request's work, so a connection
  is pinged only when it may be dead (`SuspectConnections`); one that fails its ping is
  discarded and the next is tried at once, not after the pool's backoff.

A statement is never sent twice. A request moves on to another connection only when the ping
fails, before any of its statements was sent on that connection: nothing can have been
committed. A statement that fails once sent (a COMMIT, or the one autocommitted statement that
records a command's events) is answered 503 and not retried: the server may have committed it
before the connection dropped, so only the client may send it again, with If-Match or an
Idempotency-Key, which the store refuses or answers with the first result if it was recorded.
"""

from __future__ import annotations

import math
import select
import time
from typing import Any
from weakref import WeakKeyDictionary

from eventsourcing.postgres import ConnectionPool
from eventsourcing.postgres import PostgresDatastore
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg_pool.pool import AddConnection
from psycopg_pool.pool import MaintenanceTask

PING_AFTER_IDLE_SECONDS = 1.0
RECONNECT_EVERY_SECONDS = 0.5
"""The longest wait between two attempts to reopen a lost connection."""

PooledConnection = Connection[DictRow]


class _Seen:
    """What the pool knows of one connection: when it was last handed out, and a poller on
    its socket."""

    __slots__ = ("handed_out_at", "poller")

    def __init__(self, connection: PooledConnection) -> None:
        self.handed_out_at = -math.inf
        self.poller = select.poll()
        self.poller.register(connection.fileno(), select.POLLIN)


class SuspectConnections:
    """Which connections may be dead, and so are pinged before they are handed out: one the
    server sent something while it sat idle (its socket reads the end of the connection, or a
    message such as "terminated by administrator command"), which a system call tells without
    a round trip; one idle for over a second; and every one handed out before a connection was
    last found dead, since what killed that one (the server restarting, the network) may have
    killed the others."""

    def __init__(self) -> None:
        self._seen: WeakKeyDictionary[PooledConnection, _Seen] = WeakKeyDictionary()
        self._failed_at = -math.inf

    def failed(self) -> None:
        self._failed_at = time.monotonic()

    def handing_out(self, connection: PooledConnection) -> bool:
        """Whether `connection` must be pinged before it is handed out (now)."""
        seen = self._seen.get(connection)
        if seen is None:
            seen = self._seen[connection] = _Seen(connection)
        now, last = time.monotonic(), seen.handed_out_at
        seen.handed_out_at = now
        return (
            last <= self._failed_at
            or now - last > PING_AFTER_IDLE_SECONDS
            or bool(seen.poller.poll(0))
        )


class MediationConnectionPool(ConnectionPool[PooledConnection]):
    """The library's pool, pinging a suspect connection before it hands it out, and reopening
    lost ones without a long backoff."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.suspects = SuspectConnections()

    def getconn(self, timeout: float | None = None) -> PooledConnection:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            connection = super().getconn(max(deadline - time.monotonic(), 0.0))
            try:
                if self.suspects.handing_out(connection):
                    self.check_connection(connection)
            except Exception:
                # Dead before the request sent anything on it: taking another one is safe.
                self.suspects.failed()
                self.putconn(connection)
                continue
            except BaseException:
                self.putconn(connection)
                raise
            return connection

    def putconn(self, conn: PooledConnection) -> None:
        if conn.broken:  # it failed in use: the others may be dead too
            self.suspects.failed()
        super().putconn(conn)

    def schedule_task(self, task: MaintenanceTask, delay: float) -> None:
        if isinstance(task, AddConnection):
            delay = min(delay, RECONNECT_EVERY_SECONDS)
        super().schedule_task(task, delay)


def replace_pool(datastore: PostgresDatastore) -> None:
    """Give `datastore` a MediationConnectionPool configured as the library configured its own
    (which is not open yet, so nothing is lost)."""
    made = datastore.pool
    assert made.closed, "the pool is replaced before it opens"
    datastore.pool = MediationConnectionPool(
        get_password_func=made.get_password_func,
        connection_class=made.connection_class,
        kwargs=made.kwargs,
        min_size=made.min_size,
        max_size=made.max_size,
        open=False,
        configure=datastore.after_connect_func(),
        timeout=made.timeout,
        max_waiting=made.max_waiting,
        max_lifetime=made.max_lifetime,
    )
