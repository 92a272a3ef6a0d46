"""Servers under test, each in a process of its own: the service as in production (seals and
per-case encryption on, projections running), and the bare baseline, under the same uvicorn
settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from application.keys import Keys
from bench.filling import fresh_schema
from bench.harness import ROOT
from infrastructure.keyfiles import as_environment

TOKENS = {
    "reporter": "bench-reporter-token-0123456789",
    "caseworker": "bench-caseworker-token-0123456789",
    "auditor": "bench-auditor-token-0123456789",
    "analyst": "bench-analyst-token-0123456789",
}
KEYS = as_environment(Keys.generate())
UVICORN = ["--workers", "1", "--log-level", "warning", "--no-access-log", "--no-server-header"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def store(kind: str, postgres_url: str) -> Iterator[dict[str, str]]:
    """The settings of a fresh store of `kind` ("postgres" or "sqlite"), removed afterwards."""
    if kind == "postgres":
        with fresh_schema(postgres_url) as schema, tempfile.TemporaryDirectory() as keys:
            yield {
                "MEDIATION_DATABASE_URL": postgres_url,
                "MEDIATION_DATABASE_SCHEMA": schema,
                "MEDIATION_DATA_KEYS_FILE": str(Path(keys) / "data-keys.json"),
            }
    else:
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            yield {"MEDIATION_DATABASE_URL": f"sqlite:///{Path(folder) / 'mediation.db'}"}


@contextmanager
def serve(target: list[str], env: dict[str, str]) -> Iterator[str]:
    """Run `uvicorn <target>` with `env` added; yield its base URL once /healthz answers."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", *target, "--port", str(port), *UVICORN]
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(target)} stopped at start ({process.returncode})")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):  # noqa: S310 (local)
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # a server starting, not a projection
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def service(store_env: dict[str, str], **settings: str) -> Iterator[str]:
    """The service as in production: seals and per-case encryption on; on SQLite the read
    models follow in the API's process (`mediation serve`'s default), on PostgreSQL in a
    `mediation worker` of their own beside an API started without them (README, "Running on
    PostgreSQL")."""
    env = {
        **store_env,
        **KEYS,
        "MEDIATION_TOKENS": ",".join(
            f"{token}:{role}:{role}-bench" for role, token in TOKENS.items()
        ),
        "MEDIATION_CHECKPOINT_DIR": tempfile.mkdtemp(prefix="bench-checkpoints-"),
        **settings,
    }
    if "MEDIATION_DATABASE_SCHEMA" not in store_env:
        with serve(["--factory", "interfaces.http.app:app_from_environment"], env) as base:
            yield base
        return
    env["MEDIATION_RUN_PROJECTIONS"] = "false"
    with serve(["--factory", "interfaces.http.app:app_from_environment"], env) as base:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "mediation"), "worker"],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield base
        finally:
            worker.terminate()
            worker.wait(timeout=20)


@contextmanager
def bare(store_env: dict[str, str]) -> Iterator[str]:
    """The baseline: validate the body, one INSERT, on the same store."""
    url = store_env["MEDIATION_DATABASE_URL"]
    env = {"BARE_DATABASE_URL": url}
    if "MEDIATION_DATABASE_SCHEMA" in store_env:
        schema = store_env["MEDIATION_DATABASE_SCHEMA"]
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        env["BARE_DATABASE_URL"] = f"{url}?options=-csearch_path%3D{schema}"
    with serve(["--factory", "bench.bare:create_app"], env) as base:
        yield base
