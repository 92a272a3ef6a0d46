"""End to end: `mediation serve` as a real process, driven over real HTTP.

A caseworker's cases survive a stop and a start on the same SQLite file; a start without
tokens makes and prints working ones; an unsafe setting stops the start with one line.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PLATFORMS_FILE
from tests.conftest import TOKENS_SETTING
from tests.conftest import auth
from tests.conftest import report_body

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SERVE = [sys.executable, "-c", "from interfaces.cli import main; main()", "serve"]
START_BUDGET_SECONDS = 30.0
STOP_BUDGET_SECONDS = 15.0
POLL_SECONDS = 0.1
ROLES = ("reporter", "caseworker", "auditor", "analyst", "dpo")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(**settings: str) -> dict[str, str]:
    """This process's environment without any MEDIATION_* variable, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


class Server:
    """One `mediation serve` process, its output kept in files."""

    def __init__(
        self, folder: Path, env: dict[str, str], name: str, arguments: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # The e-mails into the test's folder, not the repository's ./outbox (unless told).
        env = {"MEDIATION_MAIL_URL": f"folder:{folder / 'outbox'}", **env}
        self.stdout_path = folder / f"{name}.stdout"
        self.stderr_path = folder / f"{name}.stderr"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [*SERVE, "--port", str(self.port), "--log-level", "info", *arguments],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_until_alive(self) -> None:
        deadline = time.monotonic() + START_BUDGET_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"mediation serve exited with {self.process.returncode}:\n{self.stderr}"
                )
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(POLL_SECONDS)
        pytest.fail(f"no /healthz within {START_BUDGET_SECONDS} s:\n{self.stderr}")

    def stop(self) -> None:
        """SIGTERM, and a graceful stop: the app's shutdown ran (the store was closed)."""
        assert self.process.poll() is None, f"exited early:\n{self.stderr}"
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_BUDGET_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"mediation serve did not stop within {STOP_BUDGET_SECONDS} s")
        # uvicorn shuts down, then re-raises the signal it caught: -SIGTERM is a clean stop.
        assert self.process.returncode in (0, -signal.SIGTERM), self.stderr
        assert "Application shutdown complete" in self.stderr, self.stderr

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_BUDGET_SECONDS)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers started by the test; every one still running is killed at teardown."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def start(
    servers: list[Server],
    folder: Path,
    env: dict[str, str],
    name: str,
    arguments: tuple[str, ...] = (),
) -> Server:
    server = Server(folder, env, name, arguments)
    servers.append(server)
    server.wait_until_alive()
    return server


def utc_today() -> datetime:
    return datetime.now(UTC)


def command(
    client: httpx.Client, case_id: str, name: str, body: dict[str, Any], etag: str
) -> httpx.Response:
    answer = client.post(
        f"/cases/{case_id}/{name}",
        json=body,
        headers={**auth("caseworker"), "If-Match": etag},
    )
    assert answer.status_code == 200, f"{name}: {answer.status_code} {answer.text}"
    assert answer.headers["ETag"] == f'"{answer.json()["version"]}"'
    return answer


def snapshot(client: httpx.Client, case_ids: list[str], codes: list[str]) -> dict[str, Any]:
    """Everything a restart must keep: each case's state and history, and the tracking view."""
    seen: dict[str, Any] = {}
    for case_id in case_ids:
        state = client.get(f"/cases/{case_id}", headers=auth("caseworker"))
        history = client.get(f"/cases/{case_id}/history", headers=auth("auditor"))
        assert state.status_code == 200, state.text
        assert history.status_code == 200, history.text
        seen[case_id] = {"state": state.json(), "history": history.json()}
    for code in codes:
        tracked = client.get(f"/track/{code}")
        assert tracked.status_code == 200, tracked.text
        seen[code] = tracked.json()
    return seen


def test_cases_and_their_histories_survive_a_restart(servers: list[Server], tmp_path: Path) -> None:
    env = server_env(
        MEDIATION_DATABASE_URL=f"sqlite:///{tmp_path / 'e2e.db'}",
        MEDIATION_TOKENS=TOKENS_SETTING,
        MEDIATION_PLATFORMS_FILE=str(PLATFORMS_FILE),
    )
    first = start(servers, tmp_path, env, "first")
    occurred_on = (utc_today() - timedelta(days=10)).date().isoformat()

    with httpx.Client(base_url=first.base_url, timeout=10) as client:
        reported = client.post(
            "/cases", json=report_body(occurred_on=occurred_on), headers=auth("reporter")
        )
        assert reported.status_code == 201, reported.text
        resolved_id, resolved_code = reported.json()["id"], reported.json()["tracking_code"]
        assert reported.headers["Location"] == f"/cases/{resolved_id}"

        answer = command(
            client,
            resolved_id,
            "qualify",
            {"category": "delisting", "priority": "high", "summary": "Delisted, no reasons."},
            reported.headers["ETag"],
        )
        answer = command(
            client,
            resolved_id,
            "send-to-platform",
            {"message": "Please state the reasons for the delisting."},
            answer.headers["ETag"],
        )
        assert answer.json()["response_due"] > utc_today().date().isoformat()
        answer = command(
            client,
            resolved_id,
            "platform-response",
            {"stance": "refused", "response": "The listing breached our policies."},
            answer.headers["ETag"],
        )
        answer = command(
            client,
            resolved_id,
            "escalate",
            {"reason": "unsatisfactory_response", "note": "No policy named."},
            answer.headers["ETag"],
        )
        assert answer.json()["mediator_reference"]
        answer = command(
            client,
            resolved_id,
            "resolve",
            {"outcome": "partially_resolved", "summary": "Relisted; fees not refunded."},
            answer.headers["ETag"],
        )
        assert answer.json()["status"] == "resolved"
        assert answer.json()["version"] == 6

        second = client.post(
            "/cases",
            json=report_body(name="Boutique Martin", occurred_on=occurred_on),
            headers=auth("reporter"),
        )
        assert second.status_code == 201, second.text
        open_id, open_code = second.json()["id"], second.json()["tracking_code"]

        before = snapshot(client, [resolved_id, open_id], [resolved_code, open_code])

    assert [e["type"] for e in before[resolved_id]["history"]["events"]] == [
        "Reported",
        "Qualified",
        "SentToPlatform",
        "PlatformResponded",
        "EscalatedToMediator",
        "Resolved",
    ]
    assert {e["actor"] for e in before[resolved_id]["history"]["events"][1:]} == {"caseworker-1"}
    assert before[resolved_id]["state"]["status"] == "resolved"
    assert before[open_id]["state"]["status"] == "reported"
    assert before[resolved_code]["status"] == "resolved"
    assert before[open_code]["status"] == "reported"

    first.stop()
    again = start(servers, tmp_path, env, "again")

    with httpx.Client(base_url=again.base_url, timeout=10) as client:
        after = snapshot(client, [resolved_id, open_id], [resolved_code, open_code])
        assert after == before
        qualified = client.post(
            f"/cases/{open_id}/qualify",
            json={"category": "ranking", "priority": "normal", "summary": "Demoted in search."},
            headers={**auth("caseworker"), "If-Match": '"1"'},
        )
        assert qualified.status_code == 200, qualified.text
        assert qualified.json()["version"] == 2
    again.stop()


def test_serve_without_tokens_prints_one_working_token_per_role_once(
    servers: list[Server], tmp_path: Path
) -> None:
    env = server_env(MEDIATION_DATABASE_URL=f"sqlite:///{tmp_path / 'tokens.db'}")
    server = start(servers, tmp_path, env, "tokens")
    output = server.stdout

    assert "No MEDIATION_TOKENS set" in output
    printed = re.findall(r"^\s+(\w+)\s+(\S+)\s+\(actor ([^)]+)\)$", output, flags=re.MULTILINE)
    assert sorted(role for role, _, _ in printed) == sorted(ROLES), output
    tokens = {role: token for role, token, _ in printed}
    assert len(set(tokens.values())) == len(ROLES)
    for token in tokens.values():
        assert output.count(token) == 1, f"a token is printed more than once:\n{output}"
        assert token not in server.stderr

    occurred_on = (utc_today() - timedelta(days=3)).date().isoformat()
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        unknown = client.post(
            "/cases", json=report_body(occurred_on=occurred_on), headers=auth("reporter")
        )
        assert unknown.status_code == 401, unknown.text
        reported = client.post(
            "/cases",
            json=report_body(occurred_on=occurred_on),
            headers={"Authorization": f"Bearer {tokens['reporter']}"},
        )
        assert reported.status_code == 201, reported.text
        case_id = reported.json()["id"]
        history = client.get(
            f"/cases/{case_id}/history",
            headers={"Authorization": f"Bearer {tokens['auditor']}"},
        )
        assert history.status_code == 200, history.text
        actors = {role: actor for role, _, actor in printed}
        assert history.json()["events"][0]["actor"] == actors["reporter"]
        forbidden = client.get(
            f"/cases/{case_id}", headers={"Authorization": f"Bearer {tokens['analyst']}"}
        )
        assert forbidden.status_code == 403, forbidden.text

    server.stop()
    assert server.stdout.count("No MEDIATION_TOKENS set") == 1


def test_serve_says_where_the_pages_are_and_how_to_make_the_first_staff_account(
    servers: list[Server], tmp_path: Path
) -> None:
    env = server_env(MEDIATION_DATABASE_URL=f"sqlite:///{tmp_path / 'site.db'}")
    server = start(servers, tmp_path, env, "site")
    output = server.stdout

    printed = re.findall(r"(http://127\.0\.0\.1:\d+/\S*)", output)
    assert {address.removeprefix(server.base_url) for address in printed} >= {
        "/signaler",
        "/en/report",
        "/console",
        "/tableau-de-bord",
        "/docs",
    }, output
    assert "No staff account yet" in output
    assert "mediation users add" in output
    with httpx.Client(timeout=10, follow_redirects=True) as client:
        for address in printed:
            answer = client.get(address)
            assert answer.status_code == 200, address
            assert answer.headers["content-type"].startswith("text/html"), address
    server.stop()


@pytest.mark.parametrize(
    "unsafe",
    [
        {"MEDIATION_TOKENS": "short:caseworker:x"},
        {
            "MEDIATION_TOKENS": TOKENS_SETTING,
            "MEDIATION_PLATFORMS_FILE": str(PLATFORMS_FILE),
            "MEDIATION_RESPONSE_DAYS_URGENT": "30",
        },
        {"MEDIATION_TOKENS": "a-long-enough-token-0123:superuser:eve"},
    ],
    ids=["short-token", "urgent-after-standard", "unknown-role"],
)
def test_an_unsafe_setting_stops_the_start_with_one_line(
    unsafe: dict[str, str], tmp_path: Path
) -> None:
    env = server_env(MEDIATION_DATABASE_URL=f"sqlite:///{tmp_path / 'unsafe.db'}", **unsafe)
    process = subprocess.Popen(
        [*SERVE, "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=START_BUDGET_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_BUDGET_SECONDS)

    assert process.returncode != 0, stdout
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mediation: MEDIATION_"), stderr
    assert "Traceback" not in stderr
    assert "serving on" not in stdout
    assert not (tmp_path / "unsafe.db").exists()
