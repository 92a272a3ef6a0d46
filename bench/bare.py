"""The baseline of figures 1 and 2: the limit of one durable write per request on this stack.

A bare FastAPI app under the same server settings as the service, whose `POST /cases` and
`POST /cases/{id}/qualify` validate the very same bodies with the service's pydantic models and
each do one single-row INSERT (psycopg with a pool like the service's, or sqlite3 in WAL mode as
the library opens it), and nothing else: no event sourcing, no seal, no encryption.

    BARE_DATABASE_URL=postgresql://postgres@127.0.0.1/mediation_bench \\
        uvicorn --factory bench.bare:create_app
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi import Response

from interfaces.http.schemas import QualifyCaseRequest
from interfaces.http.schemas import ReportCaseRequest

TABLE = "bare_writes"


def postgres_writer(url: str, pool_size: int) -> Callable[[uuid.UUID, str], None]:
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(url, min_size=pool_size, max_size=pool_size * 2, open=True)
    with pool.connection() as connection:
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id bigserial PRIMARY KEY, case_id uuid, body text)"
        )

    def write(case_id: uuid.UUID, body: str) -> None:
        with pool.connection() as connection:
            connection.execute(
                f"INSERT INTO {TABLE} (case_id, body) VALUES (%s, %s)",  # noqa: S608 (constant)
                (case_id, body),
            )

    return write


def sqlite_writer(path: str) -> Callable[[uuid.UUID, str], None]:
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "connection"):
            local.connection = sqlite3.connect(path, timeout=30, isolation_level=None)
            local.connection.execute("PRAGMA journal_mode=WAL")
        return local.connection  # type: ignore[no-any-return]

    connection().execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, case_id TEXT, body TEXT)"
    )

    def write(case_id: uuid.UUID, body: str) -> None:
        connection().execute(
            f"INSERT INTO {TABLE} (case_id, body) VALUES (?, ?)",  # noqa: S608 (constant)
            (str(case_id), body),
        )

    return write


def create_app() -> FastAPI:
    url = os.environ["BARE_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        write = sqlite_writer(url.removeprefix("sqlite:///"))
    else:
        write = postgres_writer(url, int(os.environ.get("BARE_POOL_SIZE", "5")))
    app = FastAPI()

    @app.post("/cases", status_code=201)
    def report(body: ReportCaseRequest) -> dict[str, Any]:
        case_id = uuid.uuid4()
        write(case_id, body.model_dump_json())
        return {"id": str(case_id), "version": 1, "status": "reported"}

    @app.post("/cases/{case_id}/qualify")
    def qualify(case_id: uuid.UUID, body: QualifyCaseRequest, response: Response) -> dict[str, Any]:
        write(case_id, body.model_dump_json())
        return {"id": str(case_id), "status": "qualified"}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
