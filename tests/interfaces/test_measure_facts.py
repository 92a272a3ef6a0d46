"""The P2B measure facts over HTTP: a business states what the platform did and when, a
caseworker establishes it, and the facts decide the urgent clock unless the caseworker sets a
priority; the rule that applied is kept with the qualification."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from application.clock import SettableClock
from tests.conftest import auth
from tests.conftest import report_body
from tests.interfaces.problems import assert_problem


def report(http: TestClient, **changes: Any) -> str:
    answer = http.post("/cases", json=report_body(**changes), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["id"]
    return case_id


def case(http: TestClient, case_id: str) -> dict[str, Any]:
    answer = http.get(f"/cases/{case_id}", headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    return view


def qualify(http: TestClient, case_id: str, **body: Any) -> dict[str, Any]:
    body = {"category": "account_suspension", "summary": "Termination notice.", **body}
    answer = http.post(f"/cases/{case_id}/qualify", json=body, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    return case(http, case_id)


def test_a_termination_taking_effect_within_30_days_makes_the_case_urgent(
    http: TestClient, clock: SettableClock
) -> None:
    today = clock.now().date()
    facts = {
        "measure": "termination",
        "effective_on": (today + timedelta(days=20)).isoformat(),
        "statement_of_reasons": "not_given",
        "notice_received_on": today.isoformat(),
    }
    case_id = report(http, measure=facts, language="en")
    reported = case(http, case_id)
    assert reported["reported_measure"] == facts
    assert reported["language"] == "en"
    assert reported["measure"] is None

    qualified = qualify(http, case_id)
    assert qualified["priority"] == "urgent"
    assert qualified["urgency_rule"] == "termination_within_30_days"
    assert qualified["measure"] == facts  # the one reported, as the caseworker gave none


def test_the_caseworker_may_say_otherwise_and_then_no_rule_applies(http: TestClient) -> None:
    case_id = report(http, measure={"measure": "funds_withheld"})
    qualified = qualify(http, case_id, priority="normal")
    assert qualified["priority"] == "normal"
    assert qualified["urgency_rule"] is None


def test_the_caseworker_establishes_other_facts(http: TestClient, clock: SettableClock) -> None:
    far = (clock.now().date() + timedelta(days=90)).isoformat()
    case_id = report(http, measure={"measure": "termination", "effective_on": far})
    assert qualify(http, case_id)["priority"] == "normal"  # 90 days' notice: not urgent
    requalified = qualify(http, case_id, measure={"measure": "funds_withheld"})
    assert requalified["priority"] == "urgent"
    assert requalified["urgency_rule"] == "funds_withheld"
    assert requalified["measure"]["measure"] == "funds_withheld"
    assert requalified["reported_measure"]["effective_on"] == far


def test_impossible_facts_are_refused_and_record_nothing(
    http: TestClient, clock: SettableClock
) -> None:
    today = clock.now().date()
    position = http.get("/readyz", headers=auth("auditor")).json()["position"]
    refused = [
        {"measure": "teleportation"},
        {"measure": "termination", "effective_on": (today + timedelta(days=800)).isoformat()},
        {"measure": "suspension", "notice_received_on": (today + timedelta(days=1)).isoformat()},
        {"measure": "suspension", "statement_of_reasons": "maybe"},
        {"measure": "suspension", "extra": "field"},
    ]
    for facts in refused:
        answer = http.post("/cases", json=report_body(measure=facts), headers=auth("reporter"))
        assert_problem(answer, 422)
    answer = http.post("/cases", json=report_body(language="de"), headers=auth("reporter"))
    assert_problem(answer, 422)
    assert http.get("/readyz", headers=auth("auditor")).json()["position"] == position


def test_a_repeated_report_with_its_facts_is_the_same_case(http: TestClient) -> None:
    body = report_body(measure={"measure": "suspension"}, language="en")
    headers = {**auth("reporter"), "Idempotency-Key": "report-with-facts"}
    first = http.post("/cases", json=body, headers=headers)
    again = http.post("/cases", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other = http.post(
        "/cases", json=report_body(measure={"measure": "termination"}), headers=headers
    )
    assert_problem(other, 422)
