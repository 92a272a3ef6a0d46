"""Every 4xx of API.md, as application/problem+json, and the rule that no refusal records anything.

404 unknown case, 409 command not allowed in the case's status (DOMAIN.md's transition table),
412 stale If-Match, 422 invalid body or query (naming the failing fields), and the
Idempotency-Key of POST /cases across reporters and across app instances.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import SettableClock
from application.tracking_codes import tracking_index_id
from domain.values import TrackingCode
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.conftest import auth
from tests.conftest import report_body
from tests.interfaces.problems import assert_problem

UNKNOWN_CASE = "6b0c1f9e-2a4d-4c8e-9f3a-1d2e3f4a5b6c"

QUALIFY = {"category": "delisting", "priority": "normal", "summary": "Shop delisted."}
SEND = {"message": "Please give the reasons for the delisting."}
RESPOND = {"stance": "refused", "response": "The delisting stands."}
ESCALATE = {"reason": "unsatisfactory_response", "note": "No reasons given."}
RESOLVE = {"outcome": "not_resolved", "summary": "The platform would not move."}
BODIES = {
    "qualify": QUALIFY,
    "send-to-platform": SEND,
    "platform-response": RESPOND,
    "escalate": ESCALATE,
    "resolve": RESOLVE,
}
COMMANDS = tuple(BODIES)

# The path from a new report to each status, one command per step.
STATUSES = (
    "reported",
    "qualified",
    "awaiting_platform",
    "platform_responded",
    "with_mediator",
    "resolved",
)
PATH = ("qualify", "send-to-platform", "platform-response", "escalate", "resolve")

OUTCOMES = ("resolved", "partially_resolved", "not_resolved", "withdrawn", "inadmissible")
ALL_BUT_INADMISSIBLE = {f"resolve:{o}" for o in OUTCOMES if o != "inadmissible"}
# DOMAIN.md's transition table: status -> the actions it allows ("resolve:<outcome>").
ALLOWED: dict[str, set[str]] = {
    "reported": {"qualify", "resolve:withdrawn", "resolve:inadmissible"},
    "qualified": {"qualify", "send-to-platform", "resolve:withdrawn", "resolve:inadmissible"},
    "awaiting_platform": {"platform-response", "escalate", "resolve:withdrawn"},
    "platform_responded": {"send-to-platform", "escalate"} | ALL_BUT_INADMISSIBLE,
    "with_mediator": set(ALL_BUT_INADMISSIBLE),
    "resolved": set(),
}
ACTIONS = (
    "qualify",
    "send-to-platform",
    "platform-response",
    "escalate",
    *(f"resolve:{o}" for o in OUTCOMES),
)


# Helpers.


def log_position(http: TestClient) -> int:
    ready = http.get("/readyz", headers=auth("auditor"))
    assert ready.status_code == 200, ready.text
    position = ready.json()["position"]
    assert isinstance(position, int)
    return position


def history(http: TestClient, case_id: str) -> list[dict[str, Any]]:
    answer = http.get(f"/cases/{case_id}/history", headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def current(http: TestClient, case_id: str) -> dict[str, Any]:
    answer = http.get(f"/cases/{case_id}", headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    case: dict[str, Any] = answer.json()
    return case


def report(http: TestClient, **changes: Any) -> str:
    answer = http.post("/cases", json=report_body(**changes), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    case_id: str = answer.json()["id"]
    return case_id


def run(http: TestClient, case_id: str, name: str, body: dict[str, Any], **headers: str) -> Any:
    return http.post(
        f"/cases/{case_id}/{name}", json=body, headers={**auth("caseworker"), **headers}
    )


def case_in(http: TestClient, status: str) -> str:
    """A case brought to `status` by the caseworker, along the main path."""
    case_id = report(http)
    for name in PATH[: STATUSES.index(status)]:
        answer = run(http, case_id, name, BODIES[name])
        assert answer.status_code == 200, answer.text
    assert current(http, case_id)["status"] == status
    return case_id


def action_body(action: str) -> tuple[str, dict[str, Any]]:
    if action.startswith("resolve:"):
        return "resolve", {"outcome": action.split(":", 1)[1], "summary": "Closed."}
    return action, BODIES[action]


def assert_invalid(answer: Any, field: str, where: str | None = None) -> dict[str, Any]:
    """A 422 problem whose `errors` name `field` (or a member of it: "company.siren"), found
    `where` ("body", "query"…) when given."""
    body = assert_problem(answer, 422)
    errors = body.get("errors")
    assert isinstance(errors, list), body
    assert errors, body
    named = [
        e
        for e in errors
        if str(e.get("field")) == field or str(e.get("field")).startswith(f"{field}.")
    ]
    assert named, f"no error names {field!r}: {errors}"
    if where is not None:
        assert {e["in"] for e in named} == {where}, errors
    return body


@dataclass
class Unchanged:
    """Checks that nothing was recorded: not in the log, not in the case."""

    http: TestClient
    case_id: str | None = None

    def __post_init__(self) -> None:
        self.position = log_position(self.http)
        if self.case_id is not None:
            self.events = history(self.http, self.case_id)
            self.state = current(self.http, self.case_id)

    def check(self) -> None:
        assert log_position(self.http) == self.position
        if self.case_id is not None:
            assert history(self.http, self.case_id) == self.events
            assert current(self.http, self.case_id) == self.state


# 404: an unknown case.


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("GET", "", None, id="GET-case"),
        pytest.param("GET", "/history", None, id="GET-history"),
        *(pytest.param("POST", f"/{c}", BODIES[c], id=f"POST-{c}") for c in COMMANDS),
    ],
)
def test_an_unknown_case_is_404(
    http: TestClient, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    report(http)  # a case exists, just not this one
    nothing = Unchanged(http)
    answer = http.request(
        method, f"/cases/{UNKNOWN_CASE}{suffix}", json=body, headers=auth("caseworker")
    )
    assert_problem(answer, 404)
    nothing.check()


def test_a_version_the_case_has_not_reached_is_404(http: TestClient) -> None:
    case_id = case_in(http, "qualified")
    assert_problem(
        http.get(f"/cases/{case_id}", params={"version": 3}, headers=auth("caseworker")), 404
    )
    assert_problem(
        http.get(f"/cases/{UNKNOWN_CASE}", params={"version": 1}, headers=auth("caseworker")),
        404,
    )


def test_an_id_that_is_not_a_case_is_404(http: TestClient) -> None:
    """Other aggregates share the store (the tracking-code index): their ids are no cases."""
    code = http.post("/cases", json=report_body(), headers=auth("reporter")).json()["tracking_code"]
    not_a_case = str(tracking_index_id(TrackingCode.parse(code)))
    nothing = Unchanged(http)
    for suffix in ("", "/history", "?version=1"):
        assert_problem(http.get(f"/cases/{not_a_case}{suffix}", headers=auth("auditor")), 404)
    for name in COMMANDS:
        assert_problem(run(http, not_a_case, name, BODIES[name]), 404)
    nothing.check()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/no-such-thing", 404, id="unknown-path"),
        pytest.param("DELETE", f"/cases/{UNKNOWN_CASE}", 405, id="wrong-method"),
        pytest.param("PUT", "/cases", 405, id="put-cases"),
    ],
)
def test_routing_errors_are_problems_too(
    http: TestClient, method: str, path: str, status: int
) -> None:
    assert_problem(http.request(method, path, headers=auth("caseworker")), status)


# 409: the transition table.


def test_resolving_a_reported_case_as_resolved_is_409(http: TestClient) -> None:
    case_id = case_in(http, "reported")
    nothing = Unchanged(http, case_id)
    answer = run(http, case_id, "resolve", {"outcome": "resolved", "summary": "Done."})
    body = assert_problem(answer, 409)
    assert body["current_status"] == "reported"
    # Structured for programs: the command, and for resolve the outcomes it may record.
    assert body["allowed"] == [
        {"command": "qualify"},
        {"command": "resolve", "outcomes": ["inadmissible", "withdrawn"]},
    ]
    nothing.check()


def test_qualifying_a_resolved_case_is_409_with_nothing_allowed(http: TestClient) -> None:
    case_id = case_in(http, "resolved")
    nothing = Unchanged(http, case_id)
    body = assert_problem(run(http, case_id, "qualify", QUALIFY), 409)
    assert body["current_status"] == "resolved"
    assert body["allowed"] == []
    nothing.check()


REFUSED = [
    pytest.param(status, action, id=f"{status}-{action}")
    for status in STATUSES
    for action in ACTIONS
    if action not in ALLOWED[status]
]
PERMITTED = [
    pytest.param(status, action, id=f"{status}-{action}")
    for status in STATUSES
    for action in ACTIONS
    if action in ALLOWED[status]
]


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_a_command_the_status_does_not_allow_is_409(
    http: TestClient, status: str, action: str
) -> None:
    case_id = case_in(http, status)
    nothing = Unchanged(http, case_id)
    name, body = action_body(action)
    problem = assert_problem(run(http, case_id, name, body), 409)
    assert problem["current_status"] == status
    named = {a["command"] for a in problem["allowed"]}
    assert named == {a.split(":")[0] for a in ALLOWED[status]}
    nothing.check()


@pytest.mark.parametrize(("status", "action"), PERMITTED)
def test_a_command_the_status_allows_is_recorded(
    http: TestClient, status: str, action: str
) -> None:
    case_id = case_in(http, status)
    before = len(history(http, case_id))
    name, body = action_body(action)
    answer = run(http, case_id, name, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == before + 1
    assert len(history(http, case_id)) == before + 1


def test_the_transition_table_covers_every_status_and_action() -> None:
    assert len(REFUSED) + len(PERMITTED) == len(STATUSES) * len(ACTIONS)
    assert len(PERMITTED) == 3 + 4 + 3 + 6 + 4 + 0


# 412: a stale If-Match.

STALE = [
    pytest.param("qualify", "qualified", id="qualify"),
    pytest.param("send-to-platform", "qualified", id="send-to-platform"),
    pytest.param("platform-response", "awaiting_platform", id="platform-response"),
    pytest.param("escalate", "awaiting_platform", id="escalate"),
    pytest.param("resolve", "platform_responded", id="resolve"),
]


@pytest.mark.parametrize(("name", "status"), STALE)
def test_a_stale_if_match_is_412_and_the_right_one_succeeds(
    http: TestClient, name: str, status: str
) -> None:
    case_id = case_in(http, status)
    version = current(http, case_id)["version"]
    nothing = Unchanged(http, case_id)
    stale = run(http, case_id, name, BODIES[name], **{"If-Match": f'"{version - 1}"'})
    assert_problem(stale, 412)
    nothing.check()
    fresh = run(http, case_id, name, BODIES[name], **{"If-Match": f'"{version}"'})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["version"] == version + 1
    assert fresh.headers["ETag"] == f'"{version + 1}"'


def test_two_caseworkers_on_the_same_version_one_wins(http: TestClient) -> None:
    case_id = case_in(http, "qualified")
    etag = http.get(f"/cases/{case_id}", headers=auth("caseworker")).headers["ETag"]
    first = run(http, case_id, "send-to-platform", SEND, **{"If-Match": etag})
    assert first.status_code == 200, first.text
    nothing = Unchanged(http, case_id)
    second = run(
        http, case_id, "resolve", {"outcome": "withdrawn", "summary": "x"}, **{"If-Match": etag}
    )
    assert_problem(second, 412)
    nothing.check()


# 422: invalid bodies of POST /cases.


def without(*path: str) -> dict[str, Any]:
    body = report_body()
    holder = body
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return body


def with_company(**changes: Any) -> dict[str, Any]:
    body = report_body()
    body["company"].update(changes)
    return body


ReportBody = Callable[[date], dict[str, Any]]
INVALID_REPORTS: list[Any] = [
    # Wrong types.
    pytest.param(lambda t: report_body(siren=732829320), "company.siren", id="siren-as-number"),
    pytest.param(lambda t: report_body(description=42), "description", id="description-number"),
    pytest.param(lambda t: report_body(company="Atelier"), "company", id="company-as-text"),
    pytest.param(lambda t: report_body(platform=["amazon"]), "platform", id="platform-as-list"),
    pytest.param(lambda t: report_body(occurred_on=20260220), "occurred_on", id="date-number"),
    # Unknown enum values.
    pytest.param(lambda t: report_body(category_hint="banana"), "category_hint", id="banana"),
    pytest.param(lambda t: report_body(size="huge"), "company.size", id="size-huge"),
    pytest.param(lambda t: report_body(channel="fax"), "channel", id="channel-fax"),
    pytest.param(lambda t: report_body(size="Micro"), "company.size", id="size-capitalised"),
    # Missing required fields.
    *(
        pytest.param(lambda t, f=f: without(f), f, id=f"missing-{f}")
        for f in ("company", "platform", "description", "occurred_on")
    ),
    *(
        pytest.param(lambda t, f=f: without("company", f), f"company.{f}", id=f"missing-{f}")
        for f in ("name", "siren", "size", "contact_name", "contact_email")
    ),
    # Unknown extra fields.
    pytest.param(lambda t: report_body(urgent=True), "urgent", id="extra-field"),
    pytest.param(lambda t: with_company(vat="FR12"), "company.vat", id="extra-company-field"),
    # Over-long and empty strings.
    pytest.param(lambda t: report_body(description="x" * 10_001), "description", id="long-text"),
    pytest.param(lambda t: report_body(name="x" * 201), "company.name", id="long-name"),
    pytest.param(
        lambda t: report_body(contact_name="x" * 201), "company.contact_name", id="long-contact"
    ),
    pytest.param(lambda t: report_body(platform="p" * 201), "platform", id="long-platform"),
    pytest.param(lambda t: report_body(description="   "), "description", id="blank-text"),
    pytest.param(lambda t: report_body(name=""), "company.name", id="empty-name"),
    # SIREN and e-mail.
    pytest.param(lambda t: report_body(siren="732829321"), "company.siren", id="siren-checksum"),
    pytest.param(lambda t: report_body(siren="73282932"), "company.siren", id="siren-8-digits"),
    pytest.param(lambda t: report_body(siren="73282932A"), "company.siren", id="siren-letter"),
    *(
        pytest.param(
            lambda t, e=e: report_body(contact_email=e), "company.contact_email", id=f"email-{i}"
        )
        for i, e in enumerate(
            ["jeanne.atelier-dupont.fr", "jeanne@", "@atelier-dupont.fr", "jeanne @dupont.fr"]
        )
    ),
    # Dates out of range.
    pytest.param(
        lambda t: report_body(occurred_on=str(t + timedelta(days=1))), "occurred_on", id="future"
    ),
    pytest.param(lambda t: report_body(occurred_on="1999-12-31"), "occurred_on", id="1999-12-31"),
    pytest.param(lambda t: report_body(occurred_on="2026-02-30"), "occurred_on", id="2026-02-30"),
    pytest.param(lambda t: report_body(occurred_on="20/02/2026"), "occurred_on", id="french-date"),
]


@pytest.mark.parametrize(("make", "field"), INVALID_REPORTS)
def test_an_invalid_report_is_422_and_records_nothing(
    http: TestClient, clock: SettableClock, make: ReportBody, field: str
) -> None:
    report(http)
    nothing = Unchanged(http)
    answer = http.post("/cases", json=make(clock.now().date()), headers=auth("reporter"))
    assert_invalid(answer, field)
    nothing.check()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param('{"company": {"name": "Atelier"', id="truncated"),
        pytest.param("{'platform': 'amazon'}", id="single-quotes"),
        pytest.param("not json at all", id="not-json"),
        pytest.param('{"platform": "amazon",}', id="trailing-comma"),
        pytest.param(b'{"platform": "\xff\xfe"}', id="not-utf-8"),
        pytest.param("[" * 5000 + "]" * 5000, id="nested-too-deep"),
    ],
)
def test_malformed_json_is_422_and_records_nothing(http: TestClient, content: str | bytes) -> None:
    case_id = case_in(http, "reported")
    nothing = Unchanged(http, case_id)
    json_headers = {"Content-Type": "application/json"}
    reported = http.post("/cases", content=content, headers={**auth("reporter"), **json_headers})
    assert_invalid(reported, "body", "body")
    qualified = http.post(
        f"/cases/{case_id}/qualify", content=content, headers={**auth("caseworker"), **json_headers}
    )
    assert_invalid(qualified, "body", "body")
    nothing.check()


def test_the_longest_allowed_strings_are_accepted(http: TestClient) -> None:
    """The limits refused above are limits, not typos: their boundaries pass."""
    answer = http.post(
        "/cases",
        json=report_body(description="x" * 10_000, name="n" * 200, contact_name="c" * 200),
        headers=auth("reporter"),
    )
    assert answer.status_code == 201, answer.text
    case = current(http, answer.json()["id"])
    assert len(case["description"]) == 10_000
    assert len(case["company"]["name"]) == 200


def test_dates_are_judged_on_the_utc_date(http: TestClient, clock: SettableClock) -> None:
    """At 00:30 in Paris on 3 March it is still 2 March in UTC: 3 March is in the future."""
    clock.set(datetime(2026, 3, 3, 0, 30, tzinfo=timezone(timedelta(hours=1))))
    nothing = Unchanged(http)
    assert_invalid(
        http.post("/cases", json=report_body(occurred_on="2026-03-03"), headers=auth("reporter")),
        "occurred_on",
    )
    nothing.check()
    accepted = http.post(
        "/cases", json=report_body(occurred_on="2026-03-02"), headers=auth("reporter")
    )
    assert accepted.status_code == 201, accepted.text


def test_a_report_dated_today_is_accepted(http: TestClient, clock: SettableClock) -> None:
    answer = http.post(
        "/cases", json=report_body(occurred_on=str(clock.now().date())), headers=auth("reporter")
    )
    assert answer.status_code == 201, answer.text


# 422: invalid bodies of the workflow commands.


@dataclass(frozen=True)
class Days:
    today: date
    sent_on: date


CommandBody = Callable[[Days], dict[str, Any]]


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def dropped(base: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in base.items() if k != field}


INVALID_COMMANDS: list[Any] = [
    # qualify, on a reported case.
    pytest.param("qualify", lambda d: changed(QUALIFY, priority=["urgent"]), "priority", id="q-pl"),
    pytest.param("qualify", lambda d: changed(QUALIFY, priority="asap"), "priority", id="q-pe"),
    pytest.param("qualify", lambda d: changed(QUALIFY, category="banana"), "category", id="q-ce"),
    pytest.param("qualify", lambda d: changed(QUALIFY, category=3), "category", id="q-cn"),
    pytest.param("qualify", lambda d: dropped(QUALIFY, "summary"), "summary", id="q-ms"),
    pytest.param("qualify", lambda d: dropped(QUALIFY, "category"), "category", id="q-mc"),
    pytest.param(
        "qualify", lambda d: changed(QUALIFY, measure={"measure": "x"}), "measure", id="q-me"
    ),
    pytest.param("qualify", lambda d: changed(QUALIFY, status="closed"), "status", id="q-extra"),
    pytest.param(
        "qualify", lambda d: changed(QUALIFY, summary="s" * 10_001), "summary", id="q-long"
    ),
    pytest.param(
        "qualify",
        lambda d: changed(QUALIFY, p2b_articles=["Art. 42"]),
        "p2b_articles",
        id="q-article",
    ),
    pytest.param(
        "qualify",
        lambda d: changed(QUALIFY, p2b_articles="Art. 4"),
        "p2b_articles",
        id="q-articles-text",
    ),
    # send-to-platform, on a qualified case.
    pytest.param(
        "send-to-platform",
        lambda d: changed(SEND, response_due=str(d.today)),
        "response_due",
        id="s-due-today",
    ),
    pytest.param(
        "send-to-platform",
        lambda d: changed(SEND, response_due=str(d.today - timedelta(days=1))),
        "response_due",
        id="s-due-past",
    ),
    pytest.param(
        "send-to-platform",
        lambda d: changed(SEND, response_due="2026-02-30"),
        "response_due",
        id="s-due-impossible",
    ),
    pytest.param("send-to-platform", lambda d: {}, "message", id="s-missing-message"),
    pytest.param(
        "send-to-platform", lambda d: changed(SEND, message=12), "message", id="s-message-number"
    ),
    pytest.param(
        "send-to-platform", lambda d: changed(SEND, message=" "), "message", id="s-message-blank"
    ),
    pytest.param(
        "send-to-platform", lambda d: changed(SEND, cc="x@y.fr"), "cc", id="s-extra-field"
    ),
    # platform-response, on a case sent to the platform three days ago.
    pytest.param(
        "platform-response", lambda d: changed(RESPOND, stance="maybe"), "stance", id="p-stance"
    ),
    pytest.param(
        "platform-response",
        lambda d: changed(RESPOND, responded_on=str(d.today + timedelta(days=1))),
        "responded_on",
        id="p-after-today",
    ),
    pytest.param(
        "platform-response",
        lambda d: changed(RESPOND, responded_on=str(d.sent_on - timedelta(days=1))),
        "responded_on",
        id="p-before-sent",
    ),
    pytest.param(
        "platform-response",
        lambda d: changed(RESPOND, responded_on="2026-13-01"),
        "responded_on",
        id="p-impossible-date",
    ),
    pytest.param(
        "platform-response", lambda d: dropped(RESPOND, "response"), "response", id="p-missing"
    ),
    pytest.param(
        "platform-response", lambda d: dropped(RESPOND, "stance"), "stance", id="p-no-stance"
    ),
    # escalate, on a case awaiting the platform.
    pytest.param("escalate", lambda d: changed(ESCALATE, reason="boredom"), "reason", id="e-enum"),
    pytest.param("escalate", lambda d: dropped(ESCALATE, "reason"), "reason", id="e-missing"),
    pytest.param(
        "escalate", lambda d: changed(ESCALATE, note="n" * 10_001), "note", id="e-long-note"
    ),
    pytest.param(
        "escalate", lambda d: changed(ESCALATE, mediator="bob"), "mediator", id="e-extra-field"
    ),
    # resolve, on a case the platform answered.
    pytest.param("resolve", lambda d: changed(RESOLVE, outcome="solved"), "outcome", id="r-enum"),
    pytest.param(
        "resolve", lambda d: changed(RESOLVE, outcome=["resolved"]), "outcome", id="r-list"
    ),
    pytest.param("resolve", lambda d: dropped(RESOLVE, "summary"), "summary", id="r-missing"),
    pytest.param("resolve", lambda d: dropped(RESOLVE, "outcome"), "outcome", id="r-no-outcome"),
]
STATUS_FOR = {
    "qualify": "reported",
    "send-to-platform": "qualified",
    "platform-response": "awaiting_platform",
    "escalate": "awaiting_platform",
    "resolve": "platform_responded",
}


@pytest.mark.parametrize(("name", "make", "field"), INVALID_COMMANDS)
def test_an_invalid_command_is_422_and_records_nothing(
    http: TestClient, clock: SettableClock, name: str, make: CommandBody, field: str
) -> None:
    case_id = case_in(http, STATUS_FOR[name])
    sent_on = clock.now().date()  # case_in sends on the clock's day, when it sends
    clock.advance(timedelta(days=3))
    days = Days(today=clock.now().date(), sent_on=sent_on)
    nothing = Unchanged(http, case_id)
    assert_invalid(run(http, case_id, name, make(days)), field)
    nothing.check()


def test_an_answer_dated_the_day_it_was_sent_is_accepted(
    http: TestClient, clock: SettableClock
) -> None:
    case_id = case_in(http, "awaiting_platform")
    sent_on = clock.now().date()
    clock.advance(timedelta(days=3))
    answer = run(http, case_id, "platform-response", changed(RESPOND, responded_on=str(sent_on)))
    assert answer.status_code == 200, answer.text
    assert current(http, case_id)["responded_on"] == str(sent_on)


def test_a_due_date_tomorrow_is_accepted(http: TestClient, clock: SettableClock) -> None:
    case_id = case_in(http, "qualified")
    tomorrow = clock.now().date() + timedelta(days=1)
    answer = run(http, case_id, "send-to-platform", changed(SEND, response_due=str(tomorrow)))
    assert answer.status_code == 200, answer.text
    assert answer.json()["response_due"] == str(tomorrow)


# 422: invalid queries.


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"version": "0"}, "version", id="version-0"),
        pytest.param({"version": "-1"}, "version", id="version-negative"),
        pytest.param({"version": "two"}, "version", id="version-word"),
        pytest.param({"version": "1.5"}, "version", id="version-fraction"),
        pytest.param({"at": "not-a-date"}, "at", id="at-not-a-date"),
        pytest.param({"at": "2026-02-30T10:00:00+00:00"}, "at", id="at-impossible"),
        pytest.param({"at": "2026-03-02T10:00:00"}, "at", id="at-without-offset"),
    ],
)
def test_an_invalid_query_is_422(http: TestClient, params: dict[str, str], field: str) -> None:
    case_id = case_in(http, "qualified")
    nothing = Unchanged(http, case_id)
    answer = http.get(f"/cases/{case_id}", params=params, headers=auth("caseworker"))
    assert_invalid(answer, field, "query")
    nothing.check()


@pytest.mark.parametrize(
    ("path", "params", "field", "role"),
    [
        ("/statistics", {"to": "0"}, "to", "analyst"),
        ("/statistics", {"from": "2026-01-01T00:00:00"}, "from", "analyst"),
        ("/statistics/export.csv", {"as_of": "20260301"}, "as_of", "analyst"),
        ("/queues/overdue", {"as_of": "1700000000"}, "as_of", "caseworker"),
    ],
    ids=["unix-time-0", "an-instant", "no-dashes", "unix-time"],
)
def test_a_date_is_only_ever_written_yyyy_mm_dd(
    http: TestClient, path: str, params: dict[str, str], field: str, role: str
) -> None:
    assert_invalid(http.get(path, params=params, headers=auth(role)), field, "query")


@pytest.mark.parametrize("written", [0, "0", "2026-02-20T00:00:00", "20260220"])
def test_a_date_in_a_body_is_only_ever_written_yyyy_mm_dd(http: TestClient, written: Any) -> None:
    nothing = Unchanged(http)
    answer = http.post("/cases", json=report_body(occurred_on=written), headers=auth("reporter"))
    assert_invalid(answer, "occurred_on", "body")
    nothing.check()


# Idempotency-Key on POST /cases.


def post_report(http: TestClient, key: str | None, role: str = "reporter", **changes: Any) -> Any:
    headers = auth(role)
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/cases", json=report_body(**changes), headers=headers)


ANSWER_HEADERS = ("Location", "ETag", "Content-Type")
"""The headers of a report's answer that a repeat answers again."""


def assert_replays(again: Any, first: Any) -> None:
    """`again` answers exactly what `first` answered, marked as a replay."""
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    for name in ANSWER_HEADERS:
        assert again.headers[name] == first.headers[name], name
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_the_same_key_and_body_answer_the_first_case(http: TestClient) -> None:
    first = post_report(http, "key-0001")
    assert first.status_code == 201, first.text
    nothing = Unchanged(http, first.json()["id"])
    again = post_report(http, "key-0001")
    assert_replays(again, first)
    nothing.check()


def test_a_key_keeps_answering_the_first_answer_after_the_case_moved_on(
    http: TestClient, clock: SettableClock
) -> None:
    first = post_report(http, "key-0002")
    case_id = first.json()["id"]
    others = [post_report(http, None) for _ in range(2)]  # the log moves on past it
    assert all(o.status_code == 201 for o in others)
    assert run(http, case_id, "qualify", QUALIFY).status_code == 200
    withdrawn = {"outcome": "withdrawn", "summary": "The business withdrew."}
    assert run(http, case_id, "resolve", withdrawn).status_code == 200
    clock.advance(timedelta(days=2))
    nothing = Unchanged(http, case_id)
    again = post_report(http, "key-0002")
    # Not the case as it is now (resolved, version 3): the answer as it was given.
    assert_replays(again, first)
    nothing.check()


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"description": "Another story altogether."}, id="description"),
        pytest.param({"siren": "542107651"}, id="siren"),
        pytest.param({"platform": "amazon.fr"}, id="platform-spelling"),
        pytest.param({"category_hint": "ranking"}, id="category-hint"),
        pytest.param({"occurred_on": "2026-02-21"}, id="occurred-on"),
    ],
)
def test_the_same_key_with_another_body_is_422(http: TestClient, changes: dict[str, Any]) -> None:
    first = post_report(http, "key-0003")
    assert first.status_code == 201, first.text
    nothing = Unchanged(http, first.json()["id"])
    other = post_report(http, "key-0003", **changes)
    assert_problem(other, 422)
    nothing.check()
    # The key still answers its first case.
    assert post_report(http, "key-0003").json()["id"] == first.json()["id"]


def test_different_reporters_with_the_same_key_get_different_cases(http: TestClient) -> None:
    by_reporter = post_report(http, "shared-key", role="reporter")
    assert by_reporter.status_code == 201, by_reporter.text
    position = log_position(http)
    by_caseworker = post_report(http, "shared-key", role="caseworker")
    assert by_caseworker.status_code == 201, by_caseworker.text
    assert by_caseworker.json()["id"] != by_reporter.json()["id"]
    assert by_caseworker.json()["tracking_code"] != by_reporter.json()["tracking_code"]
    assert log_position(http) > position
    assert (
        history(http, by_reporter.json()["id"])[0]["actor"]
        != (history(http, by_caseworker.json()["id"])[0]["actor"])
    )


def test_different_keys_open_different_cases(http: TestClient) -> None:
    first = post_report(http, "key-a")
    second = post_report(http, "key-b")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


def test_without_a_key_the_same_report_twice_opens_two_cases(http: TestClient) -> None:
    first = post_report(http, None)
    second = post_report(http, None)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


@pytest.fixture
def second_instance(durable_settings: Settings, clock: SettableClock) -> Iterator[TestClient]:
    """Another app process on the same database (the `http` fixture's settings)."""
    app = create_app(durable_settings, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_two_instances_on_one_database_honour_the_same_key(
    http: TestClient, second_instance: TestClient
) -> None:
    first = post_report(http, "key-across-instances")
    assert first.status_code == 201, first.text
    nothing = Unchanged(http, first.json()["id"])
    again = post_report(second_instance, "key-across-instances")
    assert_replays(again, first)
    nothing.check()
    assert log_position(second_instance) == nothing.position
    other = post_report(second_instance, "key-across-instances", description="Something else.")
    assert_problem(other, 422)
    nothing.check()
