"""The auditor's view of who could do what: the staff accounts as they are, and every change
made to them (`mediation users …`), when and by whom. Read only: accounts are changed on the
command line, by whoever runs the service."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from application.accounts import ChangeKind
from application.accounts import StaffAccounts
from interfaces.web.audit_pages import Auditor
from interfaces.web.console_pages import console_page
from interfaces.web.page_errors import PageRoute
from interfaces.web.pages import page
from interfaces.web.wording import N_

router = APIRouter(route_class=PageRoute)

CHANGES = {
    ChangeKind.CREATED: N_("Account created"),
    ChangeKind.DISABLED: N_("Account disabled"),
    ChangeKind.ENABLED: N_("Account enabled again"),
    ChangeKind.ROLE_CHANGED: N_("Role changed"),
    ChangeKind.PASSWORD_CHANGED: N_("Password changed"),
}
"""Each change's words (its English here, its French in the catalogue)."""


@page(router, "audit_accounts")
async def audit_accounts(request: Request, staff: Auditor) -> HTMLResponse:
    """The accounts, then their changes, newest first."""
    accounts: StaffAccounts = request.app.state.accounts
    current = await run_in_threadpool(accounts.accounts)
    changes = await run_in_threadpool(accounts.changes)
    return console_page(
        request,
        "console/audit_accounts.html",
        staff,
        {
            "accounts": sorted(current, key=lambda a: a.username),
            "changes": list(reversed(changes)),  # the log keeps them in the order they were made
            "change_words": CHANGES,
        },
    )
