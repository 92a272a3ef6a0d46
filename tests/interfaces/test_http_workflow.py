"""A caseworker's day over HTTP: one case from the business's report to its resolution.

Every route of the case's life is used as a client of API.md would use it: the commands with
their ETags, the reads of the case now, at a version and at an instant, its history, and the
business's public tracking page.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import SettableClock
from tests.conftest import ACTORS
from tests.conftest import auth
from tests.conftest import report_body
from tests.interfaces.problems import PROBLEM_JSON


def instant(text: str) -> datetime:
    """An ISO 8601 instant from a response; it must carry its UTC offset."""
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, f"{text!r} has no UTC offset"
    return parsed


def command(
    http: TestClient, case_id: str, name: str, body: dict[str, Any], **headers: str
) -> dict[str, Any]:
    """A workflow command by the caseworker that must succeed; checks the common answer."""
    answer = http.post(
        f"/cases/{case_id}/{name}", json=body, headers={**auth("caseworker"), **headers}
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["id"] == case_id
    assert answer.headers["ETag"] == f'"{result["version"]}"'
    assert isinstance(result["position"], int)
    return result


def read(http: TestClient, case_id: str, **params: Any) -> dict[str, Any]:
    answer = http.get(f"/cases/{case_id}", params=params, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def track(http: TestClient, code: str) -> Any:
    return http.get(f"/track/{code}")


def test_a_case_from_report_to_resolution(http: TestClient, clock: SettableClock) -> None:
    moments: list[datetime] = []  # the instant of each event, by version - 1
    positions: list[int] = []

    # 09:00 — the business files its report from the public form.
    moments.append(clock.now())
    reported = http.post("/cases", json=report_body(), headers=auth("reporter"))
    assert reported.status_code == 201, reported.text
    receipt = reported.json()
    case_id = receipt["id"]
    assert reported.headers["Location"] == f"/cases/{case_id}"
    assert reported.headers["ETag"] == '"1"'
    assert receipt["version"] == 1
    assert receipt["status"] == "reported"
    assert isinstance(receipt["position"], int)
    positions.append(receipt["position"])
    code = receipt["tracking_code"]
    assert isinstance(code, str)
    assert len(code.replace("-", "")) >= 20  # unguessable: far more than a short number

    tracked = track(http, code)
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["status"] == "reported"

    # 10:30 — a caseworker qualifies it: urgent, the shop is losing its sales.
    clock.advance(timedelta(hours=1, minutes=30))
    moments.append(clock.now())
    qualified = command(
        http,
        case_id,
        "qualify",
        {
            "category": "delisting",
            "priority": "urgent",
            "summary": "Whole shop delisted, no statement of reasons.",
            "p2b_articles": ["Art. 4(1)"],
            "assignee": "alice",
        },
        **{"If-Match": '"1"'},
    )
    assert (qualified["version"], qualified["status"]) == (2, "qualified")
    positions.append(qualified["position"])

    # Next morning — sent to the platform; urgent, so it has 5 days to answer.
    clock.advance(timedelta(days=1))
    moments.append(clock.now())
    first_sent_on = clock.now().date()
    sent = command(
        http,
        case_id,
        "send-to-platform",
        {"message": "Please state the reasons for the delisting (P2B Art. 4)."},
    )
    assert (sent["version"], sent["status"]) == (3, "awaiting_platform")
    first_due = first_sent_on + timedelta(days=5)
    assert date.fromisoformat(sent["response_due"]) == first_due
    positions.append(sent["position"])
    assert read(http, case_id)["response_due"] == first_due.isoformat()

    # Two days later — the platform answered yesterday by e-mail; recorded today.
    clock.advance(timedelta(days=2))
    moments.append(clock.now())
    answered_on = clock.now().date() - timedelta(days=1)
    responded = command(
        http,
        case_id,
        "platform-response",
        {
            "stance": "partially_accepted",
            "response": "Half of the listings are restored.",
            "responded_on": answered_on.isoformat(),
        },
    )
    assert (responded["version"], responded["status"]) == (4, "platform_responded")
    positions.append(responded["position"])

    # The next day — not enough: a follow-up round, again 5 days since it is urgent.
    clock.advance(timedelta(days=1))
    moments.append(clock.now())
    second_sent_on = clock.now().date()
    followed_up = command(
        http,
        case_id,
        "send-to-platform",
        {"message": "What about the other half of the listings?"},
        **{"If-Match": '"4"'},
    )
    assert (followed_up["version"], followed_up["status"]) == (5, "awaiting_platform")
    second_due = second_sent_on + timedelta(days=5)
    assert date.fromisoformat(followed_up["response_due"]) == second_due
    positions.append(followed_up["position"])

    # A week later, still nothing: escalated to the business mediator.
    clock.advance(timedelta(days=7))
    moments.append(clock.now())
    escalated = command(
        http,
        case_id,
        "escalate",
        {"reason": "no_response", "note": "No answer to the follow-up."},
    )
    assert (escalated["version"], escalated["status"]) == (6, "with_mediator")
    reference = escalated["mediator_reference"]
    assert isinstance(reference, str)
    assert reference.strip()
    positions.append(escalated["position"])

    # Three weeks later — the mediator obtained the restoration of most listings.
    clock.advance(timedelta(days=21, hours=3))
    moments.append(clock.now())
    resolved = command(
        http,
        case_id,
        "resolve",
        {"outcome": "partially_resolved", "summary": "Most listings restored after mediation."},
    )
    assert (resolved["version"], resolved["status"]) == (7, "resolved")
    positions.append(resolved["position"])

    # Each command's last event lies further along the log than the one before.
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)

    # The case now: every field its events set.
    now = http.get(f"/cases/{case_id}", headers=auth("caseworker"))
    assert now.status_code == 200, now.text
    assert now.headers["ETag"] == '"7"'
    case = now.json()
    assert case["id"] == case_id
    assert case["version"] == 7
    assert case["status"] == "resolved"
    assert case["tracking_code"] == code
    assert instant(case["reported_at"]) == moments[0]
    assert instant(case["updated_at"]) == moments[-1]
    assert case["company"] == {
        "name": "Atelier Dupont",
        "siren": "732829320",
        "size": "micro",
        "contact_name": "Jeanne Dupont",
        "contact_email": "jeanne@atelier-dupont.fr",
    }
    assert case["platform"] == "amazon"
    assert case["description"] == report_body()["description"]
    assert case["occurred_on"] == "2026-02-20"
    assert case["category_hint"] == "delisting"
    assert case["channel"] == "web"
    assert case["category"] == "delisting"
    assert case["priority"] == "urgent"
    assert case["summary"] == "Whole shop delisted, no statement of reasons."
    assert case["p2b_articles"] == ["Art. 4(1)"]
    assert case["assignee"] == "alice"
    assert case["stance"] == "partially_accepted"
    assert case["responded_on"] == answered_on.isoformat()
    assert case["escalation_reason"] == "no_response"
    assert case["mediator_reference"] == reference
    assert case["outcome"] == "partially_resolved"
    assert case["response_due"] is None  # nothing is due from a closed case

    # The case as it stood right after each event.
    expected_status = [
        "reported",
        "qualified",
        "awaiting_platform",
        "platform_responded",
        "awaiting_platform",
        "with_mediator",
        "resolved",
    ]
    for version, status in enumerate(expected_status, start=1):
        then = read(http, case_id, version=version)
        assert (then["version"], then["status"]) == (version, status)
        assert instant(then["updated_at"]) == moments[version - 1]
        assert instant(then["reported_at"]) == moments[0]
    assert read(http, case_id, version=1)["category"] is None
    assert read(http, case_id, version=2)["response_due"] is None
    assert read(http, case_id, version=3)["response_due"] == first_due.isoformat()
    assert read(http, case_id, version=5)["response_due"] == second_due.isoformat()
    assert read(http, case_id, version=5)["mediator_reference"] is None

    # The case as it stood at an instant: at an event, and between two events.
    for version, moment in enumerate(moments, start=1):
        at_event = read(http, case_id, at=moment.isoformat())
        assert (at_event["version"], at_event["status"]) == (version, expected_status[version - 1])
        between = read(http, case_id, at=(moment + timedelta(minutes=30)).isoformat())
        assert between["version"] == version
    # The same instant written with another UTC offset is the same instant.
    paris = moments[2].astimezone(timezone(timedelta(hours=1)))
    assert paris.isoformat().endswith("+01:00")
    assert read(http, case_id, at=paris.isoformat())["version"] == 3
    assert read(http, case_id, at=(moments[-1] + timedelta(days=365)).isoformat())["version"] == 7

    before = http.get(
        f"/cases/{case_id}",
        params={"at": (moments[0] - timedelta(seconds=1)).isoformat()},
        headers=auth("caseworker"),
    )
    assert before.status_code == 404, before.text
    assert before.headers["content-type"].startswith(PROBLEM_JSON)
    assert before.json()["status"] == 404

    # The history: who did what, when, oldest first.
    history = http.get(f"/cases/{case_id}/history", headers=auth("caseworker"))
    assert history.status_code == 200, history.text
    log = history.json()
    assert log["case_id"] == case_id
    events = log["events"]
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["type"] for e in events] == [
        "Reported",
        "Qualified",
        "SentToPlatform",
        "PlatformResponded",
        "SentToPlatform",
        "EscalatedToMediator",
        "Resolved",
    ]
    assert [e["actor"] for e in events] == [ACTORS["reporter"]] + [ACTORS["caseworker"]] * 6
    assert [instant(e["recorded_at"]) for e in events] == moments
    data = [e["data"] for e in events]
    assert data[0]["occurred_on"] == "2026-02-20"
    assert data[0]["description"] == report_body()["description"]
    assert data[1]["category"] == "delisting"
    assert data[1]["priority"] == "urgent"
    assert data[2]["response_due"] == first_due.isoformat()
    assert data[3]["stance"] == "partially_accepted"
    assert data[3]["responded_on"] == answered_on.isoformat()
    assert data[4]["response_due"] == second_due.isoformat()
    assert data[5]["reason"] == "no_response"
    assert data[5]["mediator_reference"] == reference
    assert data[6]["outcome"] == "partially_resolved"

    # The business's view: its case's status and dates, nothing else.
    public = track(http, code)
    assert public.status_code == 200, public.text
    assert set(public.json()) == {"status", "reported_at", "updated_at"}
    assert public.json()["status"] == "resolved"
    assert instant(public.json()["reported_at"]) == moments[0]
    assert instant(public.json()["updated_at"]) == moments[-1]


def test_a_standard_case_gives_the_platform_fifteen_days(
    http: TestClient, clock: SettableClock
) -> None:
    case_id = http.post("/cases", json=report_body(), headers=auth("caseworker")).json()["id"]
    command(
        http,
        case_id,
        "qualify",
        {"category": "ranking", "priority": "normal", "summary": "Demoted in search."},
    )
    clock.advance(timedelta(days=3, hours=5))
    sent = command(http, case_id, "send-to-platform", {"message": "Why the demotion?"})
    due = clock.now().date() + timedelta(days=15)
    assert date.fromisoformat(sent["response_due"]) == due
    assert read(http, case_id)["response_due"] == due.isoformat()


def test_a_due_date_given_by_the_caseworker_is_kept(http: TestClient, clock: SettableClock) -> None:
    case_id = http.post("/cases", json=report_body(), headers=auth("caseworker")).json()["id"]
    command(
        http,
        case_id,
        "qualify",
        {"category": "funds_withheld", "priority": "high", "summary": "Funds blocked."},
    )
    due = clock.now().date() + timedelta(days=30)
    sent = command(
        http,
        case_id,
        "send-to-platform",
        {"message": "Release the funds.", "response_due": str(due)},
    )
    assert sent["response_due"] == due.isoformat()
    assert read(http, case_id)["response_due"] == due.isoformat()


def test_the_tracking_page_follows_the_case_and_shows_nothing_internal(
    http: TestClient, clock: SettableClock
) -> None:
    receipt = http.post("/cases", json=report_body(), headers=auth("reporter")).json()
    code = receipt["tracking_code"]
    first = track(http, code)
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"status", "reported_at", "updated_at"}
    assert first.json()["status"] == "reported"
    assert instant(first.json()["reported_at"]) == clock.now()
    assert instant(first.json()["updated_at"]) == clock.now()

    clock.advance(timedelta(hours=2))
    command(
        http,
        receipt["id"],
        "qualify",
        {"category": "delisting", "priority": "normal", "summary": "Internal note."},
    )
    later = track(http, code)
    assert later.json()["status"] == "qualified"
    assert instant(later.json()["updated_at"]) == clock.now()
    assert instant(later.json()["reported_at"]) == clock.now() - timedelta(hours=2)
    assert set(later.json()) == {"status", "reported_at", "updated_at"}
    assert "Internal note" not in later.text
    assert "Atelier Dupont" not in later.text
    assert receipt["id"] not in later.text


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda c: c.replace("-", ""), id="without-dashes"),
        pytest.param(lambda c: c.upper(), id="upper-case"),
        pytest.param(lambda c: c.replace("-", "").upper(), id="without-dashes-upper-case"),
    ],
)
def test_the_tracking_code_is_read_the_way_people_type_it(http: TestClient, spelling: Any) -> None:
    code = http.post("/cases", json=report_body(), headers=auth("reporter")).json()["tracking_code"]
    written = spelling(code)
    assert written != code
    answer = track(http, written)
    assert answer.status_code == 200, answer.text
    assert answer.json() == track(http, code).json()


def test_unknown_and_malformed_tracking_codes_get_the_same_404(http: TestClient) -> None:
    code = http.post("/cases", json=report_body(), headers=auth("reporter")).json()["tracking_code"]
    compact = code.replace("-", "")
    # Well formed but unknown: the real code with one character changed.
    unknown = compact[:-1] + ("b" if compact[-1] != "b" else "c")
    answers = [
        track(http, unknown),
        track(http, "a" * len(compact)),
        track(http, "not-a-code"),
        track(http, compact + "a"),  # one character too many
        track(http, compact[:-1]),  # one too few
        track(http, "0" * len(compact)),  # not in the code's alphabet
        track(http, "%C3%A9t%C3%A9"),
    ]
    for answer in answers:
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        body = answer.json()
        assert {"type", "title", "status", "detail"} <= set(body)
        assert body["status"] == 404
        assert body == answers[0].json()


def test_instants_are_read_in_any_utc_offset_notation(
    http: TestClient, clock: SettableClock
) -> None:
    case_id = http.post("/cases", json=report_body(), headers=auth("caseworker")).json()["id"]
    clock.advance(timedelta(hours=1))
    qualified_at = clock.now()
    command(http, case_id, "qualify", {"category": "other", "priority": "low", "summary": "Minor."})
    zulu = qualified_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert read(http, case_id, at=zulu)["version"] == 2
    just_before = (qualified_at - timedelta(microseconds=1)).isoformat()
    assert read(http, case_id, at=just_before)["version"] == 1
    new_york = qualified_at.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert read(http, case_id, at=new_york)["version"] == 2


def test_a_long_case_reads_the_same_at_every_version(
    http: TestClient, clock: SettableClock
) -> None:
    """Many requalifications: every past version still reads as it was, history in full."""
    case_id = http.post("/cases", json=report_body(), headers=auth("caseworker")).json()["id"]
    rounds = 60
    for n in range(rounds):
        clock.advance(timedelta(minutes=1))
        command(
            http,
            case_id,
            "qualify",
            {"category": "ranking", "priority": "normal", "summary": f"Review number {n}."},
        )
    latest = read(http, case_id)
    assert latest["version"] == rounds + 1
    assert latest["summary"] == f"Review number {rounds - 1}."
    for version in (2, 25, 49, 50, 51, 52, rounds, rounds + 1):
        then = read(http, case_id, version=version)
        assert then["version"] == version
        assert then["summary"] == f"Review number {version - 2}."
    events = http.get(f"/cases/{case_id}/history", headers=auth("auditor")).json()["events"]
    assert [e["version"] for e in events] == list(range(1, rounds + 2))
    sent = command(http, case_id, "send-to-platform", {"message": "After many reviews."})
    assert sent["version"] == rounds + 2
    assert date.fromisoformat(sent["response_due"]) == clock.now().date() + timedelta(days=15)


def test_each_state_names_the_commands_it_allows_as_data_a_program_can_use(
    http: TestClient,
) -> None:
    reported = http.post("/cases", json=report_body(), headers=auth("reporter"))
    assert reported.status_code == 201, reported.text
    case_id = reported.json()["id"]
    assert read(http, case_id)["allowed_commands"] == [
        {"command": "qualify"},
        {"command": "resolve", "outcomes": ["inadmissible", "withdrawn"]},
    ]
    command(http, case_id, "qualify", {"category": "ranking", "priority": "low", "summary": "S."})
    command(http, case_id, "send-to-platform", {"message": "Why?"})
    command(http, case_id, "platform-response", {"stance": "refused", "response": "No."})
    # A command the view names is one the case takes; `outcomes` only where there is a choice.
    allowed = read(http, case_id)["allowed_commands"]
    assert allowed == [
        {"command": "send-to-platform"},
        {"command": "escalate"},
        {
            "command": "resolve",
            "outcomes": ["not_resolved", "partially_resolved", "resolved", "withdrawn"],
        },
    ]
    outcome = allowed[-1]["outcomes"][0]
    command(http, case_id, "resolve", {"outcome": outcome, "summary": "Closed."})
    assert read(http, case_id)["allowed_commands"] == []
