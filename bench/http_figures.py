"""Figures measured over HTTP against uvicorn: 1 and 2 (commands vs the bare one-INSERT
endpoint, on PostgreSQL and SQLite), 5 (from a command's answer to its position in the read
models, under a steady load) and 7 (reads of one long case vs /healthz).

The service runs as in production: seals and per-case encryption on, projections running in
its process. Service and baseline are up side by side, idle in turn, and their runs alternate,
so that the machine's noise falls on both alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from datetime import UTC
from datetime import datetime
from typing import Any

from bench.harness import ROOT
from bench.harness import Figure
from bench.harness import Goal
from bench.harness import Mode
from bench.load import QUALIFY
from bench.load import REPORT
from bench.servers import TOKENS
from bench.servers import bare
from bench.servers import service
from bench.servers import store

COMMANDS = {"report": "POST /cases", "qualify": "POST /cases/{id}/qualify"}
ROLES = {"report": "reporter", "qualify": "caseworker"}
STORES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """One run of the load generator, in a process of its own."""
    found = subprocess.run(
        [sys.executable, "-m", "bench.load", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=spec.get("seconds", 10) * 4 + 120,
    )
    return json.loads(found.stdout)  # type: ignore[no-any-return]


def commands(mode: Mode, kind: str) -> list[Figure]:
    """Figures 1 (PostgreSQL) and 2 (SQLite)."""
    number, where = (1, "PostgreSQL") if kind == "postgres" else (2, "SQLite")
    runs: dict[tuple[str, str, int, str], list[float]] = {}
    with store(kind, mode.postgres_url) as env, service(env) as api, bare(env) as baseline:
        for _ in range(mode.runs):
            for command in COMMANDS:
                for clients in (1, 8):
                    for who, base in (("bare", baseline), ("service", api)):
                        found = load(
                            {
                                "base": base,
                                "scenario": command,
                                "clients": clients,
                                "seconds": mode.seconds,
                                "token": TOKENS[
                                    "caseworker" if command == "qualify" else "reporter"
                                ],
                                "reporter_token": TOKENS["reporter"],
                            }
                        )
                        if found["errors"]:
                            raise RuntimeError(f"{who} {command} x{clients}: {found}")
                        for metric in ("rps", "p50_ms", "p99_ms"):
                            runs.setdefault((command, who, clients, metric), []).append(
                                found[metric]
                            )
                        print(f"  {where} {command} x{clients} {who}: {found}", file=sys.stderr)
    figures = []
    for command, route in COMMANDS.items():
        for clients, metric, unit, goal in (
            (1, "rps", "req/s", Goal.reported()),
            (1, "p99_ms", "ms", Goal.reported()),
            (8, "rps", "req/s", Goal.ratio_at_least(0.8)),
            (8, "p50_ms", "ms", Goal.reported()),
            (8, "p99_ms", "ms", Goal.ratio_at_most(2) if kind == "postgres" else Goal.reported()),
        ):
            label = {"rps": "requests/s", "p50_ms": "p50", "p99_ms": "p99"}[metric]
            figures.append(
                Figure(
                    number=number,
                    name=f"`{route}`, {where}, {clients} client(s): {label}",
                    unit=unit,
                    runs=runs[(command, "service", clients, metric)],
                    goal=goal,
                    baseline_name="bare endpoint, one INSERT",
                    baseline_runs=runs[(command, "bare", clients, metric)],
                )
            )
    return figures


def visibility(mode: Mode, rate: int = 200) -> list[Figure]:
    """Figure 5: under a steady `rate` commands/s, from an answer to its position in the
    read models."""
    figures = []
    for kind in ("postgres", "sqlite"):
        delays = []
        achieved = []
        with store(kind, mode.postgres_url) as env, service(env) as api:
            spec = {
                "base": api,
                "scenario": "visibility",
                "rate": rate,
                "token": TOKENS["reporter"],
                "database_url": env["MEDIATION_DATABASE_URL"],
                "schema": env.get("MEDIATION_DATABASE_SCHEMA", ""),
            }
            load({**spec, "seconds": 2})  # warm up: the first seconds of a process are slower
            for _ in range(mode.runs):
                found = load({**spec, "seconds": mode.seconds})
                print(f"  visibility {kind}: {found}", file=sys.stderr)
                delays.append(found["p99_ms"])
                achieved.append(found["rps"])
        figures.append(
            Figure(
                number=5,
                name=f"{STORES[kind]}, {rate} commands/s: answer -> visible in read models, p99",
                unit="ms",
                runs=delays,
                goal=Goal.value_below(50, "ms"),
                note=f"commands answered per second: {', '.join(f'{r:.0f}' for r in achieved)}",
            )
        )
    return figures


def reads(mode: Mode, events: int = 100) -> list[Figure]:
    """Figure 7: the history of a 100-event case and the case as it was at an instant, vs
    /healthz, on PostgreSQL."""
    with store("postgres", mode.postgres_url) as env, service(env) as api:
        case_id, middle = long_case(api, events)
        paths = {
            f"`GET /cases/{{id}}/history` ({events} events)": f"/cases/{case_id}/history",
            "`GET /cases/{id}?at=` (half way)": f"/cases/{case_id}?at={middle}",
        }
        runs: dict[str, list[float]] = {name: [] for name in [*paths, "healthz"]}
        for _ in range(mode.runs):
            for name, path in [*paths.items(), ("healthz", "/healthz")]:
                found = load(
                    {
                        "base": api,
                        "scenario": "get",
                        "path": path,
                        "clients": 1,
                        "seconds": mode.seconds / 2,
                        "token": TOKENS["auditor"],
                    }
                )
                runs[name].append(found["p95_ms"])
    return [
        Figure(
            number=7,
            name=f"{name}, PostgreSQL: p95",
            unit="ms",
            runs=runs[name],
            goal=Goal.reported(),
            baseline_name="`GET /healthz`",
            baseline_runs=runs["healthz"],
        )
        for name in paths
    ]


def long_case(api: str, events: int) -> tuple[str, str]:
    """A case with `events` events (a report, then qualifications), and an instant half way."""

    def post(path: str, body: dict[str, Any], role: str) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 (a local server)
            api + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {TOKENS[role]}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return json.loads(response.read())  # type: ignore[no-any-return]

    case_id = post("/cases", REPORT, "reporter")["id"]
    middle = ""
    for n in range(events - 1):
        post(f"/cases/{case_id}/qualify", QUALIFY, "caseworker")
        if n == events // 2:
            middle = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return case_id, middle


def measure(mode: Mode) -> list[Figure]:
    return [
        *commands(mode, "postgres"),
        *commands(mode, "sqlite"),
        *visibility(mode),
        *reads(mode),
    ]
