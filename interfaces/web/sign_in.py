"""Signing in to the console and out of it: `/console/connexion`, `/console/deconnexion`.

A refusal says only "Identifiant ou mot de passe incorrect", whatever the reason; a username
paused after too many failures is told until when. A session's token lives in the
`mediation_session` cookie only (the service keeps its hash); signing out ends the session on
the server, not just in the browser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from application.accounts import Locked
from application.accounts import SignedIn
from application.accounts import StaffAccounts
from interfaces.web.console_pages import console_page
from interfaces.web.forms import checked_form
from interfaces.web.page_errors import PageRoute
from interfaces.web.pages import SHOWN_IN
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.pages import url
from interfaces.web.staff import EXPIRED
from interfaces.web.staff import SESSION_COOKIE
from interfaces.web.staff import SIGNED_OUT
from interfaces.web.staff import forget_session_cookie
from interfaces.web.staff import keep_session_cookie
from interfaces.web.staff import local_path
from interfaces.web.staff import now_of

router = APIRouter(route_class=PageRoute)

MAX_FIELD = 1024
"""Longer than any username or password the accounts accept: cut, then refused as usual."""


def sign_in_form(
    request: Request,
    next_page: str,
    *,
    username: str = "",
    refused: bool = False,
    locked_until: datetime | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    reason = request.query_params.get("reason")
    context: dict[str, Any] = {
        "next_page": next_page,
        "values": {"username": username},
        "refused": refused,
        "locked_until": None if locked_until is None else locked_until.astimezone(SHOWN_IN),
        "expired": reason == EXPIRED and not refused and locked_until is None,
        "signed_out": reason == SIGNED_OUT and not refused and locked_until is None,
    }
    return console_page(request, "console/sign_in.html", None, context, status_code=status_code)


@page(router, "sign_in")
def sign_in_page(request: Request) -> HTMLResponse:
    """The sign-in form; it says so when a session expired, and keeps the page asked for."""
    default = url("console", language(request))
    return sign_in_form(request, local_path(request.query_params.get("next"), default))


@page(router, "sign_in", methods=("POST",))
async def sign_in(request: Request) -> Response:
    """Checks the password: 303 to the page asked for (a path of this site only), with the
    session's cookie; else the form again, saying only that it was refused, or until when
    the username is paused."""
    posted = await checked_form(request)
    default = url("console", language(request))
    next_page = local_path(str(posted.get("next", "")), default)
    username = str(posted.get("username", "")).strip()[:MAX_FIELD]
    password = str(posted.get("password", ""))[:MAX_FIELD]
    accounts: StaffAccounts = request.app.state.accounts
    client = request.client.host if request.client else "unknown"
    outcome = await run_in_threadpool(accounts.sign_in, username, password, now_of(request), client)
    if isinstance(outcome, SignedIn):
        response = RedirectResponse(next_page, status_code=303)
        keep_session_cookie(request, response, outcome.token, accounts.lifetime)
        return response
    if isinstance(outcome, Locked):
        answer = sign_in_form(
            request, next_page, username=username, locked_until=outcome.until, status_code=429
        )
        seconds = max(1, int((outcome.until - now_of(request)).total_seconds()))
        answer.headers["Retry-After"] = str(seconds)
        return answer
    # Refused: the same answer whatever the reason (an unknown username, a wrong password, a
    # disabled account).
    return sign_in_form(request, next_page, username=username, refused=True, status_code=422)


@page(router, "sign_out", methods=("POST",))
async def sign_out(request: Request) -> Response:
    """Ends the session on the server and forgets its cookie: 303 to the sign-in page."""
    await checked_form(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(request.app.state.accounts.sign_out, token)
    response = RedirectResponse(
        url("sign_in", language(request), {"reason": SIGNED_OUT}), status_code=303
    )
    forget_session_cookie(request, response)
    return response
