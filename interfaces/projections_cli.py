"""`mediation worker` and `mediation projections …`: the read models from the shell."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import ProgressColumn
from rich.progress import Task
from rich.progress import TextColumn
from rich.progress import TimeRemainingColumn
from rich.text import Text

from application.case_queues import CaseQueues
from application.case_statistics import CaseStatistics
from application.platform_cases import PlatformCases
from application.projections import rebuild_all
from infrastructure.settings import load_settings
from interfaces.composition import data_key_schedule
from interfaces.composition import deadline_schedule
from interfaces.composition import mail_schedule
from interfaces.composition import projection_runner
from interfaces.trust_cli import opened

projections = typer.Typer(help="Inspect the read models that follow the event log.")
log = logging.getLogger("mediation.projections")

READ_MODELS = (CaseQueues.name, CaseStatistics.name, PlatformCases.name)
"""The read models `projection_runner` builds that can be rebuilt, by name (a test holds them
equal); the outbox never is: a rebuild would send every e-mail again."""


def worker(
    poll: Annotated[
        float, typer.Option(min=0.05, max=60, help="seconds between looks at the log")
    ] = 0.5,
) -> None:
    """Keep the read models up to date and run the deadline process, in a process of their own.

    For PostgreSQL deployments with several API processes started with --no-projections."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def stopping(signum: int, _: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        stop.set()
        runner.wake.set()

    with opened() as (application, _):
        settings = load_settings()
        runner = projection_runner(application, settings)
        runner.poll_seconds = poll
        runner.stopping = stop
        signal.signal(signal.SIGTERM, stopping)
        signal.signal(signal.SIGINT, stopping)
        for status in runner.status():
            typer.echo(f"{status.name}: at {status.position}, {status.lag} event(s) behind")
        schedule = deadline_schedule(application, runner, settings)
        if schedule is not None:
            typer.echo(f"deadlines: checked every {schedule.every:g} s")
            schedule.start()
        rotation = data_key_schedule(application, settings)
        typer.echo(
            f"data keys: rotated every {settings.data_key_rotation_days} days "
            f"(checked every {rotation.every:g} s)"
        )
        rotation.start()
        mail = mail_schedule(application, runner, settings)
        if mail is not None:
            typer.echo(f"e-mails: sent every {mail.every:g} s to {settings.mail_target.describe()}")
            mail.start()
        runner.run()
        if mail is not None:
            mail.stop()
        rotation.stop()
        if schedule is not None:
            schedule.stop()
        for status in runner.status():
            typer.echo(f"{status.name}: stopped at {status.position}")


@projections.command("status")
def status() -> None:
    """Each read model's position in the event log and how far behind it is."""
    with opened() as (application, _):
        for found in projection_runner(application).status():
            typer.echo(
                f"{found.name}: position {found.position} of {found.log_position}, "
                f"{found.lag} event(s) behind"
            )


class EventRate(ProgressColumn):
    """A progress-bar column: events per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} events/s")


@projections.command("rebuild")
def rebuild_command(
    projection: Annotated[
        str | None,
        typer.Option(
            help=f"rebuild this read model only: {' or '.join(READ_MODELS)} (default: all)"
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="events per transaction")] = 2_000,
) -> None:
    """Rebuild read models from the whole event log, then switch to them.

    The service keeps answering from the old copy until the new one has caught up."""
    if projection is not None and projection not in READ_MODELS:
        names = ", ".join(READ_MODELS)
        raise typer.Exit(
            code=fail_with(f"--projection {projection!r}: no such read model ({names})")
        )
    with opened() as (application, _):
        runner = projection_runner(application)
        chosen = [p for p in runner.rebuildable if projection in (None, p.name)]
        log_ = application.event_log()
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            EventRate(),
            TimeRemainingColumn(),
        )
        names = ", ".join(each.name for each in chosen)
        with Progress(*columns) as bar:
            task = bar.add_task(names, total=log_.head())

            def advance(done: int, head: int) -> None:
                bar.update(task, completed=done, total=head)

            position = rebuild_all(chosen, log_, batch=batch, progress=advance)
        typer.echo(f"{names}: rebuilt up to position {position}, now answering")


def fail_with(message: str) -> int:
    typer.echo(f"mediation: {message}", err=True)
    return 2
