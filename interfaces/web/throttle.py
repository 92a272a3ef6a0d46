"""How often one client address may use the public pages that cost or reveal something: the
report form (each report opens a case and sends an e-mail) and the tracking page (each look-up
is a guess at a code). Over its limit, an address gets the 429 page until the window moves on.

The counts are kept in this process's memory (the `limits` package, moving windows): several
processes each count on their own, so a deployment's limit is the setting times the processes.
The client's address is the one uvicorn gives: behind a proxy, run it with `--proxy-headers`
and `--forwarded-allow-ips` so that it is the browser's, not the proxy's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse
from limits import RateLimitItem
from limits import RateLimitItemPerHour
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from infrastructure.settings import Settings
from interfaces.web.pages import render


@dataclass(frozen=True)
class Throttle:
    """One limit on one kind of request, counted per client address."""

    name: str
    limit: RateLimitItem
    limiter: MovingWindowRateLimiter

    def admits(self, request: Request) -> bool:
        """Counts the request; False once the address is over its limit."""
        return self.limiter.hit(self.limit, self.name, client_address(request))

    def seconds_to_wait(self, request: Request) -> int:
        stats = self.limiter.get_window_stats(self.limit, self.name, client_address(request))
        return max(1, math.ceil(stats.reset_time - time.time()))


@dataclass(frozen=True)
class Throttles:
    """The public pages' limits, from the settings."""

    reports: Throttle
    tracking: Throttle

    @classmethod
    def of(cls, settings: Settings) -> Throttles:
        limiter = MovingWindowRateLimiter(MemoryStorage())
        return cls(
            reports=Throttle("report", RateLimitItemPerHour(settings.reports_per_hour), limiter),
            tracking=Throttle(
                "tracking", RateLimitItemPerMinute(settings.tracking_lookups_per_minute), limiter
            ),
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttles(request: Request) -> Throttles:
    found: Throttles = request.app.state.throttles
    return found


def too_many(request: Request, throttle: Throttle) -> HTMLResponse:
    """The 429 page: how long to wait, and nothing done."""
    wait = throttle.seconds_to_wait(request)
    page = render(request, "too_many.html", {"minutes": math.ceil(wait / 60)}, status_code=429)
    page.headers["Retry-After"] = str(wait)
    return page
