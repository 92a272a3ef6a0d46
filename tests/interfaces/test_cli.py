"""The `mediation` command line as a person reads it: help screens, the read models' names, and
what `audit verify` counts."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from application.clock import SettableClock
from application.mediation import ReportRequest
from application.tracking_codes import tracking_index_id
from domain.platforms import Platform
from domain.values import Category
from domain.values import Channel
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Stance
from domain.values import TrackingCode
from infrastructure.settings import Settings
from interfaces.cli import cli
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from tests.conftest import settings_for
from tests.domain.factories import company
from tests.test_tampering import RawStore
from tests.test_tampering import cli_env

MEDIATION = [sys.executable, "-c", "from interfaces.cli import main; main()"]
WIDE = {"COLUMNS": "200"}  # no wrapping at the terminal's width: each row on one line
BOOL_TYPE = re.compile(r"<bool>|\bBOOL(EAN)?\b")


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree, the root and the groups included, by its words."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from commands(sub, (*path, name))


ROOT_COMMAND = typer.main.get_command(cli)
EVERY_COMMAND = [path for path, _ in commands(ROOT_COMMAND)]


def run_cli(*arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MEDIATION, *arguments],
        env={**cli_env(None), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_mediation_help_shows_help_as_a_flag_alone() -> None:
    shown = run_cli("--help", **WIDE)
    assert shown.returncode == 0, shown.stderr
    (line,) = [row for row in shown.stdout.splitlines() if "--help" in row]
    assert not BOOL_TYPE.search(line), line
    assert "Show this message and exit." in line


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=lambda path: " ".join(path) or "mediation")
def test_no_help_screen_shows_a_type_beside_a_flag(path: tuple[str, ...]) -> None:
    shown = CliRunner().invoke(cli, [*path, "--help"], env=WIDE)
    assert shown.exit_code == 0, shown.output
    rows = [row for row in shown.output.splitlines() if "--help" in row]
    assert len(rows) == 1, shown.output
    assert not BOOL_TYPE.search(shown.output), shown.output  # --help, --dry-run, --if-due alike


@pytest.mark.parametrize("path", EVERY_COMMAND, ids=lambda path: " ".join(path) or "mediation")
def test_each_command_has_a_one_line_summary(path: tuple[str, ...]) -> None:
    """A group lists each command by the first paragraph of its help, keeping its line breaks:
    a summary over two lines reads as one cut mid-sentence."""
    command = dict(commands(ROOT_COMMAND))[path]
    summary = inspect.cleandoc(getattr(command, "help", "") or "").split("\n\n")[0]
    assert summary, path
    assert "\n" not in summary, summary
    if path:
        listed = CliRunner().invoke(cli, [*path[:-1], "--help"], env=WIDE)
        (row,) = [
            r for r in listed.output.splitlines() if r.lstrip("│ ").startswith(f"{path[-1]} ")
        ]
        assert summary in row, (row, summary)


@pytest.fixture
def sqlite_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return settings_for("sqlite", tmp_path, request)


def test_rebuild_names_the_read_models_in_its_help_and_refuses_another(
    sqlite_settings: Settings, clock: SettableClock
) -> None:
    application = open_application(sqlite_settings, clock)
    try:
        names = {p.name for p in projection_runner(application).rebuildable}
    finally:
        application.close()
    assert len(names) >= 2

    shown = CliRunner().invoke(cli, ["projections", "rebuild", "--help"], env=WIDE)
    (row,) = [r for r in shown.output.splitlines() if "--projection" in r]
    assert set(re.findall(r"\b[a-z]+_[a-z_]+\b", row)) == names, row

    path = sqlite_settings.sqlite_path
    assert path is not None
    before = path.stat().st_mtime_ns
    refused = run_cli(
        "projections", "rebuild", "--projection", "queues", **cli_env(sqlite_settings)
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("mediation: "), line
    assert "'queues'" in line, line
    assert all(name in line for name in names), line
    assert path.stat().st_mtime_ns == before  # refused before the store was opened


def one_case_to_resolution(
    settings: Settings, clock: SettableClock
) -> tuple[str, TrackingCode, int]:
    """A case carried from report to resolution; its id, tracking code and number of events."""
    application = open_application(settings, clock)
    try:
        reported = application.report_case(
            ReportRequest(
                company=company(),
                platform=Platform.parse("amazon.fr"),
                description=PersonalText("All our offers were delisted overnight"),
                occurred_on=clock.now().date() - timedelta(days=3),
                channel=Channel.WEB,
            ),
            actor="reporter-1",
        )
        case_id = reported.case_id
        application.qualify_case(
            case_id,
            category=Category.DELISTING,
            priority=Priority.HIGH,
            summary=PersonalText("Delisted"),
            actor="alice",
        )
        application.send_to_platform(case_id, message=PersonalText("Why?"), actor="alice")
        application.record_platform_response(
            case_id, stance=Stance.REFUSED, response=PersonalText("Policy"), actor="alice"
        )
        application.escalate_case(
            case_id, reason=EscalationReason.UNSATISFACTORY_RESPONSE, actor="alice"
        )
        application.resolve_case(
            case_id, outcome=Outcome.RESOLVED, summary=PersonalText("Relisted"), actor="alice"
        )
        events = len(application.case_history(case_id))
        assert reported.tracking_code is not None
        return str(case_id), reported.tracking_code, events
    finally:
        application.close()


def test_audit_verify_counts_cases_and_their_events_and_the_tracking_codes_apart(
    sqlite_settings: Settings, clock: SettableClock
) -> None:
    case_id, code, events = one_case_to_resolution(sqlite_settings, clock)
    assert events == 6
    raw = RawStore(sqlite_settings)
    assert len(raw.snapshots(case_id)) == 1

    verified = run_cli("audit", "verify", **cli_env(sqlite_settings))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "log: 6 events in 1 case, 1 snapshot; 1 tracking code in the index" in verified.stdout

    # The index's entry is still verified: altered, it is named as what it is, not as a case.
    entry = str(tracking_index_id(code))
    ((version, _, state),) = raw.events(entry)
    raw.set_state(entry, version, state[:-1] + bytes([state[-1] ^ 0x01]))
    altered = run_cli("audit", "verify", **cli_env(sqlite_settings))
    assert altered.returncode == 1, altered.stdout + altered.stderr
    problems = [line for line in altered.stdout.splitlines() if line.startswith("PROBLEM")]
    assert problems, altered.stdout
    assert all(line.startswith(f"PROBLEM tracking-code index entry {entry}:") for line in problems)
    assert "log: 6 events in 1 case" in altered.stdout
