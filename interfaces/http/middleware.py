"""What the app's own middlewares share: they act on HTTP requests, and only on those."""

from __future__ import annotations

from starlette.types import ASGIApp
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send


class HttpMiddleware:
    """A plain ASGI middleware whose `handle` takes each HTTP request; any other scope (the
    lifespan's) goes on to the app untouched.

    Plain, rather than Starlette's BaseHTTPMiddleware (which `app.middleware("http")` gives):
    that one spawns a task and copies the response for every request, a CPU cost on each."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answers one HTTP request, through `self.app` or not."""
        raise NotImplementedError
