"""The ministry's dashboard: its figures are GET /statistics's for the same filters, its charts
are named, described and tabulated, small rates are counts, and only analysts and caseworkers
see it. Cases are made through the application's commands (tests/statistics_workflows.py);
every figure the page shows is parsed from its tables and compared with the API's JSON."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient

from application.access import Role
from application.case_statistics import CaseStatistics
from application.clock import SettableClock
from application.mediation import MediationApplication
from domain.values import Category
from domain.values import Outcome
from domain.values import Priority
from domain.values import Stance
from tests.conftest import auth
from tests.statistics_oracle import expected_platform_entry
from tests.statistics_oracle import in_period
from tests.statistics_workflows import AppWorkflow
from tests.statistics_workflows import run_scenario
from tests.web.test_console import PASSWORD
from tests.web.test_console import STAFF_ROLES
from tests.web.test_console import accounts_of
from tests.web.test_console import signed_in

SPACES = re.compile(r"[\s\u00a0\u202f]+")


def signed_in_as(http: TestClient, username: str) -> None:
    """Make `username`'s account (its role as tests/web/test_console.py gives it) and sign it
    in through the console's sign-in page."""
    accounts = accounts_of(http)
    if username not in {account.username for account in accounts.accounts()}:
        role, platform = STAFF_ROLES[username]
        accounts.add(username, role, PASSWORD, by="test", platform=platform)
    signed_in(http, username)


@pytest.fixture
def flow(http: TestClient, clock: SettableClock) -> AppWorkflow:
    """The statistics' scenario (four platforms, two months, every figure), then twelve more
    Amazon cases a month later, all sent and some answered: one platform over ten cases sent,
    the others under. The read models have reached the last command when it returns."""
    app: MediationApplication = http.app.state.mediation  # type: ignore[attr-defined]
    work = AppWorkflow(app, clock)
    run_scenario(work)
    clock.advance(timedelta(days=30))
    later = [work.report("amazon.fr", Category.DELISTING) for _ in range(12)]
    for record in later:
        work.act(record, "qualify", category=Category.DELISTING, priority=Priority.NORMAL)
        work.act(record, "send")
    clock.advance(timedelta(days=3))
    for record in later[:7]:
        work.act(record, "respond", stance=Stance.ACCEPTED)
    work.act(later[0], "resolve", outcome=Outcome.RESOLVED)
    clock.advance(timedelta(days=20))
    statistics(http, min_position=work.position)
    signed_in_as(http, "anna")
    return work


def statistics(http: TestClient, path: str = "/statistics", **params: Any) -> dict[str, Any]:
    answer = http.get(path, params=params, headers=auth("analyst"))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


# Reading the page.


def table(page: str, table_id: str) -> dict[str, list[str]]:
    """The rows of a table of the page: its row header's key (data-*) → its cells' texts."""
    found = re.search(rf'<table id="{table_id}".*?</table>', page, re.S)
    assert found, f"no table {table_id}"
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S):
        head = re.search(r'<th scope="row" data-\w+="([^"]+)"', row)
        if head:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            rows[head.group(1)] = [text(cell) for cell in cells]
    return rows


def text(fragment: str) -> str:
    return SPACES.sub(" ", html.unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


def number(cell: str) -> float | None:
    """A number as the page writes it in French or English (None for a dash)."""
    if cell == "—":
        return None
    return float(SPACES.sub("", cell).replace(",", "."))


def rate_shown(cell: str, rate: dict[str, Any]) -> None:
    """A rate cell: a dash without a denominator, the counts with a star under ten cases,
    else the percentage rounded."""
    if rate["denominator"] == 0:
        assert cell == "—"
    elif rate["denominator"] < 10:
        assert cell == f"{rate['numerator']} sur {rate['denominator']} *", cell
    else:
        assert cell.endswith("%"), cell
        assert number(cell[:-1]) == round(rate["value"] * 100), (cell, rate)


def headline(page: str) -> list[str]:
    block = re.search(r'<ul class="figures headline">(.*?)</ul>', page, re.S)
    assert block
    return [text(n) for n in re.findall(r'class="figure__number">(.*?)</span>', block.group(1))]


FILTERS = [
    {},
    {"from": "2026-03-01", "to": "2026-03-31"},
    {"from": "2026-04-01"},
    {"platform": "amazon"},
    {"platform": "cdiscount", "to": "2026-04-15"},
]


@pytest.mark.parametrize("filters", FILTERS)
def test_the_page_shows_the_figures_of_get_statistics(
    http: TestClient, flow: AppWorkflow, filters: dict[str, str]
) -> None:
    page = http.get("/tableau-de-bord", params=filters)
    assert page.status_code == 200, page.text
    period = {k: v for k, v in filters.items() if k in ("from", "to")}
    api = statistics(http, **period)
    platforms = [
        p for p in api["platforms"] if p["platform"] == filters.get("platform", p["platform"])
    ]
    assert platforms

    rows = table(page.text, "platforms-table")
    assert list(rows) == [p["platform"] for p in platforms]
    for p in platforms:
        cells = rows[p["platform"]]
        assert [number(c) for i, c in enumerate(cells) if i != 4] == [
            p["cases"], p["sent"], p["answered"], p["answered_on_time"], p["silent"],
            p["median_days_to_first_answer"], p["escalated"], p["by_status"].get("resolved", 0),
            p["acknowledged"], p["statement_of_reasons_missing"],
        ]  # fmt: skip
        rate_shown(cells[4], p["on_time_rate"])

    silence = table(page.text, "silence-table")
    assert set(silence) == {p["platform"] for p in platforms if p["sent"]}
    for p in platforms:
        if p["sent"]:
            silent, sent, shown = silence[p["platform"]]
            assert (number(silent), number(sent)) == (p["silent"], p["sent"])
            rate_shown(shown, p["silence_rate"])

    categories = table(page.text, "by-category-table")
    key = filters.get("platform")
    assert {k: number(v[0]) for k, v in categories.items()} == {
        c["category"]: c["by_platform"][key] if key else c["cases"]
        for c in api["categories"]
        if not key or key in c["by_platform"]
    }

    outcomes = {k: number(v[0]) for k, v in table(page.text, "outcomes-table").items()}
    for outcome in Outcome:
        assert outcomes[outcome.value] == sum(
            p["outcomes"].get(outcome.value, 0) for p in platforms
        )

    figures = headline(page.text)
    if "platform" in filters:
        (whole,) = platforms
    else:
        # GET /statistics has no figure of every platform together: the reference's (the
        # domain's definitions over the cases as the test made them), its counts the API's sums.
        cases = in_period(flow.records, _day(filters.get("from")), _day(filters.get("to")))
        whole = expected_platform_entry("*", cases, date.fromisoformat(api["as_of"]))
        for name in ("sent", "silent", "answered_on_time", "escalated", "acknowledged",
                     "statement_of_reasons_missing"):  # fmt: skip
            assert whole[name] == sum(p[name] for p in platforms), name
    rate_shown(figures[0], whole["silence_rate"])
    assert number(figures[1]) == sum(p["cases"] for p in platforms)
    assert number(figures[2]) == whole["sent"]
    rate_shown(figures[3], whole["on_time_rate"])
    median = whole["median_days_to_first_answer"]
    assert number(figures[4]) == (None if median is None else round(median, 1))
    assert number(figures[5]) == whole["escalated"]
    assert number(figures[6]) == sum(p["by_status"].get("resolved", 0) for p in platforms)
    assert number(figures[7]) == whole["statement_of_reasons_missing"]
    rate_shown(figures[8], whole["acknowledgement_rate"])


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def test_the_cases_per_month_are_those_of_get_statistics_for_each_month(
    http: TestClient, flow: AppWorkflow
) -> None:
    page = http.get("/tableau-de-bord", params={"to": "2026-05-31", "platform": "amazon"})
    months = table(page.text, "months-table")

    assert len(months) == 12
    assert list(months)[-1] == "2026-05"
    for month, (cases,) in months.items():
        first = date.fromisoformat(month + "-01")
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        api = statistics(http, **{"from": first.isoformat(), "to": last.isoformat()})
        amazon = [p["cases"] for p in api["platforms"] if p["platform"] == "amazon"]
        assert number(cases) == sum(amazon), month
    assert sum(number(c) or 0 for (c,) in months.values()) > 0


def test_a_category_narrows_the_cases_reported_and_says_what_it_does_not_narrow(
    http: TestClient, flow: AppWorkflow
) -> None:
    page = http.get("/tableau-de-bord", params={"category": "delisting"})
    api = statistics(http)
    (delisting,) = [c for c in api["categories"] if c["category"] == "delisting"]

    assert number(headline(page.text)[1]) == delisting["cases"]
    assert list(table(page.text, "by-category-table")) == ["delisting"]
    stacks = table(page.text, "categories-table")
    assert {k: number(v[0]) for k, v in stacks.items()} == {
        p["platform"]: p["by_category"].get("delisting", 0) for p in api["platforms"]
    }
    assert "pas par catégorie" in page.text


def test_a_rate_over_fewer_than_ten_cases_is_shown_as_its_counts_with_a_note(
    http: TestClient, flow: AppWorkflow
) -> None:
    page = http.get("/tableau-de-bord").text
    api = {p["platform"]: p for p in statistics(http)["platforms"]}
    silence = table(page, "silence-table")

    few = [k for k, p in api.items() if 0 < p["sent"] < 10]
    many = [k for k, p in api.items() if p["sent"] >= 10]
    assert few
    assert many
    for key in few:
        rate = api[key]["silence_rate"]
        assert silence[key][2] == f"{rate['numerator']} sur {rate['denominator']} *"
    for key in many:
        assert silence[key][2].endswith("%")
    assert "Moins de 10 dossiers" in page
    assert "rate--few" in page


def test_every_chart_has_a_title_a_description_and_the_table_of_its_numbers(
    http: TestClient, flow: AppWorkflow
) -> None:
    page = http.get("/en/dashboard").text
    charts = re.findall(r"<svg [^>]*>.*?</svg>", page, re.S)

    assert len(charts) == 4
    for chart in charts:
        assert 'role="img"' in chart
        chart_id = re.search(r'id="([\w-]+)"', chart).group(1)  # type: ignore[union-attr]
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in chart
        assert re.search(rf'<title id="{chart_id}-title">[^<]+</title>', chart)
        assert re.search(rf'<desc id="{chart_id}-desc">[^<]+</desc>', chart)
        after = page[page.index(chart) + len(chart) :]
        following = re.search(
            r"<table id=\"[\w-]+\">\s*<caption id=\"[\w-]+\">[^<]+</caption>", after
        )
        assert following, chart_id
        assert after.index("<table") < after.index("<h2"), f"{chart_id}: its table follows it"
        assert '<th scope="col"' in after[: after.index("</table>")]
    assert "<script" not in page


def columns_of_each_table(page: str) -> dict[str, list[int]]:
    """Each table's id → how many cells its header row and each of its rows have."""
    found = {}
    for table_id, body in re.findall(r'<table id="([\w-]+)">(.*?)</table>', page, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        found[table_id] = [len(re.findall(r"<t[hd][ >]", row)) for row in rows]
    return found


@pytest.mark.parametrize("many_categories", [False, True])
def test_every_row_of_every_table_has_a_cell_under_each_heading(
    http: TestClient, clock: SettableClock, many_categories: bool
) -> None:
    app: MediationApplication = http.app.state.mediation  # type: ignore[attr-defined]
    work = AppWorkflow(app, clock)
    if many_categories:
        run_scenario(work)
    else:
        work.report("amazon.fr", Category.DELISTING)
    statistics(http, min_position=work.position)
    signed_in_as(http, "anna")

    for path in ("/en/dashboard", "/en/dashboard?category=delisting"):
        tables = columns_of_each_table(http.get(path).text)
        assert "categories-table" in tables
        for table_id, cells in tables.items():
            assert len(set(cells)) == 1, f"{path} {table_id}: cells per row {cells}"


def test_the_figures_are_written_in_the_page_s_language(
    http: TestClient, flow: AppWorkflow
) -> None:
    french = http.get("/tableau-de-bord").text
    english = http.get("/en/dashboard").text

    assert "Taux de silence" in french
    assert "Silence rate" in english
    assert re.search(r"\d[\u00a0\u202f]%", french), "French writes a space before %"
    assert re.search(r"\d%", english)
    assert "mars 2026" in french
    assert "March 2026" in english


PAGES = ("/tableau-de-bord", "/en/dashboard/annual-report", "/tableau-de-bord/export.csv")


@pytest.mark.parametrize("username", list(STAFF_ROLES))
def test_analysts_and_caseworkers_only_see_the_dashboard(
    http: TestClient, flow: AppWorkflow, username: str
) -> None:
    role, _ = STAFF_ROLES[username]
    signed_in_as(http, username)
    for path in PAGES:
        page = http.get(path, follow_redirects=False)
        if role in (Role.ANALYST, Role.CASEWORKER):
            assert page.status_code == 200, (username, path)
            if path == "/tableau-de-bord":
                menu = re.search(r"<nav .*?</nav>", page.text, re.S).group(0)  # type: ignore[union-attr]
                assert menu.count('href="/tableau-de-bord"') == 1
                assert ('href="/console"' in menu) is (role is Role.CASEWORKER)
                assert f"Connecté\u00a0: {username}" in menu
        else:
            assert page.status_code == 403, (username, path)
            assert "figures-table" not in page.text
            assert "platforms-table" not in page.text


def test_nobody_signed_in_is_sent_to_the_sign_in_page(http: TestClient) -> None:
    for path in PAGES:
        page = http.get(path, params={"platform": "amazon"}, follow_redirects=False)
        assert page.status_code == 303, path
        target = urlsplit(page.headers["location"])
        assert target.path in ("/console/connexion", "/en/console/sign-in")
        assert parse_qs(target.query)["next"] == [f"{path}?platform=amazon"]


def test_nothing_personal_is_on_the_pages(http: TestClient, flow: AppWorkflow) -> None:
    pages = [
        http.get("/tableau-de-bord").text,
        http.get("/en/dashboard", params={"platform": "amazon"}).text,
        http.get("/tableau-de-bord/rapport-annuel", params={"year": "2026"}).text,
    ]
    personal = ["Atelier Dupont", "Société", "Jeanne", "jeanne@", "732829320", "Delisted overnight",
                "Amazon Marketplace", "amazon.fr", "Summary", "Our policy", "alice"]  # fmt: skip
    for page in pages:
        for words in personal:
            assert words not in page


def test_the_annual_report_is_get_statistics_annual(http: TestClient, flow: AppWorkflow) -> None:
    page = http.get("/tableau-de-bord/rapport-annuel", params={"year": "2026"})
    api = statistics(http, "/statistics/annual/2026")

    assert page.status_code == 200
    rows = table(page.text, "annual-table")
    assert list(rows) == [p["platform"] for p in api["platforms"]]
    for entry in api["platforms"]:
        cases, _types, days, *outcomes = rows[entry["platform"]]
        assert number(cases) == entry["cases"]
        average = entry["average_days_to_resolution"]
        assert number(days) == (None if average is None else round(average, 1))
        assert [number(n) for n in outcomes] == [entry["outcomes"].get(o.value, 0) for o in Outcome]
        named = re.findall(
            r'data-category="(\w+)"',
            page.text.split(f'data-platform="{entry["platform"]}"')[1].split("</tr>")[0],
        )
        assert named == [c["category"] for c in entry["main_categories"]]
    assert '<caption id="annual-table-caption">' in page.text
    empty = http.get("/en/dashboard/annual-report", params={"year": "2025"})
    assert "No case was reported in 2025" in empty.text
    assert '<option value="2025" selected>' in empty.text


def test_the_csv_download_is_the_api_s_export_of_the_same_filters(
    http: TestClient, flow: AppWorkflow
) -> None:
    period = {"from": "2026-03-01", "to": "2026-04-30"}
    page = http.get("/tableau-de-bord", params=period).text
    link = html.unescape(re.search(r'href="(/tableau-de-bord/export\.csv[^"]*)"', page).group(1))  # type: ignore[union-attr]
    download = http.get(link)
    api = http.get(
        "/statistics/export.csv", params={**period, "lang": "fr"}, headers=auth("analyst")
    )

    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.text == api.text
    assert download.headers["content-disposition"] == api.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 1 + len(statistics(http, **period)["platforms"])


def test_invalid_filters_are_said_next_to_their_fields(http: TestClient, flow: AppWorkflow) -> None:
    page = http.get(
        "/tableau-de-bord", params={"from": "2026-05-01", "to": "2026-04-01", "category": "x"}
    )

    assert page.status_code == 422
    assert 'class="error-summary"' in page.text
    assert re.search(r'id="to"[^>]*aria-invalid="true"', page.text)
    assert re.search(r'id="category"[^>]*aria-invalid="true"', page.text)
    assert 'value="2026-05-01"' in page.text
    assert "platforms-table" not in page.text


def test_with_no_case_yet_the_page_says_so_and_shows_no_rate(http: TestClient) -> None:
    signed_in_as(http, "anna")
    page = http.get("/tableau-de-bord")

    assert page.status_code == 200
    assert headline(page.text)[0] == "—"
    assert number(headline(page.text)[1]) == 0
    assert "Aucun dossier de cette sélection n'a encore été transmis" in page.text
    assert http.get("/tableau-de-bord/rapport-annuel").status_code == 200


def test_when_the_store_fails_the_page_says_so_with_a_503(
    http: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in_as(http, "anna")

    def fail(*_: Any, **__: Any) -> None:
        raise OperationalError("the database cannot be reached")

    view = http.app.state.runner.view(CaseStatistics.name)  # type: ignore[attr-defined]
    monkeypatch.setattr(view, "counters", fail)
    for path in PAGES:
        page = http.get(path)
        assert page.status_code == 503, path
        assert page.headers["retry-after"].isdigit()
        assert page.headers["content-type"].startswith("text/html")
        assert "OperationalError" not in page.text
