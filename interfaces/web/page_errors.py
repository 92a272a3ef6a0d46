"""The route of the staff's pages: what the store or the case says becomes a page, not JSON.

A store that cannot be reached answers the site's 503 page (interfaces/web/outage.py); a case
that does not exist answers the 404 page; a case whose stored history fails verification
answers the 409 page (and the log says which). Everything else goes on to the app's handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any

from fastapi import Request
from fastapi import Response
from fastapi.routing import APIRoute

from application.errors import CaseNotFound
from application.personal_data import PersonalDataUnreadable
from application.sealing import IntegrityFailure
from interfaces.http.problems import STORE_ERRORS
from interfaces.web.outage import unavailable
from interfaces.web.pages import render

log = logging.getLogger("mediation.web")


class PageRoute(APIRoute):
    """A page whose store failures, unknown cases and failing histories are pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handle(request)
            except STORE_ERRORS:
                return unavailable(request)
            except CaseNotFound:
                return render(request, "console/not_found.html", status_code=404)
            except (IntegrityFailure, PersonalDataUnreadable) as failure:
                log.error("integrity failure: %s", failure)
                return render(request, "console/integrity.html", status_code=409)

        return answered
