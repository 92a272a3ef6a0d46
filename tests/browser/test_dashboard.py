"""The ministry's dashboard in a real browser: an analyst opens it, applies a filter, and reads
the figures GET /statistics answers for the same filters; the dashboard and the annual report
pass axe-core's check."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from application.access import Role
from application.accounts import StaffAccounts
from application.mediation import MediationApplication
from domain.values import Category
from domain.values import Priority
from tests.browser.conftest import Site
from tests.browser.conftest import assert_accessible
from tests.browser.screenshots import keep_screenshot
from tests.browser.test_console import PASSWORD
from tests.browser.test_console import sign_in
from tests.conftest import auth
from tests.statistics_workflows import AppWorkflow
from tests.statistics_workflows import run_scenario

SPACES = re.compile(r"[\s\u00a0\u202f]+")


def statistics(site: Site, **params: Any) -> dict[str, Any]:
    answer = httpx.get(f"{site.url}/statistics", params=params, headers=auth("analyst"))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def cases(site: Site) -> AppWorkflow:
    """The statistics' scenario, and eleven more Amazon cases sent a month later; returns once
    the read models reflect them all."""
    mediation: MediationApplication = site.app.state.mediation
    work = AppWorkflow(mediation, site.clock)
    run_scenario(work)
    site.clock.advance(timedelta(days=30))
    for _ in range(11):
        record = work.report("amazon.fr", Category.DELISTING)
        work.act(record, "qualify", category=Category.DELISTING, priority=Priority.NORMAL)
        work.act(record, "send")
    site.clock.advance(timedelta(days=20))
    statistics(site, min_position=work.position)
    return work


def sign_in_as_analyst(page: Page, site: Site, then: str) -> None:
    """An analyst's account, made as `mediation users add` makes it; signed in from the page
    asked for, which the sign-in leads back to."""
    accounts: StaffAccounts = site.app.state.accounts
    accounts.add("anna", Role.ANALYST, PASSWORD, by="test")
    sign_in(page, "anna", then=then)


def platform_rows(page: Page) -> dict[str, list[int]]:
    """The table "How each platform answers": per platform key, its counts (the columns that
    hold whole numbers)."""
    found = {}
    for row in page.locator("#platforms-table tbody tr").all():
        key = row.locator("th").get_attribute("data-platform")
        cells = [SPACES.sub("", c) for c in row.locator("td").all_inner_texts()]
        found[str(key)] = [int(cells[i]) for i in (0, 1, 2, 3, 5, 7, 8, 9, 10)]
    return found


def expected_rows(answer: dict[str, Any]) -> dict[str, list[int]]:
    return {
        p["platform"]: [
            p["cases"],
            p["sent"],
            p["answered"],
            p["answered_on_time"],
            p["silent"],
            p["escalated"],
            p["by_status"].get("resolved", 0),
            p["acknowledged"],
            p["statement_of_reasons_missing"],
        ]
        for p in answer["platforms"]
    }


def test_an_analyst_filters_the_dashboard_and_reads_the_api_s_figures(
    page: Page, site: Site, cases: AppWorkflow, console_errors: list[str]
) -> None:
    sign_in_as_analyst(page, site, then="/tableau-de-bord")

    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
    assert platform_rows(page) == expected_rows(statistics(site))
    assert_accessible(page)

    page.get_by_label("Signalés à partir du").fill("2026-03-01")
    page.get_by_label("Signalés jusqu'au").fill("2026-03-31")
    page.get_by_label("Plateforme", exact=True).select_option("amazon")
    page.get_by_role("button", name="Afficher les chiffres").click()

    expect(page).to_have_url(re.compile(r"platform=amazon"))
    march = statistics(site, **{"from": "2026-03-01", "to": "2026-03-31"})
    amazon = {k: v for k, v in expected_rows(march).items() if k == "amazon"}
    assert platform_rows(page) == amazon
    silence = page.locator("#silence-table tbody tr td").all_inner_texts()
    (entry,) = [p for p in march["platforms"] if p["platform"] == "amazon"]
    assert [SPACES.sub("", c) for c in silence[:2]] == [str(entry["silent"]), str(entry["sent"])]
    assert_accessible(page)
    assert console_errors == []

    page.goto("/tableau-de-bord")
    keep_screenshot(page, "dashboard")


def test_the_annual_report_is_accessible_and_printable(
    page: Page, site: Site, cases: AppWorkflow
) -> None:
    sign_in_as_analyst(page, site, then="/tableau-de-bord/rapport-annuel?year=2026")
    page.goto("/en/dashboard/annual-report?year=2026")

    expect(page.get_by_role("heading", level=1)).to_have_text("Annual report 2026")
    annual = httpx.get(f"{site.url}/statistics/annual/2026", headers=auth("analyst")).json()
    keys = page.locator("#annual-table tbody th").evaluate_all(
        "cells => cells.map(c => c.dataset.platform)"
    )
    assert keys == [p["platform"] for p in annual["platforms"]]
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("nav")).to_be_hidden()
    border = page.locator("#annual-table td").first.evaluate(
        "cell => getComputedStyle(cell).borderTopStyle"
    )
    assert border == "solid"
