"""Screenshots the documentation commits, taken by the browser tests: `keep_screenshot(page,
"name")` writes docs/screenshots/<name>.png, and only when MEDIATION_SCREENSHOTS=1, so that an
ordinary test run never rewrites a committed file:

    MEDIATION_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser -m "not postgres"

The picture is the page's viewport as the test left it: 1280×800 for `page` (desktop), 390×844
for `phone`; animations are stopped and the caret hidden, so that a page taken again is the same
picture unless the page changed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


def keep_screenshot(page: Page, name: str, *, full_page: bool = False) -> Path | None:
    """docs/screenshots/<name>.png, when MEDIATION_SCREENSHOTS=1; otherwise nothing (None).
    `name` is lower-case letters, digits and dashes (`case-page`, `queue-phone`)."""
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", name):
        raise ValueError(f"a screenshot's name is lower-case words and dashes: {name!r}")
    if os.environ.get("MEDIATION_SCREENSHOTS") != "1":
        return None
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=full_page, animations="disabled", caret="hide")
    return path
