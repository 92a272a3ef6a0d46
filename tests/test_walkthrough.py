"""README.md's walkthrough, `examples/walkthrough.sh`, run against `mediation serve` as a reader
runs it: the README's tokens, curl and python3 only, every value taken from the answers. The
README shows an excerpt of the script: each of its lines must still be in the script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from application.keys import Keys
from infrastructure.keyfiles import as_environment
from tests.test_end_to_end import ROOT
from tests.test_end_to_end import Server
from tests.test_end_to_end import server_env
from tests.test_end_to_end import servers
from tests.test_end_to_end import start

__all__ = ["servers"]  # the fixture, shared with test_end_to_end

SCRIPT = ROOT / "examples" / "walkthrough.sh"
README = ROOT / "README.md"
ROLES = ("reporter", "caseworker", "auditor", "analyst", "dpo")
STEPS = 11


def walkthrough_section() -> str:
    text = README.read_text()
    start_at = text.index("## A case from report to resolution")
    return text[start_at : text.index("\n## ", start_at + 1)]


def readme_tokens() -> str:
    (tokens,) = re.findall(r'export MEDIATION_TOKENS="([^"]+)"', walkthrough_section())
    return tokens


def test_the_readme_shows_the_script_and_the_tokens_it_uses() -> None:
    section = walkthrough_section()
    assert "examples/walkthrough.sh" in section
    # The README's tokens: one per role the script uses, the script's defaults.
    tokens = dict(
        (role, token) for token, role, _ in (t.split(":") for t in readme_tokens().split(","))
    )
    assert set(tokens) == set(ROLES)
    script = SCRIPT.read_text()
    for role, token in tokens.items():
        assert f"${{{role.upper()}_TOKEN:-{token}}}" in script, role
    # The excerpt: every line of it is a line of the script.
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    (excerpt,) = [b for b in blocks if "call 201 POST /cases" in b]
    lines = {line.strip() for line in script.splitlines()}
    shown = [line.strip() for line in excerpt.splitlines() if line.strip() not in ("", "…")]
    assert len(shown) >= 5
    assert [line for line in shown if line not in lines] == []


def tools(folder: Path) -> Path:
    """A folder put first on the script's PATH: a quick python3 (this one: the script needs only
    the standard library), the mediation command, and a jq that is not there."""
    folder.mkdir()
    (folder / "python3").symlink_to(sys.executable)
    (folder / "mediation").write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'from interfaces.cli import main; main()' \"$@\"\n"
    )
    (folder / "jq").write_text("#!/bin/sh\necho 'jq: not installed here' >&2\nexit 127\n")
    for tool in ("mediation", "jq"):
        (folder / tool).chmod(0o755)
    return folder


def walk(env: dict[str, str], **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_the_walkthrough_carries_a_case_through_every_role_on_a_served_instance(
    servers: list[Server], tmp_path: Path
) -> None:
    keys = Keys.generate()
    store = {
        "MEDIATION_DATABASE_URL": f"sqlite:///{tmp_path / 'walkthrough.db'}",
        **as_environment(keys),
    }
    server = start(
        servers, tmp_path, server_env(MEDIATION_TOKENS=readme_tokens(), **store), "walkthrough"
    )
    bin_folder = tools(tmp_path / "bin")
    out = tmp_path / "out"
    out.mkdir()
    env = server_env(
        API=server.base_url,
        OUT=str(out),
        PATH=f"{bin_folder}{os.pathsep}{os.environ['PATH']}",
        MEDIATION=str(bin_folder / "mediation"),
        # The key the reader's `mediation keys public` prints, known here (one start saved).
        MEDIATION_TRUSTED_PUBLIC_KEY=keys.verifying_key_hex,
    )

    done = walk(env)

    assert done.returncode == 0, done.stdout + done.stderr
    steps = re.findall(r"^== (\d+)\. ", done.stdout, flags=re.MULTILINE)
    assert steps == [str(n) for n in range(1, STEPS + 1)], done.stdout
    (case_id,) = re.findall(r"^== Done: case (\S+), from report to erasure$", done.stdout, re.M)
    assert f"VERIFIED: case {case_id}, 6 events" in done.stdout
    assert "at that instant: version 2, qualified" in done.stdout
    assert "contact e-mail now: [effacé]" in done.stdout
    today = datetime.now(UTC).date().isoformat()
    for name in ("statistiques", "statistiques-plateformes-categories"):
        export = out / f"{name}-{today}_{today}.csv"
        assert f"{export}:" in done.stdout
        text = export.read_text(encoding="utf-8")
        assert text.startswith("\ufeffplateforme;clé_plateforme;"), text[:80]
        assert "\nAmazon;amazon;1;" in text, text
    # What the service recorded, read apart from the script.
    history = httpx.get(
        f"{server.base_url}/cases/{case_id}/history",
        headers={"Authorization": "Bearer auditor-token-0123456789"},
        timeout=10,
    )
    assert history.status_code == 200, history.text
    assert [e["type"] for e in history.json()["events"]] == [
        "Reported", "Qualified", "SentToPlatform", "PlatformResponded", "EscalatedToMediator",
        "Resolved", "PersonalDataErased",
    ]  # fmt: skip

    # An answer it does not expect stops it at once, saying which.
    refused = walk(env, REPORTER_TOKEN="not-a-token-0123456789")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.startswith("walkthrough: POST /cases answered 401, not 201"), (
        refused.stderr
    )
    server.stop()
    nobody = walk(env)
    assert nobody.returncode == 1, nobody.stdout + nobody.stderr
    assert nobody.stderr.startswith(f"walkthrough: no service at {server.base_url}"), nobody.stderr
