"""Wiring: the application opened on the store and with the keys the settings name."""

from __future__ import annotations

import logging
from collections.abc import Callable

from application.case_queues import CaseQueues
from application.clock import Clock
from application.deadlines import DeadlineProcess, DeadlineSchedule
from application.mediation import MediationApplication
from application.projections import ProjectionRunner, QueueProjection, StatisticsProjection
from infrastructure.checkpoints import CheckpointFolder
from infrastructure.keyfiles import keys_for
from infrastructure.log_listener import LogListener
from infrastructure.queue_stores import case_queues_for
from infrastructure.recorders import PostgresMediationRecorder
from infrastructure.settings import Settings
from infrastructure.statistics_stores import case_statistics_for
from infrastructure.stores import postgres_conninfo, prepare_store, schema_lock

log = logging.getLogger("mediation")


def open_application(
    settings: Settings,
    clock: Clock | None = None,
    announce: Callable[[str], None] = log.warning,
) -> MediationApplication:
    """Prepare the store (schema, folder), find the keys, and open the application."""
    keys, news = keys_for(settings)
    if news:
        announce(news)
    with schema_lock(settings):
        narrowed = prepare_store(settings)
        if narrowed:
            announce(narrowed)
        application = MediationApplication(
            settings.eventsourcing_env(),
            clock=clock,
            deadlines=settings.deadlines,
            keys=keys,
            checkpoints=CheckpointFolder(settings.checkpoint_dir),
        )
        # The read models' tables, created once.
        case_queues_for(application.recorder)
        case_statistics_for(application.recorder)
    return application


def projection_runner(
    application: MediationApplication, settings: Settings | None = None
) -> ProjectionRunner:
    """The read models of this store, fed from the application's event log; given the
    settings of a PostgreSQL store, woken too by what other processes record."""
    queues = QueueProjection(case_queues_for(application.recorder))
    statistics = StatisticsProjection(case_statistics_for(application.recorder))
    waker = None
    if settings is not None and isinstance(application.recorder, PostgresMediationRecorder):
        waker = LogListener(postgres_conninfo(settings), application.recorder.channel_name)
    runner = ProjectionRunner(application.event_log(), [queues, statistics], waker=waker)
    application.saved_listeners.append(runner.wake.set)
    return runner


def deadline_schedule(
    application: MediationApplication, runner: ProjectionRunner, settings: Settings
) -> DeadlineSchedule | None:
    """The deadline process on its schedule, beside the projections (None when turned off)."""
    if not settings.deadlines_every_seconds:
        return None
    process = DeadlineProcess(application, runner.view(CaseQueues.name))
    return DeadlineSchedule(process, application.clock, settings.deadlines_every_seconds)
