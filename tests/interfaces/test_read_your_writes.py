"""Read-your-writes (`min_position`) through the real server: the request is validated before
anything waits, a position beyond the log's head is refused at once, a wait holds no thread
(so it cannot stall the other routes), the waits are bounded, and a wait ends as soon as the
read models reach the position.

The app runs on uvicorn (tests/interfaces/served.py) with no projections in it, so its read
models stand still until the test catches them up by hand (`runner.catch_up`).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from application.clock import SettableClock
from interfaces.http.app import create_app
from tests.conftest import auth
from tests.conftest import report_body
from tests.conftest import settings_for
from tests.interfaces.problems import assert_problem
from tests.interfaces.served import served

pytestmark = pytest.mark.slow

WAITERS = 100
SLOWER_AT_MOST = 4
"""How many times slower /healthz may answer while WAITERS requests wait for the read models."""
HEALTHZ_SAMPLES = 15
BOUND_SECONDS = 30.0
"""How long a step may take before the test gives up (each takes well under a second)."""


@pytest.fixture
def standstill(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> Callable[..., FastAPI]:
    """Makes the app with `settings`, its read models standing still (no projections run)."""

    def make(**settings: Any) -> FastAPI:
        return create_app(
            settings_for(durable_store, tmp_path, request, run_projections=False, **settings),
            clock=clock,
        )

    return make


def report(base_url: str) -> dict[str, Any]:
    answer = httpx.post(f"{base_url}/cases", json=report_body(), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def until_waiting(app: FastAPI, count: int) -> None:
    """Until `count` requests wait for the read models."""
    deadline = time.monotonic() + BOUND_SECONDS
    while (waiting := app.state.read_model_waits.waiting) < count:
        assert time.monotonic() < deadline, f"only {waiting} of {count} requests got to wait"
        await asyncio.sleep(0.01)


async def healthz_median(client: httpx.AsyncClient) -> float:
    seconds = []
    for _ in range(HEALTHZ_SAMPLES):
        started = time.perf_counter()
        answer = await client.get("/healthz")
        seconds.append(time.perf_counter() - started)
        assert answer.status_code == 200
    return statistics.median(seconds)


def test_waits_for_the_read_models_do_not_stall_the_server(
    standstill: Callable[..., FastAPI],
) -> None:
    """WAITERS requests wait for a position the read models have not reached: /healthz answers
    about as fast as without them; once the read models reach it, every wait answers."""
    app = standstill(read_model_wait_seconds=BOUND_SECONDS)
    with served(app) as base_url:
        position = report(base_url)["position"]

        async def scenario() -> tuple[float, float, list[httpx.Response]]:
            limits = httpx.Limits(max_connections=WAITERS + 10)
            async with httpx.AsyncClient(
                base_url=base_url, limits=limits, timeout=BOUND_SECONDS
            ) as client:
                alone = await healthz_median(client)
                waits = [
                    asyncio.create_task(
                        client.get(
                            "/statistics",
                            params={"min_position": position},
                            headers=auth("analyst"),
                        )
                    )
                    for _ in range(WAITERS)
                ]
                await until_waiting(app, WAITERS)
                beside_waits = await healthz_median(client)
                assert not any(wait.done() for wait in waits)
                await asyncio.to_thread(app.state.runner.catch_up)
                return alone, beside_waits, await asyncio.gather(*waits)

        alone, beside_waits, answers = asyncio.run(scenario())

    assert beside_waits <= SLOWER_AT_MOST * alone, (
        f"/healthz took {beside_waits * 1000:.1f} ms beside {WAITERS} waits, "
        f"{alone * 1000:.1f} ms alone"
    )
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["position"] >= position


def test_waits_beyond_the_bound_answer_503_at_once(standstill: Callable[..., FastAPI]) -> None:
    app = standstill(read_model_wait_seconds=BOUND_SECONDS, read_model_max_waiters=2)
    with served(app) as base_url:
        position = report(base_url)["position"]

        async def scenario() -> tuple[httpx.Response, list[httpx.Response]]:
            async with httpx.AsyncClient(base_url=base_url, timeout=BOUND_SECONDS) as client:

                def queue() -> Any:
                    return client.get(
                        "/queues/to-qualify",
                        params={"min_position": position},
                        headers=auth("caseworker"),
                    )

                waits = [asyncio.create_task(queue()) for _ in range(2)]
                await until_waiting(app, 2)
                beyond = await queue()
                assert not any(wait.done() for wait in waits), "the bound ended other waits"
                await asyncio.to_thread(app.state.runner.catch_up)
                return beyond, await asyncio.gather(*waits)

        beyond, waited = asyncio.run(scenario())

    body = assert_problem(beyond, 503)
    assert body["type"].endswith("/problems/read-model-behind")
    assert int(beyond.headers["Retry-After"]) >= 1
    for answer in waited:
        assert answer.status_code == 200, answer.text
        assert [item["id"] for item in answer.json()["items"]]


INVALID = [
    ("/statistics/annual/99999", {}, "year"),
    ("/statistics", {"from": "2026-13-01"}, "from"),
    ("/statistics", {"from": "2026-03-05", "to": "2026-03-04"}, "from"),
    ("/statistics/export.csv", {"lang": "de"}, "lang"),
    ("/queues/to-qualify", {"cursor": "garbage"}, "cursor"),
    ("/queues/to-qualify", {"limit": 0}, "limit"),
    ("/queues/no-such-queue", {}, "queue"),
]


def test_an_invalid_request_with_min_position_is_a_422_before_any_wait(
    standstill: Callable[..., FastAPI],
) -> None:
    """The position is one the read models have not reached: had a request waited first, it
    would have answered 503 after the wait (far longer than the client's timeout)."""
    app = standstill(read_model_wait_seconds=BOUND_SECONDS)
    with served(app) as base_url:
        position = report(base_url)["position"]
        for path, params, field in INVALID:
            answer = httpx.get(
                f"{base_url}{path}",
                params={**params, "min_position": position},
                headers=auth("caseworker"),
                timeout=BOUND_SECONDS / 3,
            )
            body = assert_problem(answer, 422)
            assert field in [error["field"] for error in body["errors"]], (path, body)


def test_a_min_position_beyond_the_log_is_a_422_at_once(
    standstill: Callable[..., FastAPI],
) -> None:
    app = standstill(read_model_wait_seconds=BOUND_SECONDS)
    with served(app) as base_url:
        head = report(base_url)["position"]
        answers = [
            httpx.get(
                f"{base_url}{path}",
                params={"min_position": head + 1},
                headers=auth("caseworker"),
                timeout=BOUND_SECONDS / 3,
            )
            for path in ("/queues/to-qualify", "/statistics", "/statistics/annual/2026")
        ]
    for answer in answers:
        body = assert_problem(answer, 422)
        assert body["errors"] == [
            {"field": "min_position", "in": "query", "message": body["detail"]}
        ]
        assert f"head ({head})" in body["detail"]


def test_a_command_is_read_back_with_its_position(
    durable_store: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> None:
    """With the projections running, as by default: the position a command answers, passed as
    min_position, gives a queue page that shows its effect."""
    app = create_app(settings_for(durable_store, tmp_path, request), clock=clock)
    with served(app) as base_url, httpx.Client(base_url=base_url) as client:
        case_id = report(base_url)["id"]
        qualified = client.post(
            f"/cases/{case_id}/qualify",
            json={"category": "delisting", "priority": "high", "summary": "No reasons."},
            headers=auth("caseworker"),
        )
        assert qualified.status_code == 200, qualified.text
        for queue, expected in (("to-send", [case_id]), ("to-qualify", [])):
            page = client.get(
                f"/queues/{queue}",
                params={"min_position": qualified.json()["position"]},
                headers=auth("caseworker"),
            )
            assert page.status_code == 200, page.text
            assert [item["id"] for item in page.json()["items"]] == expected
