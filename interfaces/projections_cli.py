"""`mediation worker` and `mediation projections …`: the read models from the shell."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from interfaces.composition import projection_runner
from interfaces.trust_cli import opened

projections = typer.Typer(help="Inspect the read models that follow the event log.")
log = logging.getLogger("mediation.projections")


def worker(
    poll: Annotated[
        float, typer.Option(min=0.05, max=60, help="seconds between looks at the log")
    ] = 0.5,
) -> None:
    """Keep the read models up to date in a process of their own.

    For PostgreSQL deployments with several API processes started with --no-projections."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def stopping(signum: int, _: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        stop.set()
        runner.wake.set()

    with opened() as (application, _):
        runner = projection_runner(application)
        runner.poll_seconds = poll
        runner.stopping = stop
        signal.signal(signal.SIGTERM, stopping)
        signal.signal(signal.SIGINT, stopping)
        for status in runner.status():
            typer.echo(f"{status.name}: at {status.position}, {status.lag} event(s) behind")
        runner.run()
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
