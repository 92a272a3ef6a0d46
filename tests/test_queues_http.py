"""GET /queues/{queue} over HTTP: roles, validation, the shape of an answer, read-your-writes
(min_position, 503 with Retry-After), keyset pages while cases move, and erasure leaving the
queue row with its name erased.

No test sleeps to wait for a projection: each waits for a position."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application.case_queues import Queue
from application.clock import SettableClock
from domain.values import Status
from tests.conftest import START
from tests.conftest import auth
from tests.conftest import platform_auth
from tests.conftest import report_body
from tests.interfaces.problems import assert_problem
from tests.queue_workflows import ITEM_FIELDS
from tests.queue_workflows import SOME_ID
from tests.queue_workflows import STATUS_QUEUES
from tests.queue_workflows import TODAY
from tests.queue_workflows import b64

# 4. HTTP.

QUALIFY = {"category": "ranking", "priority": "high", "summary": "Demoted.", "assignee": "alice"}


def report(http: TestClient, **changes: Any) -> dict[str, Any]:
    answer = http.post("/cases", json=report_body(**changes), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def command(http: TestClient, case_id: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(f"/cases/{case_id}/{name}", json=body, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def queue_page(http: TestClient, queue: str, **params: Any) -> dict[str, Any]:
    answer = http.get(f"/queues/{queue}", params=params, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert set(body) == {"queue", "items", "next_cursor", "position"}, body
    assert body["queue"] == queue
    assert isinstance(body["position"], int)
    assert body["next_cursor"] is None or isinstance(body["next_cursor"], str)
    for item in body["items"]:
        assert set(item) == ITEM_FIELDS, item
        UUID(item["id"])
        assert datetime.fromisoformat(item["reported_at"]).utcoffset() is not None
        if item["response_due"] is not None:
            date.fromisoformat(item["response_due"])
    if "min_position" in params:
        assert body["position"] >= params["min_position"]
    return body


def item_ids(page: dict[str, Any]) -> list[str]:
    return [i["id"] for i in page["items"]]


@pytest.mark.parametrize("role", ["reporter", "auditor", "analyst", "dpo"])
def test_only_caseworkers_read_queues(http: TestClient, role: str) -> None:
    for queue in Queue:
        assert_problem(http.get(f"/queues/{queue.value}", headers=auth(role)), 403)
    queue_page(http, "to-qualify")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-known-token"}, {"Authorization": "Basic abc"}],
)
def test_queues_need_a_known_token(http: TestClient, headers: dict[str, str]) -> None:
    assert_problem(http.get("/queues/to-qualify", headers=headers), 401)


@pytest.mark.parametrize("name", ["inbox", "TO-QUALIFY", "awaiting_platform", "to_qualify"])
def test_an_unknown_queue_is_a_422_problem(http: TestClient, name: str) -> None:
    body = assert_problem(http.get(f"/queues/{name}", headers=auth("caseworker")), 422)
    assert body["type"].endswith("/problems/invalid-request")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": -1},
        {"limit": "ten"},
        {"as_of": "2026-13-01"},
        {"as_of": "02/03/2026"},
        {"as_of": "soon"},
        {"as_of": ""},
        {"min_position": -1},
        {"min_position": "latest"},
        {"platform": "x" * 201},
    ],
)
def test_an_invalid_query_is_a_422_problem(http: TestClient, params: dict[str, Any]) -> None:
    answer = http.get("/queues/overdue", params=params, headers=auth("caseworker"))
    body = assert_problem(answer, 422)
    assert body["type"].endswith("/problems/invalid-request")


@pytest.mark.parametrize(
    ("queue", "cursor"),
    [
        pytest.param("to-qualify", "garbage", id="not-base64-json"),
        pytest.param("to-qualify", "!!!!", id="not-base64"),
        pytest.param("to-qualify", "x" * 501, id="too-long"),
        pytest.param("to-qualify", b64('["x", 5]'), id="id-a-number"),
        pytest.param("to-qualify", b64('{"a": 1, "b": 2}'), id="an-object"),
        pytest.param("to-qualify", b64(f'["not a time", "{SOME_ID}"]'), id="value-not-a-time"),
        pytest.param(
            "awaiting-platform", b64(f'["not a date", "{SOME_ID}"]'), id="value-not-a-date"
        ),
        pytest.param("resolved", b64(f'[[1, 2], "{SOME_ID}"]'), id="value-a-list"),
    ],
)
def test_a_garbage_cursor_is_a_422_problem(http: TestClient, queue: str, cursor: str) -> None:
    report(http)  # a queue with something in it
    answer = http.get(f"/queues/{queue}", params={"cursor": cursor}, headers=auth("caseworker"))
    body = assert_problem(answer, 422)
    assert body["type"].endswith("/problems/invalid-request")


def test_limits_at_the_edges_are_accepted(http: TestClient) -> None:
    last = 0
    for _ in range(3):
        last = report(http)["position"]
    page = queue_page(http, "to-qualify", limit=500, min_position=last)
    assert len(page["items"]) == 3
    assert page["next_cursor"] is None
    exact = queue_page(http, "to-qualify", limit=3)
    assert len(exact["items"]) == 3
    assert exact["next_cursor"] is None  # no empty last page to fetch
    one = queue_page(http, "to-qualify", limit=1)
    assert len(one["items"]) == 1
    assert one["next_cursor"] is not None
    default = queue_page(http, "to-qualify")
    assert len(default["items"]) == 3


def test_every_case_is_in_the_queue_of_its_status_with_its_fields(
    http: TestClient, clock: SettableClock
) -> None:
    """One case per status, then every queue read: the shape of each answer, and its items."""
    by_status: dict[str, str] = {}
    path = ["qualify", "send-to-platform", "platform-response", "escalate", "resolve"]
    bodies = {
        "qualify": QUALIFY,
        "send-to-platform": {"message": "Please explain."},
        "platform-response": {"stance": "refused", "response": "Policy."},
        "escalate": {"reason": "unsatisfactory_response"},
        "resolve": {"outcome": "not_resolved", "summary": "Nothing moved."},
    }
    statuses = [
        "reported",
        "qualified",
        "awaiting_platform",
        "platform_responded",
        "with_mediator",
        "resolved",
    ]
    last = 0
    for steps, status in enumerate(statuses):
        clock.advance(timedelta(minutes=10))
        answer = report(http, name=f"Société {status}", platform="Cdiscount")
        case_id, last = answer["id"], answer["position"]
        for name in path[:steps]:
            result = command(http, case_id, name, bodies[name])
            last = result["position"]
            assert result["status"] != "reported"
        by_status[status] = case_id

    seen: dict[str, list[str]] = {}
    for queue in Queue:
        page = queue_page(http, queue.value, min_position=last)
        for item in page["items"]:
            seen.setdefault(item["id"], []).append(queue.value)
            case = http.get(f"/cases/{item['id']}", headers=auth("caseworker")).json()
            assert item["status"] == case["status"]
            assert item["company_name"] == case["company"]["name"]
            assert item["platform"] == "cdiscount"
            assert item["assignee"] == case["assignee"]
            assert item["priority"] == case["priority"]
            assert item["response_due"] == case["response_due"]
            assert datetime.fromisoformat(item["reported_at"]) == datetime.fromisoformat(
                case["reported_at"]
            )
            assert item["category"] == ("delisting" if item["status"] == "reported" else "ranking")
    for status, case_id in by_status.items():
        queues = [STATUS_QUEUES[Status(status)].value]
        if status == "awaiting_platform":  # sent, not acknowledged by its platform yet
            queues.append("awaiting-acknowledgement")
        assert seen[case_id] == queues, status
    assert clock.now().date() == TODAY  # nothing is overdue yet
    due = date.fromisoformat(queue_page(http, "awaiting-platform")["items"][0]["response_due"])
    assert due == TODAY + timedelta(days=15)


def test_a_case_acknowledged_through_the_portal_leaves_awaiting_acknowledgement(
    http: TestClient, clock: SettableClock
) -> None:
    sent = []
    for name in ("Atelier Dupont", "Brasserie Martin"):
        case_id = report(http, name=name, platform="Cdiscount")["id"]
        command(http, case_id, "qualify", QUALIFY)
        last = command(http, case_id, "send-to-platform", {"message": "Please explain."})
        sent.append(case_id)
        clock.advance(timedelta(minutes=5))
    page = queue_page(http, "awaiting-acknowledgement", min_position=last["position"])
    assert sorted(item_ids(page)) == sorted(sent)

    answer = http.post(f"/platform/cases/{sent[0]}/acknowledge", headers=platform_auth("cdiscount"))
    assert answer.status_code == 200, answer.text
    position = answer.json()["position"]
    assert item_ids(queue_page(http, "awaiting-acknowledgement", min_position=position)) == [
        sent[1]
    ]
    awaiting = {i["id"]: i for i in queue_page(http, "awaiting-platform")["items"]}
    assert set(awaiting) == set(sent)
    today = clock.now().date().isoformat()
    assert awaiting[sent[0]]["acknowledged_on"] == today
    assert awaiting[sent[1]]["acknowledged_on"] is None
    for item in awaiting.values():
        assert (item["last_sent_on"], item["reminders"]) == (TODAY.isoformat(), 0)
    filtered = queue_page(http, "awaiting-acknowledgement", platform="amazon")
    assert filtered["items"] == []


def test_min_position_of_a_command_gives_a_page_that_reflects_it(
    http: TestClient, clock: SettableClock
) -> None:
    reported = report(http, platform="amazon.fr")
    case_id = reported["id"]
    page = queue_page(http, "to-qualify", min_position=reported["position"])
    assert item_ids(page) == [case_id]
    (item,) = page["items"]
    assert (item["status"], item["platform"], item["category"]) == (
        "reported",
        "amazon",
        "delisting",
    )
    assert (item["priority"], item["assignee"], item["response_due"]) == (None, None, None)
    assert item["company_name"] == "Atelier Dupont"
    assert datetime.fromisoformat(item["reported_at"]) == START

    qualified = command(http, case_id, "qualify", QUALIFY)
    assert item_ids(queue_page(http, "to-qualify", min_position=qualified["position"])) == []
    (item,) = queue_page(http, "to-send", min_position=qualified["position"])["items"]
    assert (item["status"], item["category"], item["priority"], item["assignee"]) == (
        "qualified",
        "ranking",
        "high",
        "alice",
    )

    clock.advance(timedelta(hours=1))
    sent = command(http, case_id, "send-to-platform", {"message": "Why?"})
    page = queue_page(http, "awaiting-platform", min_position=sent["position"])
    assert [(i["id"], i["response_due"]) for i in page["items"]] == [
        (case_id, sent["response_due"])
    ]
    assert item_ids(queue_page(http, "to-send", min_position=sent["position"])) == []


def test_overdue_over_http_follows_as_of_and_the_clock(
    http: TestClient, clock: SettableClock
) -> None:
    case_id = report(http)["id"]
    command(http, case_id, "qualify", QUALIFY)
    sent = command(http, case_id, "send-to-platform", {"message": "Why?"})
    due = date.fromisoformat(sent["response_due"])
    last = sent["position"]
    assert item_ids(queue_page(http, "overdue", min_position=last)) == []
    assert item_ids(queue_page(http, "overdue", as_of=due.isoformat())) == []
    after = (due + timedelta(days=1)).isoformat()
    assert item_ids(queue_page(http, "overdue", as_of=after)) == [case_id]
    assert item_ids(queue_page(http, "overdue", as_of=after, platform="ebay")) == []
    assert item_ids(queue_page(http, "overdue", as_of=after, priority="high")) == [case_id]
    assert item_ids(queue_page(http, "overdue", as_of=after, assignee="bob")) == []
    # The default as_of is the service's today.
    clock.set(datetime.combine(due, datetime.min.time(), UTC) + timedelta(hours=12))
    assert item_ids(queue_page(http, "overdue")) == []
    clock.advance(timedelta(days=1))
    assert item_ids(queue_page(http, "overdue")) == [case_id]
    assert item_ids(queue_page(http, "awaiting-platform")) == [case_id]


def test_resolved_newest_first_over_http(http: TestClient, clock: SettableClock) -> None:
    cases = [report(http, name=f"Société {i}")["id"] for i in range(3)]
    last = 0
    for case_id in cases[1], cases[0], cases[2]:
        clock.advance(timedelta(minutes=5))
        last = command(http, case_id, "resolve", {"outcome": "withdrawn", "summary": "Withdrawn."})[
            "position"
        ]
    page = queue_page(http, "resolved", min_position=last)
    assert item_ids(page) == [cases[2], cases[0], cases[1]]


def test_a_min_position_not_reached_in_time_answers_503_with_retry_after(
    impatient_http: TestClient,
) -> None:
    position = report(impatient_http)["position"]
    answer = impatient_http.get(
        "/queues/to-qualify", params={"min_position": position}, headers=auth("caseworker")
    )
    body = assert_problem(answer, 503)
    assert body["type"].endswith("/problems/read-model-behind")
    assert int(answer.headers["Retry-After"]) >= 1
    # Once the read models have caught up, the same read answers.
    impatient_http.app.state.runner.catch_up()  # type: ignore[attr-defined]
    assert item_ids(queue_page(impatient_http, "to-qualify", min_position=position))


def test_a_min_position_beyond_the_log_is_a_422_naming_the_head(
    impatient_http: TestClient,
) -> None:
    """No event has that position yet: nothing to wait for (a wait would end in a 503)."""
    position = report(impatient_http)["position"]
    answer = impatient_http.get(
        "/queues/to-qualify", params={"min_position": position + 1}, headers=auth("caseworker")
    )
    body = assert_problem(answer, 422)
    assert body["type"].endswith("/problems/invalid-request")
    assert body["errors"] == [{"field": "min_position", "in": "query", "message": body["detail"]}]
    assert f"head ({position})" in body["detail"]


def test_pages_lose_and_repeat_nothing_while_cases_move(
    http: TestClient, clock: SettableClock
) -> None:
    reported = []
    for i in range(8):
        if i % 3:
            clock.advance(timedelta(minutes=1))  # some cases share their reported_at
        reported.append(report(http, name=f"Société {i}"))
    last = reported[-1]["position"]
    order = item_ids(queue_page(http, "to-qualify", limit=500, min_position=last))
    assert sorted(order) == sorted(r["id"] for r in reported)

    first = queue_page(http, "to-qualify", limit=3, min_position=last)
    page_one = item_ids(first)
    assert page_one == order[:3]
    assert first["next_cursor"] is not None

    # Cases move while the caseworker reads: one already seen, one not yet seen leave the
    # queue, and a new report comes in.
    on_page_one, not_seen = page_one[1], order[5]
    for case_id in on_page_one, not_seen:
        last = command(http, case_id, "qualify", QUALIFY)["position"]
    clock.advance(timedelta(minutes=5))
    newcomer = report(http, name="Nouvelle Société")
    last = newcomer["position"]

    seen = list(page_one)
    cursor = first["next_cursor"]
    for _ in range(20):
        if cursor is None:
            break
        page = queue_page(http, "to-qualify", limit=3, cursor=cursor, min_position=last)
        seen += item_ids(page)
        cursor = page["next_cursor"]
    assert cursor is None
    assert len(seen) == len(set(seen)), seen
    still_there = item_ids(queue_page(http, "to-qualify", limit=500, min_position=last))
    assert on_page_one not in still_there
    assert not_seen not in still_there
    assert newcomer["id"] in still_there
    for case_id in still_there:
        assert seen.count(case_id) == 1, case_id
    assert not_seen not in seen  # it had left before its page was read
    assert set(item_ids(queue_page(http, "to-send", min_position=last))) == {
        on_page_one,
        not_seen,
    }


def test_an_erased_case_keeps_its_queue_row_with_its_name_erased(http: TestClient) -> None:
    case_id = report(http, name="Brasserie Martin", platform="eBay")["id"]
    qualified = command(http, case_id, "qualify", QUALIFY)
    before = queue_page(http, "to-send", min_position=qualified["position"])
    erase = http.post(
        f"/cases/{case_id}/erase-personal-data",
        json={"reason": "GDPR art. 17 request"},
        headers=auth("dpo"),
    )
    assert erase.status_code == 200, erase.text
    erased = erase.json()
    assert erased["position"] > qualified["position"]
    assert before["items"][0]["company_name"] == "Brasserie Martin"
    after = queue_page(http, "to-send", min_position=erased["position"])
    assert [{**i, "company_name": "[effacé]"} for i in before["items"]] == after["items"]
    assert after["position"] >= erased["position"]
    case = http.get(f"/cases/{case_id}", headers=auth("caseworker")).json()
    assert case["company"]["contact_name"] == "[effacé]"
