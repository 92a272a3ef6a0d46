"""The interactive documentation in a real browser, which may reach no other host: /docs
(Swagger UI) and /redoc (ReDoc) load their scripts, styles and the contract from the service
itself and list its operations."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import Site
from tests.browser.conftest import assert_accessible

REDOC_LOGO_REFUSED = (
    "console: Loading the image 'https://cdn.redoc.ly/redoc/logo-mini.svg' violates the"
    " following Content Security Policy directive: \"img-src 'self' data:\"."
    " The action has been blocked."
)
"""ReDoc's sidebar always shows Redocly's logo from its CDN ("API docs by Redocly"): the page's
Content-Security-Policy refuses it before any request leaves, and the console says so."""

PAGES = {
    # path: (the report_case operation, every operation, the console's errors)
    "/docs": ("#operations-cases-report_case", ".opblock", []),
    "/redoc": (
        '[data-section-id="tag/cases/operation/report_case"]',
        '[data-section-id*="/operation/"]',
        [REDOC_LOGO_REFUSED],
    ),
}


@pytest.mark.parametrize("path", PAGES)
def test_the_documentation_lists_every_operation_offline(
    page: Page, site: Site, offsite_requests: list[str], console_errors: list[str], path: str
) -> None:
    report_case, every_operation, errors = PAGES[path]
    operations = sum(len(methods) for methods in site.app.openapi()["paths"].values())

    page.goto(path)

    expect(page.locator(report_case)).to_be_visible()
    expect(page.locator(report_case)).to_contain_text("Report a business's trouble with a platform")
    expect(page.locator(every_operation)).to_have_count(operations)
    assert offsite_requests == []
    assert console_errors == errors


def test_swagger_ui_has_no_serious_accessibility_violation(page: Page) -> None:
    page.goto("/docs")
    expect(page.locator("#operations-cases-report_case")).to_be_visible()

    # Two rules fail on Swagger UI's own stylesheet and markup, not on anything of ours: its
    # colours (the method badges, the version stamp, the links) and its operation summaries
    # (a button holding the copy-path button). The rest of axe-core's rules apply.
    assert_accessible(
        page,
        ignore={
            "color-contrast": "Swagger UI's stylesheet",
            "nested-interactive": "Swagger UI's operation summary: a button in a button",
        },
    )
