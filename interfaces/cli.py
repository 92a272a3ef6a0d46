"""The `mediation` command line."""

from __future__ import annotations

import logging
import os
from typing import Annotated
from typing import Any

import typer
import uvicorn
from eventsourcing.persistence import PersistenceError

from infrastructure.settings import SettingsError
from infrastructure.settings import Store
from infrastructure.settings import load_settings
from interfaces.accounts_cli import users
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from interfaces.composition import staff_accounts
from interfaces.deadlines_cli import deadlines
from interfaces.demo_cli import demo
from interfaces.http.app import announce_generated
from interfaces.http.app import generated_credentials
from interfaces.mail_cli import mail
from interfaces.projections_cli import projections
from interfaces.projections_cli import worker
from interfaces.trust_cli import audit
from interfaces.trust_cli import keys
from interfaces.trust_cli import retention
from interfaces.web.pages import SITE

cli = typer.Typer(
    name="mediation",
    help="p2b-mediation: the back office of business-to-platform mediation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# What uvicorn is told whatever the command line says. The app logs each request itself
# (mediation.access) with its route template: uvicorn's access log would write the raw path,
# tracking codes included. No Server header says what software answers; the Date header stays
# (RFC 9110).
UVICORN_QUIET: dict[str, Any] = {"access_log": False, "server_header": False}


def fail(message: str) -> typer.Exit:
    typer.echo(f"mediation: {message}", err=True)
    return typer.Exit(code=2)


cli.add_typer(audit, name="audit")
cli.add_typer(retention, name="retention")
cli.add_typer(keys, name="keys")
cli.add_typer(projections, name="projections")
cli.add_typer(deadlines, name="deadlines")
cli.add_typer(mail, name="mail")
cli.add_typer(users, name="users")
cli.command()(worker)
cli.command()(demo)


@cli.callback()
def main_options() -> None:
    """Settings come from MEDIATION_* environment variables (see README.md)."""


def site_map(base: str, has_staff: bool) -> str:
    """Where the people's pages are, said once as the service starts."""
    report, console, dashboard = SITE["report"], SITE["console"], SITE["dashboard"]
    lines = [
        f"  the report form       {base}{report.fr}",
        f"  in English            {base}{report.en}",
        f"  the staff console     {base}{console.fr}",
        f"  the dashboard         {base}{dashboard.fr}",
        f"  the API's reference   {base}/docs",
    ]
    if not has_staff:
        lines.append(
            "  No staff account yet: make one with "
            f"`mediation users add NAME --role caseworker`, then sign in at {console.fr}."
        )
    return "\n".join(lines)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    projections: Annotated[
        bool,
        typer.Option(
            "--projections/--no-projections",
            help="keep the read models up to date in this process (off: run `mediation worker`)",
        ),
    ] = True,
) -> None:
    """Run the HTTP API with uvicorn."""
    try:
        settings = load_settings()
    except SettingsError as error:
        raise fail(str(error)) from None
    if settings.store is Store.MEMORY and workers > 1:
        raise fail("MEDIATION_DATABASE_URL=memory: keeps cases per process; use one worker")
    try:
        # Create the tables once, here, rather than racing to in every worker; and say plainly
        # when the database cannot be reached instead of starting workers that cannot serve.
        application = open_application(settings, announce=typer.echo)
        projection_runner(application)  # creates the read models' tables
        has_staff = bool(staff_accounts(application, settings).accounts())
        application.close()
    except SettingsError as error:
        raise fail(str(error)) from None
    except (PersistenceError, OSError) as error:
        raise fail(
            f"cannot open the store ({settings.describe_store()}): {one_line(error)}"
        ) from None
    if not settings.tokens:
        # Made here, before the workers start, so that every worker accepts the same tokens.
        credentials = generated_credentials()
        typer.echo(announce_generated(credentials))
        os.environ["MEDIATION_TOKENS"] = ",".join(
            f"{c.token}:{c.role.value}:{c.actor}" for c in credentials
        )
    if not projections:
        os.environ["MEDIATION_RUN_PROJECTIONS"] = "false"
    typer.echo(f"mediation: serving on http://{host}:{port} from {settings.describe_store()}")
    typer.echo(site_map(f"http://{host}:{port}", has_staff))
    logging.basicConfig(level=log_level.upper())
    uvicorn.run(
        "interfaces.http.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **UVICORN_QUIET,
    )


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main() -> None:
    cli()
