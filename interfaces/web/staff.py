"""Who is signed in to the console: the session cookie, and `require_staff(*roles)`, the
dependency every console and dashboard page names its roles with.

A page asked without a live session answers 303 to the sign-in page, the page asked kept in
`next` (and "Session expirée" said when a session had been there); a role the page does not
serve answers the 403 page. The roles follow the API's role table (docs/http.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi import Request
from fastapi import Response
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse

from application.access import Role
from application.accounts import StaffAccounts
from interfaces.web.console_words import words
from interfaces.web.forms import secure
from interfaces.web.pages import language
from interfaces.web.pages import render
from interfaces.web.pages import url

SESSION_COOKIE = "mediation_session"
EXPIRED = "expired"
SIGNED_OUT = "signed-out"
"""What the sign-in page says it was sent to for (`reason=`)."""

PERSONAL_DATA_READERS = frozenset({Role.CASEWORKER, Role.AUDITOR})
"""The roles that read a case with its personal data (GET /cases/{id} in docs/http.md)."""


@dataclass(frozen=True)
class StaffMember:
    """The member of staff signed in: their username, role and, for a platform's account,
    the platform's key."""

    username: str
    role: Role
    platform: str | None = None

    @property
    def actor(self) -> str:
        """Who the events this member causes name: the username."""
        return self.username

    @property
    def reads_personal_data(self) -> bool:
        return self.role in PERSONAL_DATA_READERS


class SignInRequired(Exception):
    """No live session: the page asked (`next`), and whether a session had expired."""

    def __init__(self, next_page: str, *, expired: bool) -> None:
        super().__init__(next_page)
        self.next_page = next_page
        self.expired = expired


class NotForYourRole(Exception):
    """The signed-in member's role may not use this page."""

    def __init__(self, staff: StaffMember) -> None:
        super().__init__(staff.role.value)
        self.staff = staff


def local_path(candidate: str | None, default: str) -> str:
    """`candidate` if it is a path on this site (never another host: no open redirect),
    else `default`."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return default
    if "\\" in candidate or any(ord(c) < 0x20 or ord(c) == 0x7F for c in candidate):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    return candidate


def asked_page(request: Request) -> str:
    """The page asked for, as a local path with its query: where to come back after signing in."""
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def now_of(request: Request) -> datetime:
    """The service's clock: the one sessions and commands are judged by."""
    instant: datetime = request.app.state.mediation.clock.now()
    return instant


def require_staff(*roles: Role) -> Callable[[Request], StaffMember]:
    """A dependency that admits a signed-in member of staff whose role is one of `roles`."""
    allowed = frozenset(roles)

    def signed_in_staff(request: Request) -> StaffMember:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise SignInRequired(asked_page(request), expired=False)
        accounts: StaffAccounts = request.app.state.accounts
        account = accounts.session(token, now_of(request))
        if account is None:
            raise SignInRequired(asked_page(request), expired=True)
        staff = StaffMember(account.username, account.role, account.platform)
        if staff.role not in allowed:
            raise NotForYourRole(staff)
        return staff

    signed_in_staff.admits = allowed  # type: ignore[attr-defined]
    return signed_in_staff


def keep_session_cookie(
    request: Request, response: Response, token: str, lifetime: timedelta
) -> None:
    """The session's cookie: HttpOnly, SameSite=Strict, Secure over HTTPS, for the whole site,
    ending when the session can live no longer."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/",
    )


def forget_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=secure(request), path="/"
    )


def to_sign_in(request: Request, error: SignInRequired) -> RedirectResponse:
    """303 to the sign-in page, with the page asked for kept in `next`."""
    query = {"next": error.next_page}
    if error.expired:
        query["reason"] = EXPIRED
    response = RedirectResponse(url("sign_in", language(request), query), status_code=303)
    if error.expired:
        forget_session_cookie(request, response)
    return response


def not_for_your_role(request: Request, error: NotForYourRole) -> HTMLResponse:
    context = {"staff": error.staff, "label": words(language(request))}
    return render(request, "console/forbidden.html", context, status_code=403)


def install_staff_pages(app: FastAPI) -> None:
    """The answers of `require_staff`: to the sign-in page, or the 403 page."""
    handlers: list[tuple[type[Exception], Callable[[Request, Any], Response]]] = [
        (SignInRequired, to_sign_in),
        (NotForYourRole, not_for_your_role),
    ]
    for error_type, handler in handlers:
        app.add_exception_handler(error_type, handler)
