"""GET /statistics… over HTTP: roles, positions and read-your-writes, validation, the figures
equal to the reference's, the annual figures, the CSV export and the OpenAPI description.

No test sleeps to wait for a projection: each waits for a position (`min_position`)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import SettableClock
from domain.measures import Measure
from domain.values import Category
from domain.values import Outcome
from domain.values import Priority
from domain.values import Stance
from tests.conftest import START
from tests.conftest import auth
from tests.conftest import report_body
from tests.interfaces.problems import assert_problem
from tests.statistics_oracle import TODAY
from tests.statistics_oracle import UNQUALIFIED
from tests.statistics_oracle import assert_annual
from tests.statistics_oracle import assert_same_figures
from tests.statistics_oracle import canonical
from tests.statistics_oracle import decimals_of
from tests.statistics_oracle import expected_annual
from tests.statistics_oracle import expected_statistics
from tests.statistics_oracle import published
from tests.statistics_workflows import HttpWorkflow
from tests.statistics_workflows import Workflow
from tests.statistics_workflows import run_scenario

# 5. HTTP.

ENDPOINTS = [
    "/statistics",
    "/statistics/platforms/amazon",
    "/statistics/annual/2026",
    "/statistics/export.csv",
]
ENTRY_FIELDS = {
    "platform",
    "cases",
    "by_category",
    "by_status",
    "sent",
    "answered",
    "answered_on_time",
    "silent",
    "escalated",
    "outcomes",
    "answer_rate",
    "on_time_rate",
    "silence_rate",
    "escalation_rate",
    "median_days_to_first_answer",
    "p90_days_to_first_answer",
    "median_days_to_resolution",
    "acknowledged",
    "acknowledgement_rate",
    "median_days_to_acknowledgement",
    "answered_after_reminder",
    "after_reminder_rate",
    "reminders_sent",
    "by_measure",
    "statement_of_reasons_missing",
    "statement_of_reasons_partly",
}
RATES = ("answer_rate", "on_time_rate", "silence_rate", "escalation_rate", "acknowledgement_rate")
MEASURE_KEYS = [*(m.value for m in Measure), "unstated"]
OUTCOME_KEYS = [o.value for o in Outcome]


def get_json(http: TestClient, path: str, role: str = "analyst", **params: Any) -> dict[str, Any]:
    answer = http.get(path, params=params, headers=auth(role))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert isinstance(body["position"], int)
    if "min_position" in params:
        assert body["position"] >= params["min_position"]
    return body


def check_shape(body: dict[str, Any]) -> None:
    """GET /statistics as API.md lists it."""
    assert set(body) == {"position", "as_of", "totals", "platforms", "categories", "mediation"}
    date.fromisoformat(body["as_of"])
    assert set(body["totals"]) == {"reported", "by_status", "by_measure"}
    assert set(body["mediation"]) == {"escalated", "by_reason", "outcomes", "median_days"}
    for entry in body["platforms"]:
        check_entry(entry)
    for entry in body["categories"]:
        assert set(entry) == {
            "category",
            "cases",
            "by_platform",
            "outcomes",
            "median_days_to_resolution",
        }


def check_entry(entry: dict[str, Any]) -> None:
    assert set(entry) == ENTRY_FIELDS, entry
    for name in ("cases", "sent", "answered", "answered_on_time", "silent", "escalated",
                 "acknowledged", "answered_after_reminder", "reminders_sent",
                 "statement_of_reasons_missing", "statement_of_reasons_partly"):  # fmt: skip
        assert type(entry[name]) is int, name
    for name in RATES:
        assert set(entry[name]) == {"numerator", "denominator", "value"}
        assert entry[name]["denominator"] == entry["sent"]
    # Answered after a reminder: a share of the cases answered.
    assert set(entry["after_reminder_rate"]) == {"numerator", "denominator", "value"}
    assert entry["after_reminder_rate"]["denominator"] == entry["answered"]
    assert sum(entry["by_measure"].values()) == entry["cases"]


def statistics_body(http: TestClient, **params: Any) -> dict[str, Any]:
    body = get_json(http, "/statistics", **params)
    check_shape(body)
    return body


def without_position(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "position"}


@pytest.mark.parametrize("role", ["caseworker", "auditor", "analyst"])
def test_caseworkers_auditors_and_analysts_read_the_statistics(http: TestClient, role: str) -> None:
    flow = HttpWorkflow(http, SettableClock(START))
    flow.report("amazon.fr", None)
    for path in ENDPOINTS:
        answer = http.get(path, params={"min_position": flow.position}, headers=auth(role))
        assert answer.status_code == 200, (path, answer.text)


@pytest.mark.parametrize("role", ["reporter", "dpo"])
def test_reporters_and_dpos_may_not_read_the_statistics(http: TestClient, role: str) -> None:
    for path in [*ENDPOINTS, "/statistics/platforms/unknown"]:
        assert_problem(http.get(path, headers=auth(role)), 403)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-known-token"}, {"Authorization": "Basic abc"}],
)
def test_the_statistics_need_a_known_token(http: TestClient, headers: dict[str, str]) -> None:
    for path in ENDPOINTS:
        assert_problem(http.get(path, headers=headers), 401)


def test_min_position_gives_figures_that_reflect_a_command(
    http: TestClient, clock: SettableClock
) -> None:
    empty = statistics_body(http)
    assert empty["totals"]["reported"] == 0
    assert empty["platforms"] == []
    assert empty["as_of"] == TODAY.isoformat()  # default: the service's today

    flow = HttpWorkflow(http, clock)
    case = flow.report("Amazon Marketplace", Category.DELISTING)
    body = statistics_body(http, min_position=flow.position)
    assert body["totals"]["reported"] == 1
    (entry,) = body["platforms"]
    assert (entry["platform"], entry["cases"], entry["by_category"]) == (
        "amazon",
        1,
        {"delisting": 1},
    )

    flow.act(case, "qualify", category=Category.RANKING, priority=Priority.URGENT)
    body = statistics_body(http, min_position=flow.position)
    assert canonical(body["platforms"][0]["by_category"], "by_category") == {"ranking": 1}
    assert [c["category"] for c in body["categories"]] == ["ranking"]

    clock.advance(timedelta(days=1))
    flow.act(case, "send")
    due = case.sends[0][1]
    assert due == TODAY + timedelta(days=6)  # sent a day later, urgent: 5 days
    entry = get_json(http, "/statistics/platforms/amazon", min_position=flow.position)
    assert entry["sent"] == 1
    assert entry["silent"] == 0
    # as_of decides what is silent: past the due date, not on it.
    for as_of, silent in ((due, 0), (due + timedelta(days=1), 1)):
        entry = get_json(http, "/statistics/platforms/amazon", as_of=as_of.isoformat())
        assert entry["silent"] == silent, as_of
        assert entry["silence_rate"] == {"numerator": silent, "denominator": 1, "value": silent}
    # And by default it is the service's today.
    clock.set(datetime.combine(due + timedelta(days=1), datetime.min.time(), UTC))
    entry = get_json(http, "/statistics/platforms/amazon")
    assert entry["silent"] == 1
    assert entry["as_of"] == (due + timedelta(days=1)).isoformat()

    flow.act(case, "respond", stance=Stance.REFUSED, responded_on=due)
    entry = get_json(http, "/statistics/platforms/amazon", min_position=flow.position)
    assert (entry["answered"], entry["answered_on_time"], entry["silent"]) == (1, 1, 0)
    assert entry["median_days_to_first_answer"] == 5
    annual_body = get_json(http, "/statistics/annual/2026", min_position=flow.position)
    assert annual_body["platforms"][0]["cases"] == 1
    export = http.get(
        "/statistics/export.csv", params={"min_position": flow.position}, headers=auth("analyst")
    )
    assert export.status_code == 200
    assert int(export.headers["X-Position"]) >= flow.position


def test_the_figures_over_http_are_those_of_the_reference(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    cases = run_scenario(flow)
    first_day = cases["a"].reported_on
    body = statistics_body(http, min_position=flow.position)
    assert body["position"] >= flow.position
    assert_same_figures(
        without_position(body),
        published(expected_statistics(flow.records, None, None, flow.today())),
        "GET",
    )
    # A few figures worked out by hand, so the reference cannot be wrong the same way.
    by_platform = {e["platform"]: e for e in body["platforms"]}
    amazon = by_platform["amazon"]
    assert (amazon["cases"], amazon["sent"], amazon["answered"]) == (3, 2, 2)
    assert amazon["answered_on_time"] == 2  # a on day 2 (due 16), b on day 4 (due 6)
    assert amazon["median_days_to_first_answer"] == 2  # a: 1 day, b: 3 days
    assert amazon["p90_days_to_first_answer"] == pytest.approx(2.8)
    assert amazon["escalation_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert canonical(amazon["by_category"], "by_category") == {
        "delisting": 1,
        "terms_change": 1,
        "unqualified": 1,
    }
    assert amazon["median_days_to_resolution"] == 20  # a: 19 days, b: 21 days
    ebay = by_platform["ebay"]
    assert (ebay["answered"], ebay["answered_on_time"], ebay["silent"]) == (1, 0, 0)
    assert ebay["median_days_to_first_answer"] == 19  # sent day 1, answered on day 20
    assert by_platform["fnac_darty"]["silent"] == 1  # e: escalated for no_response
    assert body["mediation"]["escalated"] == 4
    assert body["mediation"]["median_days"] == pytest.approx(4.5)  # b: 2 days, e: 7 days
    cdiscount = by_platform["cdiscount"]
    assert canonical(cdiscount["outcomes"], "outcomes") == {"withdrawn": 1}
    # The platform in the loop, and the measures.
    fnac = by_platform["fnac_darty"]
    assert [e["acknowledged"] for e in (amazon, cdiscount, ebay, fnac)] == [1, 1, 1, 0]
    assert amazon["acknowledgement_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert amazon["median_days_to_acknowledgement"] == 3  # a: sent day 1, acknowledged day 4
    assert ebay["median_days_to_acknowledgement"] == 20  # d: acknowledged on day 21
    assert fnac["median_days_to_acknowledgement"] is None
    assert amazon["answered_after_reminder"] == 1  # b: reminded and answered on day 4
    assert amazon["after_reminder_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert cdiscount["after_reminder_rate"]["value"] == 1  # c: reminded, then answered day 14
    assert ebay["answered_after_reminder"] == 0  # d: answered on day 20, reminded on day 21
    assert fnac["after_reminder_rate"] == {"numerator": 0, "denominator": 0, "value": None}
    assert [e["reminders_sent"] for e in (amazon, cdiscount, ebay, fnac)] == [1, 1, 2, 2]
    assert canonical(amazon["by_measure"], "by_measure") == {
        "delisting": 1,  # a: as stated, kept when qualified
        "terms_change": 1,  # b: as established, over the suspension stated
        "unstated": 1,
    }
    assert canonical(body["totals"]["by_measure"], "by_measure") == {
        "delisting": 1, "terms_change": 2, "funds_withheld": 1, "termination": 1, "other": 1,
        "unstated": 3,
    }  # fmt: skip
    assert amazon["statement_of_reasons_missing"] == 1  # a; b's "partly" was established given
    assert cdiscount["statement_of_reasons_missing"] == 2  # c established, f stated
    assert (fnac["statement_of_reasons_missing"], fnac["statement_of_reasons_partly"]) == (0, 1)

    # Periods (inclusive, on the day reported) and as_of.
    later = first_day + timedelta(days=30)
    for params in (
        {"from": first_day.isoformat(), "to": first_day.isoformat()},
        {"from": later.isoformat()},
        {"to": later.isoformat()},
        {"from": (later + timedelta(days=1)).isoformat(), "as_of": "2026-03-20"},
        {"from": "2027-01-01"},
        {"as_of": (first_day + timedelta(days=17)).isoformat()},
    ):
        got = statistics_body(http, **params)
        first = date.fromisoformat(params["from"]) if "from" in params else None
        last = date.fromisoformat(params["to"]) if "to" in params else None
        as_of = date.fromisoformat(params.get("as_of", flow.today().isoformat()))
        expected = published(expected_statistics(flow.records, first, last, as_of))
        assert_same_figures(without_position(got), expected, params)
        for entry in expected["platforms"]:
            one = get_json(http, f"/statistics/platforms/{entry['platform']}", **params)
            assert one["as_of"] == as_of.isoformat()
            check_entry({k: v for k, v in one.items() if k not in ("position", "as_of")})
            assert_same_figures(
                {k: v for k, v in one.items() if k not in ("position", "as_of")}, entry, params
            )

    annual_body = get_json(http, "/statistics/annual/2026")
    assert set(annual_body) == {"position", "year", "platforms"}
    assert annual_body["year"] == 2026
    assert_annual(annual_body["platforms"], flow.records, 2026, as_published=True)
    assert get_json(http, "/statistics/annual/2025")["platforms"] == []


def test_erasure_over_http_changes_no_figure(http: TestClient, clock: SettableClock) -> None:
    flow = HttpWorkflow(http, clock)
    cases = run_scenario(flow)
    params = [{}, {"as_of": "2026-03-10"}, {"from": TODAY.isoformat(), "to": TODAY.isoformat()}]
    before = [
        without_position(statistics_body(http, min_position=flow.position, **p)) for p in params
    ]
    annual_before = without_position(get_json(http, "/statistics/annual/2026"))
    csv_before = http.get("/statistics/export.csv", headers=auth("analyst")).text
    for name in "abcdefghi":
        assert flow.act(cases[name], "erase")
    after = [
        without_position(statistics_body(http, min_position=flow.position, **p)) for p in params
    ]
    assert after == before
    assert without_position(get_json(http, "/statistics/annual/2026")) == annual_before
    assert http.get("/statistics/export.csv", headers=auth("analyst")).text == csv_before
    assert get_json(http, "/statistics")["position"] >= flow.position


def test_a_min_position_not_reached_in_time_answers_503_with_retry_after(
    impatient_http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(impatient_http, clock)
    flow.report("eBay", None)
    paths = [*ENDPOINTS[:1], *ENDPOINTS[2:], "/statistics/platforms/ebay"]
    for path in paths:
        answer = impatient_http.get(
            path, params={"min_position": flow.position}, headers=auth("analyst")
        )
        body = assert_problem(answer, 503)
        assert body["type"].endswith("/problems/read-model-behind")
        assert int(answer.headers["Retry-After"]) >= 1
    # Once the read models have caught up, the same reads answer.
    impatient_http.app.state.runner.catch_up()  # type: ignore[attr-defined]
    for path in paths:
        reached = impatient_http.get(
            path, params={"min_position": flow.position}, headers=auth("analyst")
        )
        assert reached.status_code == 200, (path, reached.text)


def test_a_min_position_beyond_the_log_is_a_422_naming_the_head(
    impatient_http: TestClient, clock: SettableClock
) -> None:
    """No event has that position yet: nothing to wait for (a wait would end in a 503)."""
    flow = HttpWorkflow(impatient_http, clock)
    flow.report("eBay", None)
    for path in ENDPOINTS:
        answer = impatient_http.get(
            path, params={"min_position": flow.position + 1}, headers=auth("analyst")
        )
        body = assert_problem(answer, 422)
        assert body["type"].endswith("/problems/invalid-request")
        assert body["errors"] == [
            {"field": "min_position", "in": "query", "message": body["detail"]}
        ]
        assert f"head ({flow.position})" in body["detail"]


def test_an_unknown_platform_is_a_404_problem(http: TestClient) -> None:
    flow = HttpWorkflow(http, SettableClock(START))
    flow.report("eBay", None)
    get_json(http, "/statistics/platforms/ebay", min_position=flow.position)
    for platform in ("amazon", "no-such-platform"):
        answer = http.get(f"/statistics/platforms/{platform}", headers=auth("analyst"))
        body = assert_problem(answer, 404)
        assert body["type"].endswith("/problems/not-found")
    # A platform with no case in the period is unknown there too.
    answer = http.get(
        "/statistics/platforms/ebay", params={"from": "2027-01-01"}, headers=auth("analyst")
    )
    assert_problem(answer, 404)


def test_the_annual_figures_have_the_shape_of_art_11(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    run_scenario(flow)
    body = get_json(http, "/statistics/annual/2026", min_position=flow.position)
    assert set(body) == {"position", "year", "platforms"}
    assert body["year"] == 2026
    assert [e["platform"] for e in body["platforms"]] != []
    for entry in body["platforms"]:
        assert set(entry) == {
            "platform",
            "cases",
            "main_categories",
            "average_days_to_resolution",
            "outcomes",
        }
        assert 1 <= len(entry["main_categories"]) <= 3
        for main in entry["main_categories"]:
            assert set(main) == {"category", "cases"}
        counts = [m["cases"] for m in entry["main_categories"]]
        assert counts == sorted(counts, reverse=True)
    by_platform = {e["platform"]: e for e in body["platforms"]}
    assert by_platform["amazon"]["average_days_to_resolution"] == 20  # 19 and 21 days
    assert by_platform["amazon"]["cases"] == 3
    assert by_platform["ebay"]["average_days_to_resolution"] == 0  # h: inadmissible at once
    assert by_platform["cdiscount"]["outcomes"] == {"withdrawn": 1}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/statistics", {"from": "2026-03-05", "to": "2026-03-04"}),
        ("/statistics/platforms/amazon", {"from": "2026-03-05", "to": "2026-03-04"}),
        ("/statistics/export.csv", {"from": "2026-03-05", "to": "2026-03-04"}),
        ("/statistics", {"from": "2026-13-01"}),
        ("/statistics", {"to": "02/03/2026"}),
        ("/statistics", {"as_of": "soon"}),
        ("/statistics", {"as_of": "2026-02-30"}),
        ("/statistics", {"from": ""}),
        ("/statistics", {"min_position": -1}),
        ("/statistics/platforms/amazon", {"to": "tomorrow"}),
        ("/statistics/export.csv", {"as_of": "2026-3-2x"}),
        ("/statistics/export.csv", {"lang": "de"}),
        ("/statistics/export.csv", {"lang": ""}),
        ("/statistics/export.csv", {"table": "both"}),
        ("/statistics/annual/twenty", {}),
    ],
)
def test_an_invalid_query_is_a_422_problem(
    http: TestClient, path: str, params: dict[str, Any]
) -> None:
    HttpWorkflow(http, SettableClock(START)).report("Amazon Marketplace", None)
    body = assert_problem(http.get(path, params=params, headers=auth("analyst")), 422)
    assert body["type"].endswith("/problems/invalid-request")


def test_a_one_day_period_is_accepted(http: TestClient) -> None:
    flow = HttpWorkflow(http, SettableClock(START))
    flow.report("Amazon Marketplace", None)
    day = TODAY.isoformat()
    body = statistics_body(http, min_position=flow.position, **{"from": day, "to": day})
    assert body["totals"]["reported"] == 1


DISPLAY_NAMES = {
    "amazon": "Amazon",
    "cdiscount": "Cdiscount",
    "ebay": "eBay",
    "fnac_darty": "Fnac Darty",
}
"""How the figures name the platforms of RAW_PLATFORMS."""

FRENCH_CATEGORIES = {
    "delisting": "Déréférencement d'offres",
    "account_suspension": "Suspension de compte",
    "account_termination": "Résiliation de compte",
    "missing_statement_of_reasons": "Motivation absente ou insuffisante",
    "ranking": "Rétrogradation, classement",
    "terms_change": "Modification des CGU sans préavis",
    "funds_withheld": "Fonds bloqués",
    "unreachable_support": "Service client injoignable",
    "counterfeit_ip": "Contrefaçon, propriété intellectuelle",
    "self_preferencing": "Traitement différencié",
    "data_access": "Accès aux données",
    "unfair_terms_fees": "Clauses et frais déséquilibrés",
    "technical_failure": "Problème technique",
    "other": "Autre",
}
"""DOMAIN.md's problem categories, in its order, with their French names."""

BOM = "\ufeff"
WRITTEN_BY_REPORTERS = ("Amazon Marketplace", "amazon.fr", "Société")
"""What the scenarios' reporters wrote that names no platform as the figures do."""


def read_csv(http: TestClient, lang: str, **params: Any) -> tuple[list[str], list[list[str]], Any]:
    """The header, the rows and the answer of an export, read as a spreadsheet would: in French
    `;` between fields after a byte order mark, in English `,` and no mark."""
    answer = http.get(
        "/statistics/export.csv", params={**params, "lang": lang}, headers=auth("analyst")
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    text = answer.content.decode("utf-8")
    assert text.startswith(BOM) == (lang == "fr"), text[:20]
    for written in WRITTEN_BY_REPORTERS:
        assert written not in text, written
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=CSV_DELIMITERS[lang]))
    assert all(len(row) == len(rows[0]) for row in rows), rows
    return rows[0], rows[1:], answer


CSV_DELIMITERS = {"fr": ";", "en": ","}


def file_name(answer: Any) -> str:
    found = re.fullmatch(r'attachment; filename="([^"/]+)"', answer.headers["content-disposition"])
    assert found, answer.headers["content-disposition"]
    return found.group(1)


def number(cell: str, lang: str) -> float | None:
    """A cell as a number: a decimal comma in French, a point in English; empty is none."""
    if cell == "":
        return None
    assert ("." if lang == "fr" else ",") not in cell, cell
    return float(cell.replace(",", ".") if lang == "fr" else cell)


def column_value(entry: dict[str, Any], header: str) -> Any:
    """The figure of a platform entry an English CSV header names."""
    if header == "platform_name":
        return DISPLAY_NAMES[entry["platform"]]
    if header == "sent_to_platform":
        header = "sent"
    if header in entry:
        value = entry[header]
        return value["value"] if isinstance(value, dict) and "value" in value else value
    outcome = header.removeprefix("outcome_")
    if outcome in OUTCOME_KEYS:
        return entry["outcomes"].get(outcome, 0)
    measure = header.removeprefix("measure_")
    if measure in MEASURE_KEYS:
        return entry["by_measure"].get(measure, 0)
    raise AssertionError(f"a CSV column names no figure of the platform entry: {header}")


def uneven(flow: Workflow) -> None:
    """Two more eBay cases, so that its figures are no round numbers: two of its three cases
    sent answered (2/3), resolutions after 0, 1 and 3 days (an average of 4/3)."""
    clock = flow.clock
    cases = [flow.report("eBay", Category.RANKING) for _ in range(2)]
    for case in cases:
        flow.act(case, "qualify", category=Category.RANKING, priority=Priority.NORMAL)
        flow.act(case, "send")
    clock.advance(timedelta(days=1))
    flow.act(cases[0], "respond", stance=Stance.ACCEPTED)
    flow.act(cases[0], "resolve", outcome=Outcome.RESOLVED)
    clock.advance(timedelta(days=2))
    flow.act(cases[1], "resolve", outcome=Outcome.WITHDRAWN)


def test_the_csv_export_has_a_row_per_platform_with_the_figures_of_get_statistics(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    run_scenario(flow)
    uneven(flow)
    first_day = min(r.reported_on for r in flow.records).isoformat()
    today = flow.today().isoformat()
    for params in (
        {},
        {"as_of": "2026-03-05"},
        {"from": "2026-03-03", "to": "2026-03-31"},
        {"to": "2026-03-31"},
        {"from": "2027-01-01"},
    ):
        body = statistics_body(http, min_position=flow.position, **params)
        english, rows, answer = read_csv(http, "en", **params)
        french, french_rows, french_answer = read_csv(http, "fr", **params)
        assert int(answer.headers["X-Position"]) >= flow.position
        # The period in the file's name: the days asked for, by default the first day a case
        # was reported and today.
        period = f"{params.get('from', first_day)}_{params.get('to', today)}"
        assert file_name(answer) == f"statistics-{period}.csv"
        assert file_name(french_answer) == f"statistiques-{period}.csv"

        assert len(set(english)) == len(english)
        assert len(french) == len(english)
        assert set(french).isdisjoint(english), set(french) & set(english)
        assert french[:3] == ["plateforme", "clé_plateforme", "dossiers"]
        # One row per platform, as many in French, in the order of GET /statistics.
        entries = {e["platform"]: e for e in body["platforms"]}
        assert [r[english.index("platform")] for r in rows] == list(entries), params
        assert len(french_rows) == len(rows)
        for row, french_row in zip(rows, french_rows, strict=True):
            entry = entries[row[english.index("platform")]]
            for header, cell, french_cell in zip(english, row, french_row, strict=True):
                value = column_value(entry, header)
                if isinstance(value, str):
                    assert cell == french_cell == value, (header, cell, french_cell)
                else:
                    got = (number(cell, "en"), number(french_cell, "fr"))
                    assert got == (value, value), (params, entry["platform"], header, got, value)
        # Every figure of the entry (but the by_* breakdowns) is a column.
        named = {"sent" if h == "sent_to_platform" else h for h in english}
        scalars = ENTRY_FIELDS - {"by_category", "by_status", "outcomes", "by_measure"}
        assert scalars <= named, scalars - named
        assert {f"outcome_{o}" for o in OUTCOME_KEYS} <= set(english)
        assert {f"measure_{m}" for m in MEASURE_KEYS} <= set(english)
        # English is the default.
        plain = http.get("/statistics/export.csv", params=params, headers=auth("analyst"))
        assert plain.content == answer.content
    assert read_csv(http, "fr", **{"from": "2027-01-01"})[1] == []


def test_the_csv_export_has_a_table_of_cases_per_platform_and_category(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    run_scenario(flow)
    first_day = min(r.reported_on for r in flow.records).isoformat()
    body = statistics_body(http, min_position=flow.position)
    entries = {e["platform"]: e for e in body["platforms"]}
    categories = [*FRENCH_CATEGORIES, UNQUALIFIED]
    tables = {}
    names = {"en": "statistics-platforms-categories", "fr": "statistiques-plateformes-categories"}
    for lang, name in names.items():
        header, rows, answer = read_csv(http, lang, table="platform-category")
        assert file_name(answer) == f"{name}-{first_day}_{flow.today().isoformat()}.csv"
        tables[lang] = (header, rows)
    header, rows = tables["en"]
    assert header == ["platform_name", "platform", *categories, "cases"]
    french, french_rows = tables["fr"]
    assert french == [
        "plateforme", "clé_plateforme", *FRENCH_CATEGORIES.values(), "Non qualifié", "dossiers"
    ]  # fmt: skip
    assert french_rows == rows  # counts and names: nothing to translate
    assert [r[1] for r in rows] == list(entries)
    for row in rows:
        entry = entries[row[1]]
        assert row[0] == DISPLAY_NAMES[entry["platform"]]
        counts = dict(zip(categories, map(int, row[2:-1]), strict=True))
        assert {c: n for c, n in counts.items() if n} == canonical(
            entry["by_category"], "by_category"
        )
        assert int(row[-1]) == entry["cases"] == sum(counts.values())


def decimal_figures(answer: Any, name: str = "") -> Iterator[tuple[str, float]]:
    """Every float of an answer, with the name of the field that holds it."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            yield from decimal_figures(value, key)
    elif isinstance(answer, list):
        for value in answer:
            yield from decimal_figures(value, name)
    elif isinstance(answer, float):
        yield name, answer


def test_no_figure_is_published_with_more_decimals_than_its_precision(
    http: TestClient, clock: SettableClock
) -> None:
    flow = HttpWorkflow(http, clock)
    run_scenario(flow)
    uneven(flow)
    answers: list[Any] = []
    for params in ({}, {"as_of": "2026-03-05"}, {"from": "2026-03-03"}):
        body = statistics_body(http, min_position=flow.position, **params)
        answers.append(body)
        answers += [get_json(http, f"/statistics/platforms/{e['platform']}", **params)
                    for e in body["platforms"]]  # fmt: skip
    answers.append(get_json(http, "/statistics/annual/2026"))
    found = [figure for answer in answers for figure in decimal_figures(answer)]
    assert {name for name, _ in found} >= {"value", "median_days_to_first_answer",
        "p90_days_to_first_answer", "median_days_to_resolution", "median_days",
        "average_days_to_resolution"}  # fmt: skip
    for name, value in found:
        decimals = decimals_of(name)
        assert decimals is not None, f"{name}: {value} is published with no set precision"
        assert value == round(value, decimals), (name, value)
    # Figures that needed rounding (a p90 of whole days has one decimal at most: only the
    # floats' noise, as 2.8000000000000003, is rounded away).
    exact = [
        *decimal_figures(expected_statistics(flow.records, None, None, flow.today())),
        *decimal_figures(expected_annual(flow.records, 2026)),
    ]
    rounded = [name for name, v in exact if round(v, decimals_of(name) or 0) != v]
    assert {"value", "average_days_to_resolution"} <= set(rounded)


def test_the_openapi_document_describes_the_statistics_answers(http: TestClient) -> None:
    document = http.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            return resolved(schemas[schema["$ref"].rsplit("/", 1)[1]])
        if "items" in schema:
            return resolved(schema["items"])
        return schema

    def answer(path: str) -> dict[str, Any]:
        ok = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        return resolved(ok["schema"])

    everything = answer("/statistics")
    assert set(everything["properties"]) == {
        "position", "as_of", "totals", "platforms", "categories", "mediation"
    }  # fmt: skip
    platform = resolved(everything["properties"]["platforms"])
    assert set(platform["properties"]) == ENTRY_FIELDS
    assert set(answer("/statistics/platforms/{platform}")["properties"]) == ENTRY_FIELDS | {
        "position",
        "as_of",
    }
    rate = resolved(platform["properties"]["answer_rate"])
    assert set(rate["properties"]) == {"numerator", "denominator", "value"}
    assert "4 decimals" in rate["properties"]["value"]["description"]
    assert "1 decimal" in platform["properties"]["median_days_to_resolution"]["description"]
    annual_platform = resolved(answer("/statistics/annual/{year}")["properties"]["platforms"])
    assert set(annual_platform["properties"]) == {
        "platform", "cases", "main_categories", "average_days_to_resolution", "outcomes"
    }  # fmt: skip


def test_a_platform_is_found_by_any_of_its_names(http: TestClient) -> None:
    answer = http.post("/cases", json=report_body(platform="amazon.fr"), headers=auth("reporter"))
    assert answer.status_code == 201
    position = answer.json()["position"]
    entries = [
        http.get(
            f"/statistics/platforms/{name}",
            params={"min_position": position},
            headers=auth("analyst"),
        )
        for name in ("amazon", "Amazon Marketplace", "amazon.fr")
    ]
    assert [e.status_code for e in entries] == [200, 200, 200]
    assert {e.json()["platform"] for e in entries} == {"amazon"}
    assert all(e.json()["cases"] == 1 for e in entries)
