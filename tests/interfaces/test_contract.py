"""The contract, /openapi.json: what it documents, and schemathesis finding nothing against it.

schemathesis runs as a reader would run it (docs/http.md, "Checking the contract"): `st run`
with the repository's schemathesis.toml (every check, every phase, a fixed seed, a budget),
against the app served by uvicorn on a SQLite file. It runs once without a token, for the
public operations, then once per role with that role's token, for the operations the role may
use (what the others answer a role, 403, is tests/interfaces/test_http_roles.py's). The roles
that cannot report a case are given one to work on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from infrastructure.settings import load_settings
from interfaces.http.app import create_app
from interfaces.http.auth import admitted_roles
from interfaces.http.problems import PROBLEM_TYPES
from tests.conftest import KEY_SETTINGS
from tests.conftest import PLATFORMS_FILE
from tests.conftest import TOKENS
from tests.conftest import TOKENS_SETTING
from tests.conftest import auth
from tests.conftest import report_body
from tests.interfaces.problems import assert_problem
from tests.interfaces.served import served
from tests.test_docs import route_modules

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "schemathesis.toml"
BUDGET_SECONDS = 90
"""The wall time every run of schemathesis together may take (CI runs on 2 slow cores)."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    folder = tmp_path_factory.mktemp("contract")
    settings = load_settings(
        database_url=f"sqlite:///{folder / 'mediation.db'}",
        tokens=TOKENS_SETTING,
        checkpoint_dir=folder / "checkpoints",
        platforms_file=PLATFORMS_FILE,
        mail_url=f"folder:{folder / 'outbox'}",
        **KEY_SETTINGS,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    with TestClient(app) as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200
    contract: dict[str, Any] = answer.json()
    return contract


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_is_summarised_and_described_in_words(document: dict[str, Any]) -> None:
    for name, operation in operations(document):
        summary, description = operation["summary"], operation["description"]
        # Words, not the function's name title-cased ("All Figures", "Queue Page").
        title_cased = summary == summary.title()
        assert not title_cased, (name, summary)
        assert len(description.split()) >= 8, (name, description)
        assert operation["operationId"].isidentifier(), name
        for status, answer in operation["responses"].items():
            assert answer["description"] != "Successful Response", (name, status)


def test_every_error_answer_is_a_documented_problem_with_examples(
    document: dict[str, Any],
) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    field_error = document["components"]["schemas"]["FieldError"]
    assert set(field_error["properties"]) == {"field", "in", "message"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for name, operation in operations(document):
        for status, answer in operation["responses"].items():
            if int(status) < 400:
                continue
            content = answer["content"]
            assert list(content) == ["application/problem+json"], (name, status)
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
            for example in content["application/problem+json"]["examples"].values():
                assert example["value"]["status"] == int(status), (name, status)
                assert example["value"]["type"].removeprefix("/problems/") in PROBLEM_TYPES


def test_each_operation_documents_the_statuses_it_answers(document: dict[str, Any]) -> None:
    def statuses(path: str, method: str = "get") -> set[int]:
        return {int(s) for s in document["paths"][path][method]["responses"]}

    assert statuses("/cases/{case_id}/qualify", "post") == {
        200, 401, 403, 404, 409, 412, 413, 422, 503
    }  # fmt: skip
    assert statuses("/cases", "post") == {201, 401, 403, 409, 413, 422, 503}
    assert statuses("/statistics") == {200, 401, 403, 422, 503}
    assert statuses("/track/{tracking_code}") == {200, 404, 503}
    assert statuses("/problems/{type}") == {200, 404}
    conflicts = document["paths"]["/cases/{case_id}/resolve"]["post"]["responses"]["409"]
    examples = conflicts["content"]["application/problem+json"]["examples"]
    assert {"command-not-allowed", "version-conflict", "integrity-failure"} <= set(examples)
    invalid = document["paths"]["/cases"]["post"]["responses"]["422"]
    (field_error,) = invalid["content"]["application/problem+json"]["examples"]["invalid-request"][
        "value"
    ]["errors"]
    assert field_error == {
        "field": "company.siren",
        "in": "body",
        "message": "732829321 is not a valid SIREN number (checksum)",
    }
    assert "Retry-After" in document["paths"]["/statistics"]["get"]["responses"]["503"]["headers"]


def test_the_value_rules_are_in_the_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    company = schemas["CompanyRequest"]["properties"]
    assert re.search(company["siren"]["pattern"], "732 829 320")
    assert not re.search(company["siren"]["pattern"], "73282932")
    report = schemas["ReportCaseRequest"]["properties"]
    for text in (report["description"], company["name"], report["platform"]):
        assert not re.search(text["pattern"], "   ")
        assert not re.search(text["pattern"], "a\x00b")
        assert re.search(text["pattern"], " Atelier Dupont\n")
    assert report["occurred_on"]["format"] == "date"
    assert schemas["Category"]["enum"]
    query = {
        p["name"]: p["schema"]
        for p in document["paths"]["/cases/{case_id}"]["get"]["parameters"]
        if p["in"] == "query"
    }
    assert query["at"]["format"] == "date-time"
    assert (query["version"]["type"], query["version"]["minimum"]) == ("integer", 1)
    year = document["paths"]["/statistics/annual/{year}"]["get"]["parameters"][0]["schema"]
    assert (year["minimum"], year["maximum"]) == (2000, 2100)


def test_a_report_links_to_what_can_be_done_with_its_case(document: dict[str, Any]) -> None:
    links = document["paths"]["/cases"]["post"]["responses"]["201"]["links"]
    ids = {operation["operationId"] for _, operation in operations(document)}
    assert {link["operationId"] for link in links.values()} <= ids
    assert links["qualify_case"]["parameters"] == {"case_id": "$response.body#/id"}
    assert links["track"]["parameters"] == {"tracking_code": "$response.body#/tracking_code"}


def role_operations(document: dict[str, Any]) -> dict[str | None, list[str]]:
    """The operation ids each role may use; None: the public ones (no token)."""
    documented = {operation["operationId"] for _, operation in operations(document)}
    ran: dict[str | None, list[str]] = {None: []}
    routes = [route for module in route_modules() for route in module.router.routes]
    for route in routes:
        if not isinstance(route, APIRoute) or route.name not in documented:
            continue
        role_sets = admitted_roles(route.dependant)
        if not role_sets:
            ran[None].append(route.name)
            continue
        for role in frozenset.intersection(*role_sets):
            ran.setdefault(role.value, []).append(route.name)
    for role in TOKENS:
        # /readyz is public, and answers each token its own way (detail, 403); the public
        # operations a role's answers link to (a report's tracking code) are its to follow.
        ids = ran.setdefault(role, [])
        ids += ["readyz", *sorted(linked_from(document, ids) & set(ran[None]))]
    return ran


def links(document: dict[str, Any], ids: list[str]) -> list[tuple[str, str]]:
    """The links (from, to) between the operations `ids`."""
    return [
        (operation["operationId"], link["operationId"])
        for _, operation in operations(document)
        if operation["operationId"] in ids
        for answer in operation["responses"].values()
        for link in answer.get("links", {}).values()
    ]


def linked_from(document: dict[str, Any], ids: list[str]) -> set[str]:
    return {target for _, target in links(document, ids)}


def st_run(base_url: str, config: Path, token: str | None, ids: list[str], stateful: bool) -> str:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
        "--include-operation-id-regex",
        "^(" + "|".join(sorted(ids)) + ")$",
        "--no-color",
    ]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    if not stateful:
        command += ["--phases", "examples,coverage,fuzzing"]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, cwd=config.parent
    )
    report = finished.stdout + finished.stderr
    assert finished.returncode == 0, report[-30000:]
    return report


@pytest.mark.slow
def test_schemathesis_finds_nothing_for_any_role(
    app: FastAPI, document: dict[str, Any], tmp_path: Path
) -> None:
    ran = role_operations(document)
    assert set(ran) == {None, *TOKENS}
    started = time.monotonic()
    with served(app) as base_url, httpx.Client(base_url=base_url) as client:
        # A case for the roles that cannot report one (auditor, dpo, the platform), sent to
        # the platform whose token the tests hold (Amazon's), for their operations on a case.
        reported = client.post("/cases", json=report_body(), headers=auth("caseworker"))
        assert reported.status_code == 201, reported.text
        case_id = reported.json()["id"]
        for command, body in [
            ("qualify", {"category": "delisting", "priority": "normal", "summary": "Delisted."}),
            ("send-to-platform", {"message": "Please state your reasons."}),
        ]:
            sent = client.post(f"/cases/{case_id}/{command}", json=body, headers=auth("caseworker"))
            assert sent.status_code == 200, sent.text
        # Each configuration in a folder of the test's own: schemathesis keeps its state
        # (.schemathesis/) beside the folder it runs in.
        (tmp_path / "plain").mkdir()
        (tmp_path / "given-case").mkdir()
        plain = tmp_path / "plain" / CONFIG.name
        plain.write_text(CONFIG.read_text())
        given_case = tmp_path / "given-case" / CONFIG.name
        given_case.write_text(
            CONFIG.read_text() + f'\n[parameters]\n"path.case_id" = "{case_id}"\n'
        )
        # The data protection officer last: the others' case is then still whole.
        for role, ids in sorted(ran.items(), key=lambda item: item[0] == "dpo"):
            token = None if role is None else TOKENS[role]
            cannot_report = role is not None and "report_case" not in ids
            config = given_case if cannot_report else plain
            run_started = time.monotonic()
            # Sequences along the links between the role's own operations; a reporter's only
            # one (a report, then its tracking code) is the caseworker's too, who reports.
            stateful = bool(linked_from(document, ids) & (set(ids) - set(ran[None])))
            report = st_run(base_url, config, token, ids, stateful)
            summary = report[report.rindex("Test cases:") :].splitlines()[1].strip()
            seconds = time.monotonic() - run_started
            print(f"schemathesis as {role or 'anonymous'}: {summary} in {seconds:.0f} s")
    elapsed = time.monotonic() - started
    print(f"schemathesis: {elapsed:.0f} s in all")
    assert elapsed < BUDGET_SECONDS * 2, "schemathesis outgrew its budget: lower max-examples"


def test_the_config_names_only_operations_of_the_contract(document: dict[str, Any]) -> None:
    config = tomllib.loads(CONFIG.read_text())
    ids = {operation["operationId"] for _, operation in operations(document)}
    for section in config["operations"]:
        named = section["include-operation-id-regex"].strip("^$()").split("|")
        assert set(named) <= ids, set(named) - ids
    assert json.dumps(config["seed"]).isdigit()


# What schemathesis found, pinned: each a value the contract refuses that the service took.


def test_a_platform_name_with_control_characters_is_422(http: TestClient) -> None:
    answer = http.post(
        "/cases", json=report_body(platform="amazon\x0f.fr"), headers=auth("reporter")
    )
    assert_problem(answer, 422)
    assert answer.json()["errors"][0]["field"] == "platform"


@pytest.mark.parametrize(
    "at", ["2026-03-02T10:00+00:00", "2026-03-02", "2026-03-02T10:00:00.123+0000"]
)
def test_an_instant_is_written_as_rfc_3339_says(http: TestClient, at: str) -> None:
    reported = http.post("/cases", json=report_body(), headers=auth("reporter")).json()
    answer = http.get(f"/cases/{reported['id']}", params={"at": at}, headers=auth("auditor"))
    assert_problem(answer, 422)
    assert answer.json()["errors"][0] == {
        "field": "at",
        "in": "query",
        "message": f"{at!r} is not an instant with its UTC offset (RFC 3339)",
    }


@pytest.mark.parametrize("if_match", ["three", '"3', 'W/"3"', "3, 4"])
def test_a_malformed_if_match_is_422_and_a_stale_one_412(http: TestClient, if_match: str) -> None:
    case_id = http.post("/cases", json=report_body(), headers=auth("reporter")).json()["id"]
    body = {"category": "delisting", "priority": "normal", "summary": "Delisted."}

    def qualify(tag: str) -> Any:
        headers = {**auth("caseworker"), "If-Match": tag}
        return http.post(f"/cases/{case_id}/qualify", json=body, headers=headers)

    malformed = qualify(if_match)
    assert_problem(malformed, 422)
    assert malformed.json()["errors"] == [
        {"field": "If-Match", "in": "header", "message": 'the ETag of the case, such as "3", or *'}
    ]
    assert_problem(qualify('"2"'), 412)
    assert qualify('"1"').status_code == 200


def test_the_report_example_is_a_report_the_service_takes(
    http: TestClient, document: dict[str, Any]
) -> None:
    schemas = document["components"]["schemas"]
    (example,) = schemas["ReportCaseRequest"]["examples"]
    answer = http.post("/cases", json=example, headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    case_id = answer.json()["id"]
    for name, path in [
        ("QualifyCaseRequest", "qualify"),
        ("SendToPlatformRequest", "send-to-platform"),
        ("PlatformResponseRequest", "platform-response"),
        ("EscalateCaseRequest", "escalate"),
        ("ResolveCaseRequest", "resolve"),
    ]:
        (example,) = schemas[name]["examples"]
        answer = http.post(f"/cases/{case_id}/{path}", json=example, headers=auth("caseworker"))
        assert answer.status_code == 200, (path, answer.text)
    (example,) = schemas["EraseRequest"]["examples"]
    answer = http.post(f"/cases/{case_id}/erase-personal-data", json=example, headers=auth("dpo"))
    assert answer.status_code == 200, answer.text
