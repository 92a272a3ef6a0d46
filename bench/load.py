"""The load generator: an asyncio HTTP client (aiohttp) in a process of its own, so that it
takes one core and leaves the server the rest.

    python -m bench.load '{"base": "http://127.0.0.1:8000", "scenario": "report", "clients": 8,
                           "seconds": 5, "token": "..."}'

prints one JSON object: requests, errors, requests/s and latency percentiles in milliseconds.

Scenarios:
- `report`: closed loop of `POST /cases` (each a new case);
- `qualify`: each client reports a case of its own, then qualifies it again and again;
- `get`: closed loop of `GET path`;
- `visibility`: open loop of `POST /cases` at `rate` per second; for each answer, the time until
  the read models' position (read from their table in the database) reaches the answer's
  position.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from typing import Any

import aiohttp

from infrastructure.queue_stores import LIVE as QUEUES_STATE
from infrastructure.statistics_stores import LIVE as STATISTICS_STATE

REPORT = {
    "company": {
        "name": "Atelier Dupont",
        "siren": "732829320",
        "size": "micro",
        "contact_name": "Jeanne Dupont",
        "contact_email": "jeanne@atelier-dupont.fr",
    },
    "platform": "Amazon Marketplace",
    "description": "Our shop was delisted overnight without any explanation.",
    "occurred_on": "2026-01-20",
    "category_hint": "delisting",
    "channel": "web",
}
QUALIFY = {
    "category": "delisting",
    "priority": "high",
    "summary": "Delisting of 40 offers without a statement of reasons.",
    "p2b_articles": ["Art. 4(1)"],
}
# The names under which the read models record their positions (their format included).
READ_MODELS = (QUEUES_STATE, STATISTICS_STATE)


def summary(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def at(fraction: float) -> float | None:
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    return {
        "requests": len(ordered),
        "errors": errors,
        "rps": len(ordered) / seconds,
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
    }


async def closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    base, clients = spec["base"], spec["clients"]
    warmup, seconds = spec.get("warmup", 1.0), spec["seconds"]
    headers = {"Authorization": f"Bearer {spec['token']}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:
        targets = await prepare(session, spec)
        latencies: list[float] = []
        errors = 0
        start = time.monotonic()
        measure_from, stop_at = start + warmup, start + warmup + seconds

        async def client(index: int) -> None:
            nonlocal errors
            method, path, body = targets[index]
            while (now := time.monotonic()) < stop_at:
                async with session.request(method, path, json=body) as response:
                    await response.read()
                    ok = response.status < 400
                done = time.monotonic()
                if now >= measure_from:
                    if ok:
                        latencies.append(done - now)
                    else:
                        errors += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
    return summary(latencies, errors, seconds)


async def prepare(
    session: aiohttp.ClientSession, spec: dict[str, Any]
) -> list[tuple[str, str, Any]]:
    """Per client: the method, path and body it sends."""
    clients, scenario = spec["clients"], spec["scenario"]
    if scenario == "report":
        return [("POST", "/cases", REPORT)] * clients
    if scenario == "get":
        return [("GET", spec["path"], None)] * clients
    if scenario == "qualify":
        reporter = {"Authorization": f"Bearer {spec['reporter_token']}"}
        targets = []
        for _ in range(clients):
            async with session.post("/cases", json=REPORT, headers=reporter) as response:
                case_id = (await response.json())["id"]
            targets.append(("POST", f"/cases/{case_id}/qualify", QUALIFY))
        return targets
    raise ValueError(f"no scenario {scenario!r}")


class Positions:
    """The read models' position, read from their table in the database."""

    def __init__(self, spec: dict[str, Any]) -> None:
        url = spec["database_url"]
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            self.connection: Any = sqlite3.connect(path, check_same_thread=False)
            self.query = "SELECT min(position) FROM projection_state WHERE name IN (?, ?)"
        else:
            import psycopg

            self.connection = psycopg.connect(url, autocommit=True)
            table = f'"{spec["schema"]}".mediation_projection_state'
            self.query = f"SELECT min(position) FROM {table} WHERE name IN (%s, %s)"  # noqa: S608

    def current(self) -> int:
        row = self.connection.execute(self.query, READ_MODELS).fetchone()
        return int(row[0] or 0)


async def visibility(spec: dict[str, Any]) -> dict[str, Any]:
    """Open loop at `rate` commands/s; per command, answer -> visible in every read model."""
    base, rate, seconds = spec["base"], spec["rate"], spec["seconds"]
    headers = {"Authorization": f"Bearer {spec['token']}"}
    positions = Positions(spec)
    answered: list[tuple[float, int]] = []  # (when answered, position)
    visible_at: dict[int, float] = {}
    stop = asyncio.Event()

    async def watch() -> None:
        # One look every millisecond (the resolution of the figure), until the read models
        # have reached the last answer's position.
        while True:
            position = await asyncio.to_thread(positions.current)
            visible_at.setdefault(position, time.monotonic())
            if stop.is_set() and position >= max((p for _, p in answered), default=0):
                return
            await asyncio.sleep(0.001)

    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:
        errors = 0

        async def command() -> None:
            nonlocal errors
            async with session.post("/cases", json=REPORT) as response:
                body = await response.json()
                if response.status >= 400:
                    errors += 1
                    return
            answered.append((time.monotonic(), int(body["position"])))

        watcher = asyncio.create_task(watch())
        started = time.monotonic()
        pending = []
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            pending.append(asyncio.create_task(command()))
        await asyncio.gather(*pending)
        stop.set()
        await asyncio.wait_for(watcher, timeout=30)
    seen = sorted(visible_at.items())
    delays = []
    for when, position in answered:
        # The first look that saw the read models at or past this position.
        first = next(t for p, t in seen if p >= position)
        delays.append(max(0.0, first - when))
    found = summary(delays, errors, seconds)
    found["rps"] = len(answered) / (time.monotonic() - started)
    return found


def main() -> None:
    spec = json.loads(sys.argv[1])
    runner = visibility if spec["scenario"] == "visibility" else closed_loop
    print(json.dumps(asyncio.run(runner(spec))))


if __name__ == "__main__":
    main()
