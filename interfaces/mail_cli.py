"""`mediation mail …`: the outbox from the shell."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from application.outbox import Delivery
from application.outbox import Outbox
from infrastructure.outbox_store import NAME as OUTBOX
from infrastructure.settings import load_settings
from interfaces.composition import mail_sender
from interfaces.composition import projection_runner
from interfaces.trust_cli import fail
from interfaces.trust_cli import opened

mail = typer.Typer(help="The e-mails: what is pending, sent or given up on; retry or send now.")


@mail.command("status")
def status(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="dead letters listed")] = 50,
) -> None:
    """How many e-mails are pending, sent, given up on or cancelled; the dead letters listed.

    Each dead letter with its id, its message, its case, its attempts and its last error."""
    with opened() as (application, _):
        runner = projection_runner(application)
        runner.catch_up()  # the events recorded since a worker last ran call for e-mails too
        outbox: Outbox = runner.view(OUTBOX)
        counts = outbox.counts()
        typer.echo(", ".join(f"{n} {delivery.value}" for delivery, n in counts.items()))
        typer.echo(f"to {load_settings().mail_target.describe()}")
        for entry in outbox.entries(Delivery.DEAD, limit):
            notice = entry.notice
            typer.echo(
                f"dead {notice.id}: {notice.template.value} of case {notice.case_id} "
                f"(version {notice.case_version}), {entry.attempts} attempt(s): "
                f"{entry.last_error}"
            )


@mail.command("retry")
def retry(
    entry_id: Annotated[str | None, typer.Argument(help="a dead letter's id")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="every dead letter")] = False,
) -> None:
    """Send a dead letter (or all of them) again: pending at once, its attempts counted anew."""
    if (entry_id is None) == (not all_dead):
        raise fail("give a dead letter's id or --all-dead (not both)")
    try:
        ids = [] if entry_id is None else [UUID(entry_id)]
    except ValueError:
        raise fail(f"{entry_id!r} is not an outbox entry's id") from None
    with opened() as (application, _):
        outbox: Outbox = projection_runner(application).view(OUTBOX)
        if all_dead:
            ids = [e.notice.id for e in outbox.entries(Delivery.DEAD, 1_000_000)]
        now = application.clock.now()
        retried = [i for i in ids if outbox.retry(i, now)]
        if entry_id is not None and not retried:
            raise fail(f"{entry_id} is not a dead letter")
        typer.echo(f"{len(retried)} e-mail(s) pending again")


@mail.command("send")
def send() -> None:
    """Send the e-mails due now (what the service does on its schedule)."""
    with opened() as (application, _):
        settings = load_settings()
        runner = projection_runner(application)
        runner.catch_up()
        run = mail_sender(application, runner, settings).send_due(limit=10_000)
        typer.echo(
            f"{len(run.sent)} sent, {len(run.failed)} to retry, {len(run.dead)} given up, "
            f"{len(run.cancelled)} cancelled (no one to write to), to "
            f"{settings.mail_target.describe()}"
        )
