"""`mediation deadlines run`: the deadline process on demand."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from application.case_queues import CaseQueues
from application.deadlines import DeadlineProcess
from application.deadlines import DeadlineRun
from domain.case import utc_today
from interfaces.composition import projection_runner
from interfaces.trust_cli import fail
from interfaces.trust_cli import opened

deadlines = typer.Typer(
    help="Remind the silent platforms; escalate the cases whose platform stayed silent past "
    "its grace."
)


@deadlines.command("run")
def run_deadlines(
    as_of: Annotated[
        str | None,
        typer.Option(help="judge the deadlines as of this date, YYYY-MM-DD (default today)"),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(help="list the reminders and escalations it would record, record nothing"),
    ] = False,
) -> None:
    """Remind the silent platforms, then escalate the cases silent past their grace.

    Each platform still awaited is reminded on the days after sending its rule says; a case
    whose platform stayed silent past its due date plus grace goes to the mediator, for
    no_response: what the service also does on its schedule."""
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    with opened() as (application, _):
        today = utc_today(application.clock.now())
        day = day or today
        if day > today and not dry_run:
            raise fail(f"--as-of {day} is in the future: only a --dry-run can look ahead")
        runner = projection_runner(application)
        runner.catch_up()  # the queue this reads is current, even with no worker running
        process = DeadlineProcess(application, runner.view(CaseQueues.name))
        report(process.run(day, dry_run=dry_run))


def report(run: DeadlineRun) -> None:
    reminding = "would remind" if run.dry_run else "reminded"
    for reminder in run.reminded:
        typer.echo(
            f"{reminding} {reminder.case_id} ({reminder.platform}, {reminder.priority}): "
            f"reminder {reminder.number}, day {reminder.after_days} after sending on "
            f"{reminder.sent_on}"
        )
    verb = "would escalate" if run.dry_run else "escalated"
    for found in run.escalated:
        reference = f" -> {found.mediator_reference}" if found.mediator_reference else ""
        typer.echo(
            f"{verb} {found.case_id} ({found.platform}, {found.priority}): due "
            f"{found.response_due}, grace {found.grace_days} day(s){reference}"
        )
    for skipped in run.skipped:
        typer.echo(f"skipped {skipped.case_id}: {skipped.reason}")
    typer.echo(f"{len(run.reminded)} reminder(s) {'to record' if run.dry_run else 'recorded'}")
    typer.echo(
        f"{len(run.escalated)} case(s) {verb} for no_response as of {run.as_of}"
        + (f", {len(run.skipped)} skipped" if run.skipped else "")
    )
