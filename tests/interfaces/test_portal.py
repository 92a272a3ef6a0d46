"""The platform's portal: a platform reads, acknowledges and answers the cases sent to it, and
learns nothing of any other case (404, exactly as for a case that does not exist)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import SettableClock
from tests.conftest import PLATFORM_TOKENS
from tests.conftest import auth
from tests.conftest import platform_auth
from tests.conftest import report_body
from tests.interfaces.problems import assert_problem

QUALIFY = {"category": "delisting", "priority": "normal", "summary": "Internal: delisted."}
SEND = {"message": "Please explain the delisting of these offers."}
RESPOND = {"stance": "refused", "response": "The offers broke our rules."}
REPORTED_AS = {"amazon": "Amazon Marketplace", "cdiscount": "Cdiscount", "ebay": "eBay"}


def a_case(http: TestClient, platform: str, *, sent: bool = True) -> str:
    """A case reported against `platform`, sent to it unless `sent` is false."""
    answer = http.post(
        "/cases", json=report_body(platform=REPORTED_AS[platform]), headers=auth("reporter")
    )
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["id"]
    steps = [("qualify", QUALIFY), ("send-to-platform", SEND)] if sent else []
    for name, body in steps:
        done = http.post(f"/cases/{case_id}/{name}", json=body, headers=auth("caseworker"))
        assert done.status_code == 200, done.text
    return case_id


def events(http: TestClient, case_id: str) -> list[dict[str, Any]]:
    answer = http.get(f"/cases/{case_id}/history", headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["events"]
    return found


def log_position(http: TestClient) -> int:
    return int(http.get("/readyz", headers=auth("auditor")).json()["position"])


def test_a_platform_reads_a_case_sent_to_it_without_the_business_contact(
    http: TestClient,
) -> None:
    case_id = a_case(http, "amazon")
    answer = http.get(f"/platform/cases/{case_id}", headers=platform_auth("amazon"))
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["id"] == case_id
    assert view["platform"] == "amazon"
    assert view["status"] == "awaiting_platform"
    assert view["company"]["name"] == report_body()["company"]["name"]
    assert view["company"]["siren"] == report_body()["company"]["siren"]
    assert view["message"] == SEND["message"]
    assert view["description"] == report_body()["description"]
    assert view["response_due"] is not None
    assert view["allowed_commands"] == ["acknowledge", "response"]
    assert answer.headers["ETag"] == f'"{view["version"]}"'
    contact = report_body()["company"]
    for private in (contact["contact_name"], contact["contact_email"], QUALIFY["summary"]):
        assert private not in answer.text
    assert "assignee" not in view


def test_acknowledging_records_once_as_the_platform(http: TestClient) -> None:
    case_id = a_case(http, "amazon")
    first = http.post(f"/platform/cases/{case_id}/acknowledge", headers=platform_auth("amazon"))
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    recorded = events(http, case_id)
    assert recorded[-1]["type"] == "PlatformAcknowledged"
    assert recorded[-1]["actor"] == "platform:amazon"

    again = http.post(f"/platform/cases/{case_id}/acknowledge", headers=platform_auth("amazon"))
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert len(events(http, case_id)) == len(recorded)
    view = http.get(f"/platform/cases/{case_id}", headers=platform_auth("amazon")).json()
    assert view["acknowledged_on"] is not None
    assert view["allowed_commands"] == ["response"]


def test_the_platform_answers_under_the_caseworkers_rules_and_if_match(http: TestClient) -> None:
    case_id = a_case(http, "amazon")
    version = http.get(f"/platform/cases/{case_id}", headers=platform_auth("amazon")).json()[
        "version"
    ]
    path = f"/platform/cases/{case_id}/response"
    stale = http.post(
        path, json=RESPOND, headers={**platform_auth("amazon"), "If-Match": f'"{version - 1}"'}
    )
    assert_problem(stale, 412)
    empty = http.post(path, json={"stance": "refused"}, headers=platform_auth("amazon"))
    assert_problem(empty, 422)
    answered = http.post(
        path, json=RESPOND, headers={**platform_auth("amazon"), "If-Match": f'"{version}"'}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "platform_responded"
    last = events(http, case_id)[-1]
    assert last["type"] == "PlatformResponded"
    assert last["actor"] == "platform:amazon"
    again = http.post(path, json=RESPOND, headers=platform_auth("amazon"))
    assert_problem(again, 409)
    late = http.post(f"/platform/cases/{case_id}/acknowledge", headers=platform_auth("amazon"))
    assert_problem(late, 409)


def test_no_platform_reaches_another_platforms_case_nor_learns_it_exists(
    http: TestClient,
) -> None:
    cases = {platform: a_case(http, platform) for platform in PLATFORM_TOKENS}
    unsent = a_case(http, "amazon", sent=False)
    unknown = "00000000-0000-4000-8000-000000000000"
    nothing = assert_problem(
        http.get(f"/platform/cases/{unknown}", headers=platform_auth("amazon")), 404
    )
    position = log_position(http)
    for caller in PLATFORM_TOKENS:
        unseen = [c for p, c in cases.items() if p != caller] + [unknown]
        if caller == "amazon":
            unseen.append(unsent)
        for case_id in unseen:
            tries = [
                http.get(f"/platform/cases/{case_id}", headers=platform_auth(caller)),
                http.post(f"/platform/cases/{case_id}/acknowledge", headers=platform_auth(caller)),
                http.post(
                    f"/platform/cases/{case_id}/response",
                    json=RESPOND,
                    headers={**platform_auth(caller), "If-Match": '"1"'},
                ),
            ]
            for answer in tries:
                body = assert_problem(answer, 404)
                # Word for word what a case that does not exist answers.
                assert body == {**nothing, "detail": nothing["detail"].replace(unknown, case_id)}
    assert log_position(http) == position


@pytest.mark.parametrize("role", ["reporter", "caseworker", "auditor", "analyst", "dpo"])
def test_only_platforms_use_the_portal(http: TestClient, role: str) -> None:
    case_id = a_case(http, "amazon")
    assert_problem(http.get(f"/platform/cases/{case_id}", headers=auth(role)), 403)
    assert_problem(http.post(f"/platform/cases/{case_id}/acknowledge", headers=auth(role)), 403)
    assert_problem(http.get(f"/platform/cases/{case_id}"), 401)


def test_a_platform_token_reaches_no_caseworker_route(http: TestClient) -> None:
    case_id = a_case(http, "amazon")
    assert_problem(http.get(f"/cases/{case_id}", headers=platform_auth("amazon")), 403)
    answer = http.post(
        f"/cases/{case_id}/platform-response", json=RESPOND, headers=platform_auth("amazon")
    )
    assert_problem(answer, 403)


def listed(http: TestClient, platform: str, position: int, **params: Any) -> list[str]:
    """Every case of the platform's list, page by page, with the filters given."""
    found: list[str] = []
    cursor = None
    while True:
        query = {**params, "min_position": position, "limit": 2}
        if cursor is not None:
            query["cursor"] = cursor
        answer = http.get("/platform/cases", params=query, headers=platform_auth(platform))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_a_platform_lists_the_cases_sent_to_it_newest_sent_first(
    http: TestClient, clock: SettableClock
) -> None:
    sent = []
    for _ in range(3):
        sent.append(a_case(http, "amazon"))
        clock.advance(timedelta(days=1))
    a_case(http, "amazon", sent=False)
    other = a_case(http, "cdiscount")
    answered = http.post(
        f"/platform/cases/{sent[0]}/response", json=RESPOND, headers=platform_auth("amazon")
    )
    assert answered.status_code == 200, answered.text
    position = answered.json()["position"]

    assert listed(http, "amazon", position) == sent[::-1]
    assert listed(http, "cdiscount", position) == [other]
    assert listed(http, "ebay", position) == []
    assert listed(http, "amazon", position, status="platform_responded") == [sent[0]]
    assert listed(http, "amazon", position, status="awaiting_platform") == sent[:0:-1]
    first_due = http.get(f"/platform/cases/{sent[1]}", headers=platform_auth("amazon")).json()[
        "response_due"
    ]
    assert listed(http, "amazon", position, due_by=first_due) == [sent[1]]

    page = http.get(
        "/platform/cases", params={"min_position": position}, headers=platform_auth("amazon")
    )
    contact = report_body()["company"]
    assert contact["contact_email"] not in page.text
    assert contact["contact_name"] not in page.text
    assert page.json()["items"][0]["allowed_commands"] == ["acknowledge", "response"]


def test_a_cursor_the_service_did_not_give_is_refused(http: TestClient) -> None:
    answer = http.get(
        "/platform/cases", params={"cursor": "not-a-cursor"}, headers=platform_auth("amazon")
    )
    assert_problem(answer, 422)
