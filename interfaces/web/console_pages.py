"""How a console page is rendered: the signed-in member of staff and the console's words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from application.access import Role
from interfaces.web.console_words import words
from interfaces.web.pages import language
from interfaces.web.pages import render
from interfaces.web.staff import StaffMember
from interfaces.web.wording import N_


@dataclass(frozen=True)
class Home:
    """A role's first page in the console: the page's name, the menu's words for it, and the
    words of a link back to it."""

    page: str
    label: str
    back: str


HOMES: dict[Role, Home] = {
    Role.CASEWORKER: Home("console", N_("Queues"), N_("Back to the queues")),
    Role.AUDITOR: Home("audit_home", N_("Audit a case"), N_("Audit another case")),
    Role.PLATFORM: Home("platform_home", N_("Your cases"), N_("Back to your cases")),
    Role.DPO: Home("dpo_home", N_("Erase personal data"), N_("Open another case")),
    Role.ANALYST: Home("dashboard", N_("Dashboard"), N_("Back to the dashboard")),
}
"""Where each role of the console starts (`/console` leads there) and what its menu names."""


def console_page(
    request: Request,
    template: str,
    staff: StaffMember | None,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """`template` with `staff` (the layout's "signed in as" and sign-out, and their `home`)
    and `label(value)`."""
    home = None if staff is None else HOMES.get(staff.role)
    return render(
        request,
        template,
        {"staff": staff, "home": home, "label": words(language(request)), **(context or {})},
        status_code=status_code,
    )
