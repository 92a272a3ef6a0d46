"""The PostgreSQL store as the service uses it: one attempt per request, then a clear 503.

The library retries each read and write ten times, each attempt waiting the full connection
timeout for the pool: during an outage a request hung for about a minute before failing. Here
each statement is tried once; dead pooled connections are already discarded by the pre-ping,
and clients retry safely on a 503 (Retry-After, If-Match, Idempotency-Key).
"""

from __future__ import annotations

from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)

# `__wrapped__` is the undecorated method that the library's @retry (functools.wraps) keeps.


class OneAttemptAggregateRecorder(PostgresAggregateRecorder):
    insert_events = PostgresAggregateRecorder.insert_events.__wrapped__
    select_events = PostgresAggregateRecorder.select_events.__wrapped__


class OneAttemptApplicationRecorder(PostgresApplicationRecorder):
    insert_events = PostgresApplicationRecorder.insert_events.__wrapped__
    select_events = PostgresApplicationRecorder.select_events.__wrapped__
    select_notifications = PostgresApplicationRecorder.select_notifications.__wrapped__
    max_notification_id = PostgresApplicationRecorder.max_notification_id.__wrapped__


class MediationPostgresFactory(PostgresFactory):
    aggregate_recorder_class = OneAttemptAggregateRecorder
    application_recorder_class = OneAttemptApplicationRecorder
