"""Where the CPU of a command goes: milliseconds of CPU per request, by process, for the
service and for the bare one-INSERT endpoint under the same load (figures 1 and 2).

Not a figure: the diagnostic that explains them. On this 2-core machine the server, the
projection worker, PostgreSQL and the load generator share the cores, so requests per second
follow from the CPU each request costs across all of them. Each process's user and system time
(`/proc/<pid>/stat`) is read before and after a closed-loop run of 8 clients and divided by the
requests answered.

    python -m bench.cpu_split [--store postgres|sqlite] [--seconds 6]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench.harness import DEFAULT_POSTGRES
from bench.http_figures import ROLES
from bench.http_figures import load
from bench.servers import TOKENS
from bench.servers import bare
from bench.servers import service
from bench.servers import store

TICKS = os.sysconf("SC_CLK_TCK")
# What a process is, from its command line.
KINDS = {
    "app_from_environment": "API",
    "bench.bare": "bare endpoint",
    "mediation worker": "projection worker",
}


def cpu_seconds() -> dict[str, tuple[float, float]]:
    """(user, system) CPU seconds so far of each kind of process."""
    found: dict[str, tuple[float, float]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        kind = next((name for key, name in KINDS.items() if key in command), None)
        if kind is None and command.startswith("postgres"):
            kind = "PostgreSQL"
        if kind is not None:
            user, system = found.get(kind, (0.0, 0.0))
            found[kind] = (user + int(fields[11]) / TICKS, system + int(fields[12]) / TICKS)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_split", description=__doc__)
    parser.add_argument("--store", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--seconds", type=float, default=6.0)
    arguments = parser.parse_args()
    url = os.environ.get("MEDIATION_BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    with store(arguments.store, url) as env, service(env) as api, bare(env) as baseline:
        for command in ("report", "qualify"):
            for who, base in (("bare endpoint", baseline), ("service", api)):
                before = cpu_seconds()
                found = load(
                    {
                        "base": base,
                        "scenario": command,
                        "clients": 8,
                        "seconds": arguments.seconds,
                        "token": TOKENS[ROLES[command]],
                        "reporter_token": TOKENS["reporter"],
                    }
                )
                after = cpu_seconds()
                per_request = {
                    kind: tuple(
                        1000 * (now - then) / found["requests"]
                        for now, then in zip(after[kind], before.get(kind, (0.0, 0.0)), strict=True)
                    )
                    for kind in after
                }
                spent = {k: v for k, v in per_request.items() if sum(v) >= 0.01}
                total = sum(sum(v) for v in spent.values())
                print(
                    f"{command:8} {who:14} {found['rps']:6.0f} req/s  CPU per request "
                    f"{total:.2f} ms: "
                    + ", ".join(
                        f"{kind} {user + system:.2f} (system {system:.2f})"
                        for kind, (user, system) in sorted(spent.items())
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
