"""Two API processes and one worker on one PostgreSQL database: every command reaches the
read models, whichever process received it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PLATFORMS_FILE
from tests.conftest import TEST_KEYS
from tests.conftest import TOKENS_SETTING
from tests.conftest import PostgresSchema
from tests.conftest import auth
from tests.conftest import report_body
from tests.conftest import require_postgres
from tests.test_end_to_end import Server
from tests.test_end_to_end import server_env
from tests.test_end_to_end import servers
from tests.test_end_to_end import start

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
__all__ = ["servers"]

WORKER = [
    sys.executable,
    "-c",
    "from interfaces.cli import main; main()",
    "worker",
    "--poll",
    "0.2",
]


@pytest.fixture
def schema() -> Iterator[PostgresSchema]:
    made = PostgresSchema(require_postgres())
    yield made
    made.drop()


def test_commands_through_two_api_processes_all_reach_the_queues(
    servers: list[Server], schema: PostgresSchema, tmp_path: Path
) -> None:
    env = server_env(
        MEDIATION_DATABASE_URL=schema.url,
        MEDIATION_DATABASE_SCHEMA=schema.name,
        MEDIATION_TOKENS=TOKENS_SETTING,
        MEDIATION_PLATFORMS_FILE=str(PLATFORMS_FILE),
        MEDIATION_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
        MEDIATION_MAIL_URL=f"folder:{tmp_path / 'outbox'}",
        MEDIATION_DATA_KEYS_FILE=str(tmp_path / "data-keys.json"),
        # A worker that has just started catches up with a slow machine's load: the reads
        # wait for its position (answering as soon as it is reached) longer than by default.
        MEDIATION_READ_MODEL_WAIT_SECONDS="20",
        **TEST_KEYS,
    )
    first = start(servers, tmp_path, env, "first", ("--no-projections",))
    second = start(servers, tmp_path, env, "second", ("--no-projections",))
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(WORKER, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        reported: list[str] = []
        last = 0
        for number in range(6):
            server = (first, second)[number % 2]
            answer = httpx.post(
                f"{server.base_url}/cases", json=report_body(), headers=auth("reporter")
            )
            assert answer.status_code == 201, answer.text
            reported.append(answer.json()["id"])
            last = max(last, answer.json()["position"])
        qualified = httpx.post(
            f"{first.base_url}/cases/{reported[0]}/qualify",
            json={"category": "ranking", "priority": "high", "summary": "s"},
            headers=auth("caseworker"),
        )
        last = max(last, qualified.json()["position"])
        for server in (first, second):
            page = httpx.get(
                f"{server.base_url}/queues/to-qualify",
                params={"min_position": last, "limit": 500},
                headers=auth("caseworker"),
                timeout=10,
            )
            assert page.status_code == 200, page.text
            assert {i["id"] for i in page.json()["items"]} == set(reported[1:])
            to_send = httpx.get(
                f"{server.base_url}/queues/to-send",
                params={"min_position": last},
                headers=auth("caseworker"),
            ).json()
            assert [i["id"] for i in to_send["items"]] == [reported[0]]
        ready = httpx.get(f"{second.base_url}/readyz", headers=auth("auditor")).json()
        assert ready["projections"][0]["position"] >= last
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
