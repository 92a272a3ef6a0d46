"""How a console page is rendered: the signed-in member of staff and the console's words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from interfaces.web.console_words import words
from interfaces.web.pages import language, render
from interfaces.web.staff import StaffMember


def console_page(
    request: Request,
    template: str,
    staff: StaffMember | None,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """`template` with `staff` (the layout's "signed in as" and sign-out) and `label(value)`."""
    return render(
        request,
        template,
        {"staff": staff, "label": words(language(request)), **(context or {})},
        status_code=status_code,
    )
