"""What a store needs before the application opens on it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from eventsourcing.persistence import OperationalError
from psycopg import sql

from infrastructure.settings import Settings
from infrastructure.settings import SettingsError
from infrastructure.settings import Store


def prepare_store(settings: Settings) -> str | None:
    """Make sure the SQLite file exists, owner-only, or the PostgreSQL schema does; a message
    to show when a file's permissions had to be narrowed."""
    if settings.store is Store.SQLITE:
        path = settings.sqlite_path
        assert path is not None
        if str(path) == ":memory:":
            return None
        if not path.parent.exists():
            raise SettingsError(f"MEDIATION_DATABASE_URL: the folder {path.parent} does not exist")
        return owner_only(path)
    if settings.store is Store.POSTGRES:
        create_schema(settings)
    return None


SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")
"""The database file and the files SQLite keeps beside it (which take the file's mode)."""


def owner_only(database: Path) -> str | None:
    """Create the SQLite file readable by its owner only (like its key file), before SQLite
    creates it with the process's umask; narrow the mode of an existing one and its companions
    (they hold personal data, encrypted or not yet checkpointed)."""
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return None
    except FileExistsError:
        pass
    narrowed = []
    for suffix in SQLITE_COMPANIONS:
        path = database.with_name(database.name + suffix)
        if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            path.chmod(0o600)
            narrowed.append(path.name)
    if narrowed:
        return f"{', '.join(narrowed)} could be read by others: made owner-only (chmod 600)"
    return None


# Any constant shared by every process of the service: the key of its advisory lock.
SCHEMA_LOCK_KEY = 0x6D656469  # "medi"


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Hold a lock while tables are created: processes starting at once on a new PostgreSQL
    database would otherwise race on CREATE TABLE IF NOT EXISTS (which is not atomic there)."""
    if settings.store is not Store.POSTGRES:
        yield
        return
    try:
        connection = psycopg.connect(**postgres_conninfo(settings), autocommit=True)  # type: ignore[arg-type]
    except psycopg.OperationalError as error:
        raise OperationalError(str(error)) from error
    with connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def postgres_conninfo(settings: Settings) -> dict[str, str]:
    env = settings.eventsourcing_env()
    return {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
        "connect_timeout": env["POSTGRES_CONNECT_TIMEOUT"],
    }


def create_schema(settings: Settings) -> None:
    """Create the configured schema; an unreachable server raises the library's own
    OperationalError, like every other store failure."""
    statement = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
        sql.Identifier(settings.database_schema)
    )
    try:
        with psycopg.connect(**postgres_conninfo(settings), autocommit=True) as connection:  # type: ignore[arg-type]
            connection.execute(statement)
    except psycopg.OperationalError as error:
        raise OperationalError(str(error)) from error
