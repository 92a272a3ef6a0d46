"""The request body limit: a body over MEDIATION_MAX_BODY_BYTES is refused with 413.

A body whose Content-Length is over the limit is refused before any of it is read. A body of
unknown length (chunked) is counted as it arrives and refused as soon as it passes the limit,
so the service never holds more than the limit of one request's body.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from interfaces.http.middleware import HttpMiddleware
from interfaces.http.problems import problem_response


class LimitRequestBodies(HttpMiddleware):
    """Refuses a request body over `max_bytes` with 413, as the module says."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.detail = (
            f"the request body is over the limit of {max_bytes} bytes; nothing was recorded"
        )

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response("payload-too-large", self.detail)(scope, receive, send)
            return
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException, which FastAPI lets out of its body parsing unchanged and
                # the problem handlers answer as payload-too-large.
                raise HTTPException(413, self.detail)
            return message

        await self.app(scope, counting, send)
