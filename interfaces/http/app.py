"""The FastAPI application: `create_app(settings)` builds it, the lifespan opens the store."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp

from application.access import Credential
from application.access import Role
from application.clock import Clock
from application.mediation import MediationApplication
from infrastructure.settings import Settings
from infrastructure.settings import load_settings
from interfaces.composition import data_key_schedule
from interfaces.composition import deadline_schedule
from interfaces.composition import mail_schedule
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from interfaces.composition import staff_accounts
from interfaces.http import audit
from interfaces.http import cases
from interfaces.http import erasure
from interfaces.http import operations
from interfaces.http import portal
from interfaces.http import queues
from interfaces.http import statistics
from interfaces.http import tracking
from interfaces.http.contract import complete
from interfaces.http.docs import install_docs
from interfaces.http.limits import LimitRequestBodies
from interfaces.http.problems import install_problem_handlers
from interfaces.http.read_models import read_model_waits
from interfaces.http.security_headers import SecureHeaders
from interfaces.web.site import install_site

log = logging.getLogger("mediation")

DESCRIPTION = """
Back office of the mediation programme between small businesses and online platforms
(Regulation (EU) 2019/1150, "P2B"). Businesses report, caseworkers drive each case from report
to outcome, auditors replay its history, analysts read the figures, the data protection
officer erases personal data.

Authenticate with `Authorization: Bearer <token>`; each operation names the roles it admits.
Every error is `application/problem+json` (the `Problem` schema): each operation lists the
statuses it answers, with an example of each problem type; `GET /problems/{type}` explains a
type. Invalid input is 422 with `errors: [{field, in, message}]`, and records nothing.
"""


def generated_credentials() -> tuple[Credential, ...]:
    """One random token per role, for a start with no MEDIATION_TOKENS (a platform's token is
    bound to a platform, which only MEDIATION_TOKENS can name)."""
    return tuple(
        Credential(token=secrets.token_urlsafe(24), role=role, actor=f"{role.value}-dev")
        for role in Role
        if role is not Role.PLATFORM
    )


def announce_generated(credentials: tuple[Credential, ...]) -> str:
    lines = [
        "No MEDIATION_TOKENS set: made one random token per role (shown once, valid "
        "until this process stops):"
    ]
    lines += [f"  {c.role.value:<11} {c.token}   (actor {c.actor})" for c in credentials]
    return "\n".join(lines)


class MediationAPI(FastAPI):
    """FastAPI with the security headers on every answer, the 500 of an unexpected error
    included: Starlette answers that one outside every middleware `add_middleware` adds."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecureHeaders(super().build_middleware_stack())

    def openapi(self) -> dict[str, Any]:
        """The contract, with the Problem schema every error answer points to."""
        if self.openapi_schema is None:
            complete(super().openapi())
        return super().openapi()


def operation_id(route: APIRoute) -> str:
    """An operation's id in the contract: its function's name (`report_case`, `qualify_case`),
    which generated clients name their methods after."""
    return route.name


def create_app(
    settings: Settings,
    *,
    mediation: MediationApplication | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The HTTP app. Given `mediation`, it serves that application and leaves it open."""
    credentials = settings.tokens
    if not credentials:
        credentials = generated_credentials()
        print(announce_generated(credentials), flush=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = mediation is None
        app.state.mediation = mediation or open_application(settings, clock)
        app.state.runner = projection_runner(app.state.mediation, settings)
        app.state.accounts = staff_accounts(app.state.mediation, settings)
        app.state.read_model_waits = read_model_waits(
            app.state.mediation, app.state.runner, settings
        )
        app.state.deadlines = None
        app.state.schedules = []
        if settings.run_projections:
            app.state.runner.start()
            app.state.deadlines = deadline_schedule(app.state.mediation, app.state.runner, settings)
            app.state.schedules = [
                s
                for s in (
                    app.state.deadlines,
                    data_key_schedule(app.state.mediation, settings),
                    mail_schedule(app.state.mediation, app.state.runner, settings),
                )
                if s is not None
            ]
        for schedule in app.state.schedules:
            schedule.start()
        log.info("serving cases from %s", settings.describe_store())
        try:
            yield
        finally:
            for schedule in app.state.schedules:
                schedule.stop()
            app.state.runner.stop()
            if owned:
                app.state.mediation.close()

    app = MediationAPI(
        title="p2b-mediation",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # served offline by install_docs
        redoc_url=None,
    )
    app.state.credentials = credentials
    app.state.settings = settings
    app.state.metrics = operations.Metrics()
    install_problem_handlers(app)
    app.add_middleware(LimitRequestBodies, max_bytes=settings.max_body_bytes)
    app.add_middleware(operations.MeasureRequests)  # the outer one: it counts the 413s too
    app.include_router(cases.router)
    app.include_router(audit.router)
    app.include_router(erasure.router)
    app.include_router(portal.router)
    app.include_router(queues.router)
    app.include_router(statistics.router)
    app.include_router(tracking.router)
    app.include_router(operations.router)
    install_docs(app)
    install_site(app)
    return app


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory`: settings from the environment (what `mediation serve` uses)."""
    return create_app(load_settings())
