"""Who may call what: API.md's role table, endpoint by endpoint, caller by caller.

401 without a known token (with a WWW-Authenticate challenge), 403 for a known token whose
role is not in the table's row, success for the roles it names; a refused request records
nothing. The public endpoints need no token at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ACTORS
from tests.conftest import TOKENS
from tests.conftest import auth
from tests.conftest import report_body
from tests.interfaces.problems import assert_problem

ROLES = ("reporter", "caseworker", "auditor", "analyst", "dpo", "platform")
NO_TOKEN = "no token"
UNKNOWN_TOKEN = "unknown token"
CALLERS = (*ROLES, NO_TOKEN, UNKNOWN_TOKEN)


def headers_of(caller: str) -> dict[str, str]:
    if caller == NO_TOKEN:
        return {}
    if caller == UNKNOWN_TOKEN:
        return {"Authorization": "Bearer not-a-token-the-service-knows"}
    return auth(caller)


def log_position(http: TestClient) -> int:
    ready = http.get("/readyz", headers=auth("auditor"))
    assert ready.status_code == 200, ready.text
    position = ready.json()["position"]
    assert isinstance(position, int)
    return position


def history_length(http: TestClient, case_id: str) -> int:
    answer = http.get(f"/cases/{case_id}/history", headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    return len(answer.json()["events"])


def caseworker_does(http: TestClient, case_id: str, name: str, body: dict[str, Any]) -> None:
    answer = http.post(f"/cases/{case_id}/{name}", json=body, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text


QUALIFY = {"category": "delisting", "priority": "normal", "summary": "Delisted."}
SEND = {"message": "Please explain the delisting."}
RESPOND = {"stance": "refused", "response": "We keep the delisting."}
ESCALATE = {"reason": "unsatisfactory_response", "note": "Refusal without reasons."}
RESOLVE = {"outcome": "withdrawn", "summary": "The business withdrew its report."}

# The commands that bring a reported case to the status where each command is allowed.
PREPARATION: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "qualify": [],
    "send-to-platform": [("qualify", QUALIFY)],
    "platform-response": [("qualify", QUALIFY), ("send-to-platform", SEND)],
    "escalate": [("qualify", QUALIFY), ("send-to-platform", SEND)],
    "resolve": [],
}
BODIES = {
    "qualify": QUALIFY,
    "send-to-platform": SEND,
    "platform-response": RESPOND,
    "escalate": ESCALATE,
    "resolve": RESOLVE,
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    command: str | None  # the workflow command, or None
    allowed: frozenset[str]

    def path(self, case_id: str) -> str:
        if self.name == "POST /cases":
            return "/cases"
        if self.command is not None:
            return f"/cases/{case_id}/{self.command}"
        if self.name.endswith("/history"):
            return f"/cases/{case_id}/history"
        return f"/cases/{case_id}"

    def body(self) -> dict[str, Any] | None:
        if self.name == "POST /cases":
            return report_body()
        if self.command is not None:
            return BODIES[self.command]
        return None

    def records(self) -> bool:
        return self.method == "POST"


CASEWORKER_ONLY = frozenset({"caseworker"})
ENDPOINTS = [
    Endpoint("POST /cases", "POST", None, frozenset({"reporter", "caseworker"})),
    *(
        Endpoint(f"POST /cases/{{id}}/{c}", "POST", c, CASEWORKER_ONLY)
        for c in ("qualify", "send-to-platform", "platform-response", "escalate", "resolve")
    ),
    Endpoint("GET /cases/{id}", "GET", None, frozenset({"caseworker", "auditor"})),
    Endpoint("GET /cases/{id}/history", "GET", None, frozenset({"caseworker", "auditor"})),
]


def expected_status(endpoint: Endpoint, caller: str) -> int:
    if caller in (NO_TOKEN, UNKNOWN_TOKEN):
        return 401
    if caller not in endpoint.allowed:
        return 403
    if endpoint.name == "POST /cases":
        return 201
    return 200


def prepared_case(http: TestClient, endpoint: Endpoint) -> str:
    """A case in the status where the endpoint succeeds for a role it admits."""
    reported = http.post("/cases", json=report_body(), headers=auth("reporter"))
    assert reported.status_code == 201, reported.text
    case_id: str = reported.json()["id"]
    for name, body in PREPARATION.get(endpoint.command or "", []):
        caseworker_does(http, case_id, name, body)
    return case_id


TABLE = [
    pytest.param(endpoint, caller, id=f"{endpoint.name}-{caller}".replace(" ", "_"))
    for endpoint in ENDPOINTS
    for caller in CALLERS
]


@pytest.mark.parametrize(("endpoint", "caller"), TABLE)
def test_the_role_table_is_enforced(http: TestClient, endpoint: Endpoint, caller: str) -> None:
    case_id = prepared_case(http, endpoint)
    events_before = history_length(http, case_id)
    position_before = log_position(http)

    answer = http.request(
        endpoint.method, endpoint.path(case_id), json=endpoint.body(), headers=headers_of(caller)
    )

    expected = expected_status(endpoint, caller)
    if expected == 401:
        assert_problem(answer, 401)
        assert answer.headers["WWW-Authenticate"].lower().startswith("bearer")
    elif expected == 403:
        assert_problem(answer, 403)
        assert "WWW-Authenticate" not in answer.headers
    else:
        assert answer.status_code == expected, answer.text

    if expected in (401, 403):
        # Refused: nothing recorded, anywhere in the log.
        assert log_position(http) == position_before
        assert history_length(http, case_id) == events_before
    elif endpoint.name == "POST /cases":
        new_case = answer.json()["id"]
        history = http.get(f"/cases/{new_case}/history", headers=auth("caseworker")).json()
        assert [e["actor"] for e in history["events"]] == [ACTORS[caller]]
    elif endpoint.records():
        # Allowed: one event more, caused by the token's actor.
        history = http.get(f"/cases/{case_id}/history", headers=auth("caseworker")).json()
        assert len(history["events"]) == events_before + 1
        assert history["events"][-1]["actor"] == ACTORS[caller]
    else:
        assert answer.json()["id" if endpoint.name == "GET /cases/{id}" else "case_id"] == case_id
        assert log_position(http) == position_before


def test_the_table_covers_every_role_and_every_endpoint() -> None:
    assert set(ROLES) == set(TOKENS)
    assert len(TABLE) == len(ENDPOINTS) * (len(ROLES) + 2)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(f"Basic {TOKENS['caseworker']}", id="basic-scheme"),
        pytest.param(TOKENS["caseworker"], id="token-without-scheme"),
        pytest.param("Bearer ", id="empty-bearer"),
        pytest.param(f"Bearer {TOKENS['caseworker']}x", id="token-with-extra-character"),
        pytest.param(f"Bearer {TOKENS['caseworker'][:-1]}", id="token-prefix"),
        pytest.param(f"Bearer {TOKENS['caseworker'].upper()}", id="token-upper-cased"),
    ],
)
def test_anything_but_a_known_bearer_token_is_401(http: TestClient, authorization: str) -> None:
    case_id = prepared_case(http, ENDPOINTS[1])
    position = log_position(http)
    reads = http.get(f"/cases/{case_id}", headers={"Authorization": authorization})
    assert_problem(reads, 401)
    assert "WWW-Authenticate" in reads.headers
    writes = http.post(
        f"/cases/{case_id}/qualify", json=QUALIFY, headers={"Authorization": authorization}
    )
    assert_problem(writes, 401)
    assert "WWW-Authenticate" in writes.headers
    reports = http.post("/cases", json=report_body(), headers={"Authorization": authorization})
    assert_problem(reports, 401)
    assert log_position(http) == position
    assert history_length(http, case_id) == 1


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        pytest.param(NO_TOKEN, 401, id="no-token"),
        pytest.param(UNKNOWN_TOKEN, 401, id="unknown-token"),
        pytest.param("auditor", 403, id="auditor"),
        pytest.param("reporter", 403, id="reporter"),
    ],
)
@pytest.mark.parametrize(
    "content",
    [
        pytest.param('{"category": "delisting"', id="malformed-json"),
        pytest.param('{"category": "banana"}', id="invalid-fields"),
        pytest.param("", id="empty-body"),
    ],
)
def test_a_refused_caller_is_refused_before_its_body_is_judged(
    http: TestClient, caller: str, expected: int, content: str
) -> None:
    """401/403 whatever the body: an unauthorised caller learns nothing about validation."""
    case_id = prepared_case(http, ENDPOINTS[1])
    answer = http.post(
        f"/cases/{case_id}/qualify",
        content=content,
        headers={**headers_of(caller), "Content-Type": "application/json"},
    )
    assert_problem(answer, expected)
    assert history_length(http, case_id) == 1


def test_an_unknown_case_is_not_revealed_to_a_caller_without_a_token(http: TestClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(http.get(f"/cases/{missing}"), 401)
    assert_problem(http.post(f"/cases/{missing}/qualify", json=QUALIFY), 401)
    assert_problem(http.get(f"/cases/{missing}", headers=auth("analyst")), 403)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs", "/metrics"])
def test_operations_and_documentation_need_no_token(http: TestClient, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 200, answer.text
    assert "WWW-Authenticate" not in answer.headers


def test_tracking_needs_no_token(http: TestClient) -> None:
    code = http.post("/cases", json=report_body(), headers=auth("reporter")).json()["tracking_code"]
    answer = http.get(f"/track/{code}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "reported"
    unknown = http.get("/track/" + "a" * 26)
    assert_problem(unknown, 404)


def test_the_metrics_hold_no_personal_data(http: TestClient) -> None:
    receipt = http.post("/cases", json=report_body(), headers=auth("reporter")).json()
    http.get(f"/cases/{receipt['id']}", headers=auth("caseworker"))
    http.get(f"/track/{receipt['tracking_code']}")
    text = http.get("/metrics").text
    for secret in (
        receipt["id"],
        receipt["tracking_code"],
        receipt["tracking_code"].replace("-", ""),
        "Dupont",
        "jeanne@",
        "732829320",
        *TOKENS.values(),
    ):
        assert secret not in text
