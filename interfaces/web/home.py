"""The home page: what the service is, for whom, and the way to report."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import HTMLResponse

from interfaces.web.pages import page
from interfaces.web.pages import render

router = APIRouter()


@page(router, "home")
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")
