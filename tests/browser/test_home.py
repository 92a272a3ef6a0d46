"""The home page in a real browser, in both languages, on a desktop and on a phone: whole,
accessible, and loading nothing from another host."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.browser.screenshots import keep_screenshot


@pytest.mark.parametrize(("path", "language"), [("/", "fr"), ("/en", "en")])
def test_the_home_page_is_accessible(
    page: Page, offsite_requests: list[str], console_errors: list[str], path: str, language: str
) -> None:
    page.goto(path)

    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("main")).to_be_visible()
    assert_accessible(page)
    assert offsite_requests == []
    assert console_errors == []
    keep_screenshot(page, f"home-{language}")


def test_the_home_page_fits_a_phone(phone: Page, console_errors: list[str]) -> None:
    phone.goto("/")

    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(phone)
    assert console_errors == []
    keep_screenshot(phone, "home-phone")
