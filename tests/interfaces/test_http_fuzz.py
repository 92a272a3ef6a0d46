"""Whatever a client sends, the answer is a clear problem or a success, never a 500, and bad
input records nothing (Hypothesis drives random bodies at every command)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from application.clock import SettableClock
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.conftest import START
from tests.conftest import auth
from tests.conftest import report_body
from tests.interfaces.problems import PROBLEM_JSON

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["2026-02-30", "1999-12-31", "2026-03-01", "delisting", "urgent", ""]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)

VALID_BODIES: dict[str, dict[str, Any]] = {
    "qualify": {
        "category": "delisting",
        "priority": "urgent",
        "summary": "s",
        "p2b_articles": ["Art. 4(1)"],
        "assignee": "alice",
    },
    "send-to-platform": {"message": "m", "response_due": "2026-03-20"},
    "platform-response": {"stance": "refused", "response": "r", "responded_on": "2026-03-02"},
    "escalate": {"reason": "complexity", "note": "n"},
    "resolve": {"outcome": "withdrawn", "summary": "s"},
    "erase-personal-data": {"reason": "request"},
}
COMMAND_FIELDS = {command: [*body, "unknown_field"] for command, body in VALID_BODIES.items()}
ROLE_OF = {"erase-personal-data": "dpo"}


def mutated(base: dict[str, Any], data: st.DataObject, fields: list[str]) -> dict[str, Any]:
    body = dict(base)
    for name in data.draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
        action = data.draw(st.sampled_from(["replace", "drop"]))
        if action == "drop":
            body.pop(name, None)
        else:
            body[name] = data.draw(json_values)
    return body


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    from infrastructure.settings import load_settings
    from tests.conftest import KEY_SETTINGS
    from tests.conftest import PLATFORMS_FILE
    from tests.conftest import TOKENS_SETTING

    path = tmp_path_factory.mktemp("fuzz")
    configured: Settings = load_settings(
        database_url=f"sqlite:///{path / 'fuzz.db'}",
        tokens=TOKENS_SETTING,
        platforms_file=PLATFORMS_FILE,
        checkpoint_dir=path / "checkpoints",
        **KEY_SETTINGS,
    )
    app = create_app(configured, clock=SettableClock(START))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/cases", json=report_body(), headers=auth("reporter"))
        assert answer.status_code == 201
        yield client, answer.json()["id"]


def position(client: TestClient) -> int:
    return int(client.get("/readyz", headers=auth("auditor")).json()["position"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_random_report_is_a_201_or_a_422_that_records_nothing(
    fuzz_client: tuple[TestClient, str], data: st.DataObject
) -> None:
    client, _ = fuzz_client
    body = report_body()
    if data.draw(st.booleans()):
        body["company"] = mutated(body["company"], data, list(body["company"]))
    body = mutated(body, data, [k for k in body if k != "company"])
    before = position(client)
    answer = client.post("/cases", json=body, headers=auth("reporter"))
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 422:
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert answer.json()["errors"]
        assert position(client) == before


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(sorted(COMMAND_FIELDS)), data=st.data())
def test_a_random_command_never_fails_with_a_500(
    fuzz_client: tuple[TestClient, str], command: str, data: st.DataObject
) -> None:
    client, case_id = fuzz_client
    start = VALID_BODIES[command] if data.draw(st.booleans()) else {}
    body = mutated(start, data, COMMAND_FIELDS[command])
    before = position(client)
    answer = client.post(
        f"/cases/{case_id}/{command}", json=body, headers=auth(ROLE_OF.get(command, "caseworker"))
    )
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert position(client) == before
