"""The harness itself: a page reaches no other host, a phone is a phone, and a screenshot for
the documentation is kept only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser import screenshots
from tests.browser.screenshots import keep_screenshot


def test_a_request_to_another_host_is_aborted_and_recorded(
    page: Page, offsite_requests: list[str]
) -> None:
    # A page without the service's Content-Security-Policy, which would refuse it first.
    page.set_content('<img src="http://example.invalid/x.png" alt="">')

    assert page.evaluate("() => document.images[0].complete && !document.images[0].naturalWidth")
    assert offsite_requests == ["GET http://example.invalid/x.png"]
    offsite_requests.clear()  # seen: otherwise the fixture fails the test, as it should


def test_the_phone_is_a_small_touch_screen(phone: Page) -> None:
    phone.goto("/docs")

    assert phone.viewport_size == {"width": 390, "height": 844}
    assert phone.evaluate("() => window.innerWidth") == 390
    assert phone.evaluate("() => matchMedia('(pointer: coarse)').matches")


def test_a_screenshot_is_kept_only_when_asked(
    page: Page, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(screenshots, "SCREENSHOTS", tmp_path / "screenshots")
    page.set_content("<h1>A page</h1>")

    monkeypatch.delenv("MEDIATION_SCREENSHOTS", raising=False)
    assert keep_screenshot(page, "a-page") is None
    assert not (tmp_path / "screenshots").exists()

    monkeypatch.setenv("MEDIATION_SCREENSHOTS", "1")
    kept = keep_screenshot(page, "a-page")
    assert kept == tmp_path / "screenshots" / "a-page.png"
    assert kept.read_bytes()[16:24] == (1280).to_bytes(4, "big") + (800).to_bytes(4, "big")
    with pytest.raises(ValueError, match="lower-case"):
        keep_screenshot(page, "../README")
