"""The browser tests' harness: the real app served on a loopback port, Chromium driven by
pytest-playwright, pages that may load nothing from another host, axe-core's check, and what a
failed test leaves to look at.

The browser is Debian's Chromium (`MEDIATION_CHROMIUM`, else /usr/bin/chromium, else `chromium`
on the PATH), never one downloaded by `playwright install`; it starts once a session, headless.
Without it browser tests skip with the reason, unless MEDIATION_REQUIRE_BROWSER=1 (set by
.ci/run), which turns the skip into a failure. Every test here is marked `browser`:
`-m "not browser"` leaves them all out.

A page test asks for `page` (desktop, 1280×800) or `phone` (390×844, a mobile browser) and
`site`, the app served for that test on a SQLite file, then on PostgreSQL, at the test clock;
`page.goto("/docs")` is relative to the site. A request to any host but the loopback is aborted
and recorded in `offsite_requests`: the test fails if there is any. When a test fails, the page
(a full-page screenshot, its HTML, its console) is kept under test-artifacts/<test>/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from fastapi import FastAPI
from playwright.sync_api import BrowserContext
from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Page
from playwright.sync_api import Route

from application.clock import SettableClock
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.interfaces.served import served

HERE = Path(__file__).parent
ARTIFACTS = HERE.parents[1] / "test-artifacts"
REQUIRE_BROWSER = os.environ.get("MEDIATION_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root, in containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # Nothing of the browser's own reaches the network either.
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SERIOUS = ("serious", "critical")
"""The impacts of the axe-core violations that fail a test."""


def chromium_executable() -> str | None:
    """The Chromium the tests drive: MEDIATION_CHROMIUM, else Debian's, else one on the PATH."""
    chosen = os.environ.get("MEDIATION_CHROMIUM")
    if chosen:
        if not os.access(chosen, os.X_OK):
            pytest.fail(f"MEDIATION_CHROMIUM={chosen}: no such executable")
        return chosen
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is a browser test (before `-m` selects), and runs after every
    other test: Playwright's sync API keeps an event loop running in the main thread from the
    first browser test to the end of the session, and a later test's `asyncio.run` would fail
    ("cannot be called from a running event loop")."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: HERE in item.path.parents)  # stable: each group keeps its order


REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    """Keeps each phase's report on the test, for the page fixtures to see whether it failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def failed(item: pytest.Item) -> bool:
    reports = item.stash.get(REPORTS, {})
    return any(report.failed for report in reports.values())


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium, headless unless --headed."""
    executable = chromium_executable()
    if executable is None:
        reason = "no Chromium to drive: apt-get install chromium, or set MEDIATION_CHROMIUM"
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason}; MEDIATION_REQUIRE_BROWSER=1 forbids skipping the browser tests")
        pytest.skip(reason)
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": executable,
        "args": CHROMIUM_ARGS,
    }


@dataclass(frozen=True)
class Site:
    """The app served for one test: its address, its settings, its clock, the app itself."""

    url: str
    settings: Settings
    clock: SettableClock
    app: FastAPI


@pytest.fixture
def site(durable_settings: Settings, clock: SettableClock) -> Iterator[Site]:
    """The real app (tests/conftest.py's settings and clock) served by uvicorn on a loopback
    port, on a SQLite file, then on PostgreSQL."""
    app = create_app(durable_settings, clock=clock)
    with served(app) as url:
        yield Site(url, durable_settings, clock, app)


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], site: Site) -> dict[str, Any]:
    """Pages go to the test's site: `page.goto("/docs")`. Service workers are blocked, so that
    every request a page makes passes the loopback guard."""
    return {**browser_context_args, "base_url": site.url, "service_workers": "block"}


@pytest.fixture
def offsite_requests() -> Iterator[list[str]]:
    """The requests the test's pages attempted to another host than the loopback, each aborted
    (`METHOD url`). Any there is fails the test: a page must never load from another host."""
    attempted: list[str] = []
    yield attempted
    assert not attempted, "requests to another host than the loopback:\n" + "\n".join(attempted)


@pytest.fixture
def console_errors() -> list[str]:
    """The errors the test's pages wrote to their console or threw (a script refused by the
    Content-Security-Policy, an uncaught exception…), for a test to assert on."""
    return []


def keep_on_loopback(context: BrowserContext, attempted: list[str]) -> None:
    """Aborts the context's every request to another host than the loopback, recording it."""

    def guard(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOOPBACK:
            route.fallback()
        else:
            attempted.append(f"{route.request.method} {url}")
            route.abort("blockedbyclient")

    context.route("**/*", guard)


def watch_console(page: Page, errors: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))


def artifacts_folder(item: pytest.Item) -> Path:
    """test-artifacts/<test>/: `test_api_docs.py::test_x[chromium-sqlite]` keeps its files in
    test-artifacts/test_api_docs-test_x-chromium-sqlite/."""
    name = item.nodeid.removeprefix("tests/browser/").replace(".py::", "-")
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


def keep_artifacts(item: pytest.Item, page: Page, label: str, notes: list[str]) -> None:
    """The page as the test left it: `<label>.png` (full page), `<label>.html`, and
    `<label>.txt` (its address, the requests aborted, its console's errors)."""
    folder = artifacts_folder(item)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"url: {page.url}", *notes]
    try:
        page.screenshot(path=folder / f"{label}.png", full_page=True, timeout=10_000)
        (folder / f"{label}.html").write_text(page.content(), encoding="utf-8")
    except Exception as error:  # a crashed or closed page: say so rather than hide the failure
        lines.append(f"could not keep the page: {error}")
    (folder / f"{label}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def artifacts_on_failure(
    request: pytest.FixtureRequest, offsite_requests: list[str], console_errors: list[str]
) -> Iterator[Callable[[Page, str], None]]:
    """Registers pages whose state a failure of the test keeps under test-artifacts/."""
    pages: list[tuple[Page, str]] = []
    shutil.rmtree(artifacts_folder(request.node), ignore_errors=True)
    yield lambda page, label: pages.append((page, label))
    if failed(request.node) or offsite_requests:
        notes = [f"aborted: {r}" for r in offsite_requests] + console_errors
        for page, label in pages:
            keep_artifacts(request.node, page, label, notes)


def open_page(
    context: BrowserContext,
    offsite_requests: list[str],
    console_errors: list[str],
    keep: Callable[[Page, str], None],
    label: str,
) -> Page:
    keep_on_loopback(context, offsite_requests)
    page = context.new_page()
    watch_console(page, console_errors)
    keep(page, label)
    return page


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    """A desktop browser, 1280×800 (pytest-playwright's own default is 1280×720)."""
    return new_context(viewport=DESKTOP)


@pytest.fixture
def page(
    context: BrowserContext,
    offsite_requests: list[str],
    console_errors: list[str],
    artifacts_on_failure: Callable[[Page, str], None],
) -> Page:
    """A page of a desktop browser, on the loopback only."""
    return open_page(context, offsite_requests, console_errors, artifacts_on_failure, "page")


@pytest.fixture
def phone(
    new_context: Callable[..., BrowserContext],
    offsite_requests: list[str],
    console_errors: list[str],
    artifacts_on_failure: Callable[[Page, str], None],
) -> Page:
    """A page of a phone's browser: 390×844, mobile (the page's meta viewport applies), touch."""
    context = new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    return open_page(context, offsite_requests, console_errors, artifacts_on_failure, "phone")


def assert_accessible(
    page: Page, *, include: Any = None, exclude: Any = None, ignore: Mapping[str, str] = {}
) -> None:
    """Runs axe-core (axe-playwright-python's copy) on the page as it stands, and fails on any
    serious or critical violation, each listed with the elements it found. `include`/`exclude`
    narrow the check (CSS selectors, as axe.run's context takes them); `ignore` turns rules off,
    each with the reason why (for a third party's widget only: never for a page of ours)."""
    scope: dict[str, Any] = {}
    if include is not None:
        scope["include"] = include
    if exclude is not None:
        scope["exclude"] = exclude
    options = {
        "resultTypes": ["violations"],
        "rules": {rule: {"enabled": False} for rule in ignore},
    }
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate(
        "([scope, options]) => axe.run(Object.keys(scope).length ? scope : document, options)",
        [scope, options],
    )
    violations = [v for v in results["violations"] if v["impact"] in SERIOUS]
    assert not violations, f"axe-core on {page.url}:\n" + describe(violations)


def describe(violations: list[dict[str, Any]], most_nodes: int = 5) -> str:
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        lines.append(
            f"- {violation['id']} ({violation['impact']}, {len(nodes)} element(s)): "
            f"{violation['help']} <{violation['helpUrl']}>"
        )
        for node in nodes[:most_nodes]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
        if len(nodes) > most_nodes:
            lines.append(f"    … and {len(nodes) - most_nodes} more")
    return "\n".join(lines)
