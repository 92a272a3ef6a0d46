"""The headers every answer carries, so that no browser or cache mishandles it."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from interfaces.http.middleware import HttpMiddleware

# Cache-Control: no-store on every answer, not only those with personal data: any API answer
# may carry some, and a cached /healthz, /readyz, /metrics or /openapi.json would show a past
# state; none of them is worth caching. A page that needs another CSP sets its own (/docs).
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


class SecureHeaders(HttpMiddleware):
    """Adds each of SECURITY_HEADERS that the answer does not set itself.

    `MediationAPI` puts it around Starlette's own error handling, so the 500 of an unexpected
    error carries the headers too."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, sending)
