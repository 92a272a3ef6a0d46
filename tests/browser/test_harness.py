"""The harness itself: a page reaches no other host, and a phone is a phone."""

from __future__ import annotations

from playwright.sync_api import Page


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
