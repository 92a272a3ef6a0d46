"""Forms: the CSRF token every form carries, and the check every post passes first.

The token is the double-submit kind: a random value in a cookie (HttpOnly, SameSite=Strict,
Secure over HTTPS) that the form repeats in a hidden field. A post from another site carries
neither the cookie nor the value; a post whose `Origin` is another origin is refused too.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from fastapi import Response
from starlette.datastructures import FormData

CSRF_COOKIE = "mediation_csrf"
CSRF_FIELD = "csrf"


class ForgedForm(Exception):
    """A post without its CSRF token, with another one, or from another origin."""


def csrf_token(request: Request) -> tuple[str, bool]:
    """The browser's CSRF token, and whether it is new (then the answer must set its cookie)."""
    known = request.cookies.get(CSRF_COOKIE, "")
    if len(known) == 43:  # what token_urlsafe(32) makes
        return known, False
    return secrets.token_urlsafe(32), True


def secure(request: Request) -> bool:
    """Whether the browser reached the service over HTTPS (directly or through a proxy that
    uvicorn trusts), so cookies must say Secure."""
    return request.url.scheme == "https"


def keep_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/",
    )


def same_origin(request: Request) -> bool:
    """False when the browser says the post comes from another origin. `Origin: null` names
    none (Chromium sends it for every form under the service's `Referrer-Policy: no-referrer`):
    then `Sec-Fetch-Site` says where the post comes from."""
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        return origin == own
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token and origin are checked: else `ForgedForm`."""
    form = await request.form()
    presented = form.get(CSRF_FIELD)
    expected = request.cookies.get(CSRF_COOKIE)
    if (
        not isinstance(presented, str)
        or not expected
        or not hmac.compare_digest(presented.encode(), expected.encode())
        or not same_origin(request)
    ):
        raise ForgedForm
    return form
