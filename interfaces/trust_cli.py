"""`mediation audit …`, `mediation retention …` and `mediation keys …`: trust from the shell.

Exit codes scripts can use: 0 all verified (or done), 1 problems found, 2 could not check
(bad arguments, settings, files or store).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from eventsourcing.persistence import PersistenceError

from application.audit import Checkpoint
from application.audit import Problem
from application.audit import verify_dossier
from application.data_keys import RotationBusy
from application.errors import ApplicationError
from application.errors import CaseNotFound
from application.keys import Keys
from application.mediation import MediationApplication
from application.retention import cases_to_erase
from application.retention import erasures_since
from infrastructure.checkpoints import CheckpointFolder
from infrastructure.checkpoints import read_checkpoint
from infrastructure.keyfiles import as_environment
from infrastructure.keyfiles import keys_for
from infrastructure.settings import SettingsError
from infrastructure.settings import load_settings
from interfaces.composition import open_application

audit = typer.Typer(help="Verify sealed histories, write and check checkpoints and dossiers.")
retention = typer.Typer(help="Erase personal data kept longer than the retention period.")
keys = typer.Typer(help="Make keys for production; rotate the data keys and say where they stand.")

INTACT, PROBLEMS, CANNOT_CHECK = 0, 1, 2


def fail(message: str) -> typer.Exit:
    typer.echo(f"mediation: {message}", err=True)
    return typer.Exit(code=CANNOT_CHECK)


@contextmanager
def opened() -> Iterator[tuple[MediationApplication, CheckpointFolder]]:
    try:
        settings = load_settings()
        application = open_application(settings, announce=lambda m: typer.echo(m, err=True))
    except SettingsError as error:
        raise fail(str(error)) from None
    except (PersistenceError, OSError) as error:
        raise fail(f"cannot open the store: {' '.join(str(error).split())}") from None
    try:
        yield application, CheckpointFolder(settings.checkpoint_dir)
    except PersistenceError as error:
        raise fail(f"the store failed: {' '.join(str(error).split())}") from None
    except ApplicationError as error:
        raise fail(str(error)) from None
    finally:
        application.close()


def describe(problem: Problem) -> str:
    return (
        problem.problem
        if problem.version is None
        else f"version {problem.version}: {problem.problem}"
    )


@audit.command("verify")
def verify(
    case: Annotated[UUID | None, typer.Option(help="verify this case only")] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="check against this checkpoint file (default: the latest written)"),
    ] = None,
) -> None:
    """Check every hash chain, MAC and snapshot, and the log against a checkpoint."""
    with opened() as (application, folder):
        against = _checkpoint(application, folder, checkpoint)
        if against is not None:
            typer.echo(
                f"against the checkpoint of {against.created_at:%Y-%m-%d %H:%M:%S} "
                f"(position {against.log_position}, {against.tree_size} events)"
            )
        if case is not None:
            try:
                report = application.auditor.verify_case(case, against)
            except CaseNotFound:
                raise fail(f"no case {case}") from None
            problems: list[tuple[UUID | None, Problem]] = [(case, p) for p in report.problems]
            tracking_codes: set[UUID] = set()
            if against is not None:
                signature = application.auditor.check_signature(against)
                problems += [(None, signature)] if signature else []
            typer.echo(
                f"case {case}: {report.events} events, head version {report.head_version}, "
                f"{report.snapshots} snapshots"
            )
        else:
            log_report = application.auditor.verify_log(against)
            problems, tracking_codes = log_report.problems, log_report.tracking_codes
            typer.echo(
                f"log: {counted(log_report.events, 'event')} in "
                f"{counted(log_report.cases, 'case')}, "
                f"{counted(log_report.snapshots, 'snapshot')}; "
                f"{counted(len(tracking_codes), 'tracking code')} in the index"
            )
    for case_id, problem in problems:
        if case_id is None:
            where = "log"
        elif case_id in tracking_codes:
            where = f"tracking-code index entry {case_id}"
        else:
            where = f"case {case_id}"
        typer.echo(f"PROBLEM {where}: {describe(problem)}")
    if problems:
        typer.echo(f"NOT VERIFIED: {len(problems)} problem(s)")
        raise typer.Exit(code=PROBLEMS)
    typer.echo("VERIFIED: every history is intact")


def counted(number: int, thing: str) -> str:
    return f"{number} {thing}" + ("" if number == 1 else "s")


@audit.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint of the whole log, after verifying it, into the checkpoint folder."""
    with opened() as (application, folder):
        report = application.auditor.verify_log(application.trusted_checkpoint())
        if not report.verified:
            for case_id, problem in report.problems:
                typer.echo(f"PROBLEM {case_id or 'log'}: {describe(problem)}")
            typer.echo("no checkpoint written: the log does not verify")
            raise typer.Exit(code=PROBLEMS)
        made = application.auditor.checkpoint(application.clock.now())
        path = folder.write(made)
    typer.echo(
        f"checkpoint {path}: position {made.log_position}, {made.tree_size} events, "
        f"{len(made.heads)} histories (cases and tracking codes), root {made.merkle_root.hex()}"
    )
    typer.echo("copy it to write-once storage: it is what proves later that nothing was removed")


@audit.command("verify-dossier")
def verify_dossier_file(
    file: Annotated[Path, typer.Argument(help="a dossier from GET /cases/{id}/dossier")],
    public_key: Annotated[
        str | None,
        typer.Option(
            help="the service's public key (hex) the dossier must be signed with; default "
            "MEDIATION_TRUSTED_PUBLIC_KEY, else the public key of the configured keys"
        ),
    ] = None,
) -> None:
    """Verify a dossier offline: no database, no secret key.

    The signature is checked against a key the auditor trusts, never only against the key the
    dossier carries (anyone can sign a forged dossier with a key of their own)."""
    try:
        dossier = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise fail(f"cannot read {file}: {error}") from None
    trusted = public_key or trusted_public_key()
    if trusted is None:
        raise fail(
            "no trusted public key: the signature cannot be checked against the key the "
            "dossier carries. Pass --public-key (the service's `mediation keys public`) or set "
            "MEDIATION_TRUSTED_PUBLIC_KEY"
        )
    problems = verify_dossier(dossier, trusted)
    for problem in problems:
        typer.echo(f"PROBLEM: {problem}")
    if problems:
        typer.echo(f"NOT VERIFIED: {len(problems)} problem(s)")
        raise typer.Exit(code=PROBLEMS)
    statement = dossier["statement"]
    typer.echo(
        f"VERIFIED: case {statement['case_id']}, {statement['head_version']} events, signed by "
        f"the trusted key {trusted[:16]}… on {statement['generated_at']}"
    )


def trusted_public_key() -> str | None:
    """The public key this machine trusts: MEDIATION_TRUSTED_PUBLIC_KEY, else the one of the
    service's own keys when they are configured here; None when neither is."""
    try:
        settings = load_settings()
        if settings.trusted_public_key is not None:
            return settings.trusted_public_key
        found, _ = keys_for(settings, create=False)
    except SettingsError:
        return None
    return found.verifying_key_hex


@retention.command("run")
def run_retention(
    years: Annotated[
        int | None, typer.Option(min=1, max=100, help="default MEDIATION_RETENTION_YEARS")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="the date to count from (default today)")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="list the cases, erase nothing")] = False,
) -> None:
    """Erase the personal data of cases resolved more than N years ago."""
    try:
        period = years or load_settings().retention_years
        day = date.fromisoformat(as_of) if as_of else None
    except (ValueError, SettingsError) as error:
        raise fail(str(error)) from None
    with opened() as (application, _):
        today = day or application.clock.now().date()
        due = cases_to_erase(application, today, period)
        for case_id in due:
            if dry_run:
                typer.echo(f"would erase {case_id}")
                continue
            application.erase_personal_data(
                case_id,
                reason=f"retention: resolved more than {period} years before {today}",
                actor="retention",
                rewrite_keys=False,
            )
            typer.echo(f"erased {case_id}")
        if due and not dry_run:
            application.rewrite_case_keys()  # once for the batch: it holds the table's lock
    typer.echo(
        f"{len(due)} case(s) {'to erase' if dry_run else 'erased'} (resolved before "
        f"{period} years ago)"
    )


@keys.command("generate")
def generate_keys() -> None:
    """Print new seal and signing keys as environment settings.

    Keep them out of the database. The data keys are made and rotated by the service, in
    MEDIATION_DATA_KEYS_FILE."""
    for name, value in as_environment(Keys.generate()).items():
        typer.echo(f"{name}={value}")


@keys.command("public")
def public_key() -> None:
    """Print the service's public key (hex): what dossiers and checkpoints are checked with."""
    try:
        settings = load_settings()
        found, _ = keys_for(settings, create=False)
    except SettingsError as error:
        raise fail(str(error)) from None
    typer.echo(found.verifying_key_hex)


@keys.command("rotate")
def rotate_data_keys(
    if_due: Annotated[
        bool,
        typer.Option(
            "--if-due", help="only when MEDIATION_DATA_KEY_ROTATION_DAYS have passed (as scheduled)"
        ),
    ] = False,
) -> None:
    """Rotate the data keys now: every erasure made before it is then complete on disk.

    A new data key, every case key rewrapped under it, the older ones destroyed."""
    with opened() as (application, _):
        try:
            if if_due:
                rotation = application.rotate_data_keys_if_due(
                    load_settings().data_key_rotation_days
                )
            else:
                rotation = application.rotate_data_keys()
        except RotationBusy as error:
            raise fail(str(error)) from None
    if rotation is None:
        typer.echo("no rotation due")
        return
    destroyed = ", ".join(rotation.destroyed) or "none"
    typer.echo(
        f"data key {rotation.current} now wraps every case key ({rotation.rewrapped} rewrapped); "
        f"destroyed: {destroyed}"
    )
    typer.echo("every erasure made before now is complete on disk (backups: see README.md)")


@keys.command("status")
def data_keys_status() -> None:
    """Where the data keys stand, and the erasures the next rotation completes on disk.

    The current data key, its age, and when the next rotation is due."""
    with opened() as (application, _):
        days = load_settings().data_key_rotation_days
        found = application.data_keys_status(days)
        pending = erasures_since(application, found.current.created_at)
    current = found.current
    typer.echo(
        f"current data key {current.id}, made {current.created_at:%Y-%m-%d %H:%M} UTC, wraps "
        f"{found.case_keys.get(current.id, 0)} case key(s)"
    )
    typer.echo(f"next rotation due by {found.next_rotation:%Y-%m-%d %H:%M} UTC (every {days} days)")
    typer.echo(f"{pending} erasure(s) since it was made: complete on disk at the next rotation")
    for key in found.ring:
        if key.id != current.id:
            typer.echo(f"left from an unfinished rotation: {key.id} (the next run finishes it)")
    for key_id, count in sorted(found.case_keys.items()):
        if key_id != current.id:
            typer.echo(f"{count} case key(s) still wrapped by {key_id}")
    retired = [k for k in found.registered if k.retired_at is not None]
    if retired:
        last = max(retired, key=lambda k: k.retired_at or k.created_at)
        typer.echo(f"last rotation: {last.retired_at:%Y-%m-%d %H:%M} UTC")


def _checkpoint(
    application: MediationApplication, folder: CheckpointFolder, path: Path | None
) -> Checkpoint | None:
    if path is None:
        return folder.latest()
    try:
        return read_checkpoint(path)
    except ValueError as error:
        raise fail(str(error)) from None
