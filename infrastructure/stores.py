"""What a store needs before the application opens on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from eventsourcing.persistence import OperationalError
from psycopg import sql

from infrastructure.settings import Settings, SettingsError, Store


def prepare_store(settings: Settings) -> None:
    """Make sure the SQLite file's folder exists, or the PostgreSQL schema does."""
    if settings.store is Store.SQLITE:
        path = settings.sqlite_path
        assert path is not None
        if str(path) != ":memory:" and not path.parent.exists():
            raise SettingsError(f"MEDIATION_DATABASE_URL: the folder {path.parent} does not exist")
    elif settings.store is Store.POSTGRES:
        create_schema(settings)


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
