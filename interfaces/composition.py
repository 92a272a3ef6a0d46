"""Wiring: the application opened on the store and with the keys the settings name."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from application.accounts import StaffAccounts
from application.case_queues import CaseQueues
from application.clock import Clock
from application.data_keys import DataKeyRing
from application.data_keys import Rotation
from application.data_keys import RotationBusy
from application.deadlines import DeadlineProcess
from application.deadlines import DeadlineRun
from application.deadlines import on_schedule
from application.mediation import MediationApplication
from application.outbox import MailSettings
from application.outbox import OutboxSender
from application.outbox import SendRun
from application.projections import OutboxProjection
from application.projections import PlatformCasesProjection
from application.projections import ProjectionRunner
from application.projections import QueueProjection
from application.projections import StatisticsProjection
from application.schedule import Schedule
from infrastructure.account_stores import accounts_for
from infrastructure.checkpoints import CheckpointFolder
from infrastructure.data_key_file import DataKeyFile
from infrastructure.keyfiles import data_key_ring
from infrastructure.keyfiles import forget_seeded_data_keys
from infrastructure.keyfiles import keys_for
from infrastructure.log_listener import LogListener
from infrastructure.mail_rendering import renderer
from infrastructure.mail_transport import transport_for
from infrastructure.outbox_store import NAME as OUTBOX
from infrastructure.outbox_store import outbox_for
from infrastructure.platform_case_stores import platform_cases_for
from infrastructure.queue_stores import case_queues_for
from infrastructure.recorders import PostgresMediationRecorder
from infrastructure.settings import Settings
from infrastructure.statistics_stores import case_statistics_for
from infrastructure.store_setup import postgres_conninfo
from infrastructure.store_setup import prepare_store
from infrastructure.store_setup import schema_lock

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
        ring = data_key_ring(settings)
        application = MediationApplication(
            settings.eventsourcing_env(),
            clock=clock,
            deadlines=settings.deadlines,
            keys=keys,
            data_keys=ring,
            checkpoints=CheckpointFolder(settings.checkpoint_dir),
        )
        for message in data_key_news(settings, application, ring):
            announce(message)
        # The read models' tables, created once.
        case_queues_for(application.recorder)
        case_statistics_for(application.recorder)
        accounts_for(application.recorder)  # the staff accounts' tables, likewise
    return application


def data_key_news(
    settings: Settings, application: MediationApplication, ring: DataKeyRing
) -> list[str]:
    """What to say of the data keys as the application opens."""
    if not isinstance(ring, DataKeyFile):
        return []
    news = []
    if application.ring_made:
        forget_seeded_data_keys(settings)
        news.append(
            f"Made the data keys in {ring.path} (owner-only). The service rotates them every "
            f"{settings.data_key_rotation_days} days; back the file up apart from the database: "
            "without it no personal data can be read."
        )
    if settings.data_keys is not None:
        news.append(
            f"MEDIATION_DATA_KEYS is no longer read (the data keys are in {ring.path}): remove "
            "it from the environment, and destroy its keys once `mediation keys rotate` has run."
        )
    return news


def staff_accounts(application: MediationApplication, settings: Settings) -> StaffAccounts:
    """The staff accounts and their sessions, in the application's database, with the
    session lengths and the platforms the settings name."""
    return StaffAccounts(
        accounts_for(application.recorder),
        settings.platforms,
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_hours),
        clock=application.clock,
    )


def projection_runner(
    application: MediationApplication, settings: Settings | None = None
) -> ProjectionRunner:
    """The read models of this store, fed from the application's event log; given the
    settings of a PostgreSQL store, woken too by what other processes record."""
    queues = QueueProjection(case_queues_for(application.recorder))
    statistics = StatisticsProjection(case_statistics_for(application.recorder))
    outbox = OutboxProjection(outbox_for(application.recorder, application.event_log().head()))
    portal = PlatformCasesProjection(platform_cases_for(application.recorder))
    waker = None
    if settings is not None and isinstance(application.recorder, PostgresMediationRecorder):
        waker = LogListener(postgres_conninfo(settings), application.recorder.channel_name)
    runner = ProjectionRunner(
        application.event_log(), [queues, statistics, portal, outbox], waker=waker
    )
    application.saved_listeners.append(runner.wake.set)
    return runner


def deadline_schedule(
    application: MediationApplication, runner: ProjectionRunner, settings: Settings
) -> Schedule[DeadlineRun] | None:
    """The deadline process on its schedule, beside the projections (None when turned off)."""
    if not settings.deadlines_every_seconds:
        return None
    process = DeadlineProcess(application, runner.view(CaseQueues.name))
    return on_schedule(
        process, application.clock, settings.deadlines_every_seconds, catch_up=runner.catch_up
    )


def mail_sender(
    application: MediationApplication, runner: ProjectionRunner, settings: Settings
) -> OutboxSender:
    """The sender of the outbox's e-mails, to where MEDIATION_MAIL_URL says."""
    return OutboxSender(
        runner.view(OUTBOX),
        application,
        transport_for(settings.mail_target, timeout=settings.mail_timeout_seconds),
        renderer(),
        MailSettings(
            settings.mail_from,
            settings.public_url,
            settings.platforms,
            lease=timedelta(seconds=settings.mail_lease_seconds),
        ),
        clock=application.clock,
    )


def mail_schedule(
    application: MediationApplication, runner: ProjectionRunner, settings: Settings
) -> Schedule[SendRun] | None:
    """The e-mails due, sent on their schedule beside the projections (None when turned off)."""
    if not settings.mail_every_seconds:
        return None
    sender = mail_sender(application, runner, settings)
    return Schedule("mail", sender.send_due, settings.mail_every_seconds)


def data_key_schedule(
    application: MediationApplication, settings: Settings
) -> Schedule[Rotation | None]:
    """The rotation of the data keys, checked on its schedule beside the projections: there
    is no turning it off, it is what completes erasures on disk."""

    def rotate_if_due() -> Rotation | None:
        try:
            done = application.rotate_data_keys_if_due(settings.data_key_rotation_days)
        except RotationBusy:
            return None  # another process of the deployment is doing it

        if done is not None:
            log.info(
                "data keys rotated: %s now wraps every case key (%d rewrapped), %d destroyed",
                done.current, done.rewrapped, len(done.destroyed),
            )  # fmt: skip
        return done

    return Schedule("data keys", rotate_if_due, settings.data_keys_check_every_seconds)
