"""A page whose store cannot be reached answers a page that says so (503), never a 500."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from interfaces.http.labels import request_labels
from interfaces.http.problems import RETRY_AFTER_SECONDS
from interfaces.http.problems import STORE_ERRORS
from interfaces.web.pages import render

log = logging.getLogger("mediation.web")


def unavailable(
    request: Request, template: str = "unavailable.html", context: dict[str, Any] | None = None
) -> HTMLResponse:
    """The page `template` with 503 and Retry-After: the store cannot be reached."""
    log.warning("store unavailable during %s %s", *request_labels(request.scope))
    page = render(request, template, context, status_code=503)
    page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return page


def store_outage_page(
    endpoint: Callable[..., Awaitable[HTMLResponse]],
) -> Callable[..., Awaitable[HTMLResponse]]:
    """The page `endpoint` (async, taking `request`), or the unavailable page when the store
    fails under it."""

    @functools.wraps(endpoint)
    async def page(request: Request, **params: Any) -> HTMLResponse:
        try:
            return await endpoint(request, **params)
        except STORE_ERRORS:
            return unavailable(request)

    return page
