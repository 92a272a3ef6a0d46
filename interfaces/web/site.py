"""The web site on the API's app: its static files, its pages, its own error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from interfaces.web import account_pages
from interfaces.web import audit_pages
from interfaces.web import case_page
from interfaces.web import console
from interfaces.web import dashboard
from interfaces.web import erasure_pages
from interfaces.web import home
from interfaces.web import platform_pages
from interfaces.web import reporting
from interfaces.web import sign_in
from interfaces.web import tracking
from interfaces.web.forms import ForgedForm
from interfaces.web.pages import STATIC_PATH
from interfaces.web.pages import render
from interfaces.web.staff import install_staff_pages
from interfaces.web.throttle import Throttles

STATIC = Path(__file__).with_name("static")

ROUTERS = (
    home.router,
    account_pages.router,
    dashboard.router,
    reporting.router,
    tracking.router,
    console.router,
    case_page.router,
    sign_in.router,
    audit_pages.router,
    platform_pages.router,
    erasure_pages.router,
)


def forged_form(request: Request, _: Exception) -> HTMLResponse:
    """A post without its CSRF token or from another site: refused, nothing recorded."""
    return render(request, "forged.html", status_code=403)


def install_site(app: FastAPI) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(ForgedForm, forged_form)
    install_staff_pages(app)
    app.state.throttles = Throttles.of(app.state.settings)
