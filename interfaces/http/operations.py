"""Operations: liveness, readiness, metrics, and the pages problem types point to."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Annotated
from typing import Any
from typing import Literal

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi import Request
from fastapi import Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest
from pydantic import BaseModel
from pydantic import Field
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from application.access import Role
from application.outbox import Delivery
from application.outbox import Outbox
from infrastructure.outbox_store import NAME as OUTBOX
from interfaces.http.auth import authorize
from interfaces.http.deps import MediationDep
from interfaces.http.labels import request_labels
from interfaces.http.middleware import HttpMiddleware
from interfaces.http.problems import PROBLEM_TYPES
from interfaces.http.problems import SIGNED_IN
from interfaces.http.problems import ProblemError
from interfaces.http.problems import answers
from interfaces.http.problems import problem_response

router = APIRouter(tags=["operations"])

access_log = logging.getLogger("mediation.access")

# Who may read /readyz's detail (the log position is the business's volume, a read model's
# error may name the database's host): the staff, not the reporting form.
READINESS_READERS = frozenset({Role.CASEWORKER, Role.AUDITOR, Role.ANALYST, Role.DPO})


class Metrics:
    """Request counts and latencies, and what the store says; no personal data, no ids."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mediation_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mediation_http_request_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=self.registry,
        )
        self.log_position = Gauge(
            "mediation_event_log_position",
            "Position of the newest event in the log",
            registry=self.registry,
        )
        self.store_up = Gauge(
            "mediation_store_up",
            "1 when the event store answered the last probe",
            registry=self.registry,
        )
        self.outbox = Gauge(
            "mediation_outbox_messages",
            "E-mails in the outbox by delivery: pending, sent, dead (given up on), cancelled",
            ["delivery"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class MeasureRequests(HttpMiddleware):
    """Counts, times and logs every request by method, route template and status.

    The access log (`mediation.access`, one INFO line per request) names the route template,
    never the path nor the query: a path carries tracking codes and case ids, a query may
    carry personal data."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # unless the app answers: an exception propagates to the server's 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            method, route = request_labels(scope)  # the status: one the app answers
            metrics: Metrics = scope["app"].state.metrics
            metrics.observe(method, route, status, seconds)
            access_log.info("%s %s %d %.1f ms", method, route, status, seconds * 1000)


class Liveness(BaseModel):
    status: Literal["alive"]


class ProjectionStatusView(BaseModel):
    """How far one read model has got."""

    name: str
    position: int = Field(description="the last event log position it applied")
    lag: int = Field(description="events it has still to apply")
    error: str | None = Field(description="its last error, if it is stuck")


class ReadinessView(BaseModel):
    """Ready; the detail only to a staff token."""

    status: Literal["ready"]
    checks: dict[str, str] | None = Field(default=None, description="with a staff token")
    position: int | None = Field(
        default=None, description="with a staff token: the event log's head"
    )
    projections: list[ProjectionStatusView] | None = Field(
        default=None, description="with a staff token: each read model"
    )
    mail: dict[str, int] | None = Field(
        default=None,
        description="with a staff token: the e-mails by delivery (pending, sent, dead, cancelled)",
    )


class ProblemTypeView(BaseModel):
    """What a problem type means."""

    type: str = Field(examples=["/problems/version-conflict"])
    title: str
    status: int
    description: str


@router.get(
    "/healthz",
    summary="Check that the process is alive",
    response_description="The process answers",
)
def healthz() -> Liveness:
    """Public: `{"status": "alive"}` while the process answers; says nothing of the database
    (that is `/readyz`)."""
    return Liveness(status="alive")


@router.get(
    "/readyz",
    summary="Check that the service is ready",
    responses={
        200: {"model": ReadinessView, "description": "The database answers"},
        **answers(*SIGNED_IN, "store-unavailable"),
    },
)
def readyz(mediation: MediationDep, request: Request) -> Any:
    """Public: `{"status": "ready"}` when the database answers, a 503 problem when it does not.

    With a staff token (caseworker, auditor, analyst, dpo) in `Authorization`, the answer adds
    the log position and each read model's position, lag and error (`mediation projections
    status` shows the same); another token is refused (401, 403)."""
    detailed = "Authorization" in request.headers
    if detailed:
        authorize(request, READINESS_READERS)
    metrics: Metrics = request.app.state.metrics
    try:
        position = mediation.log_position()
    except Exception:
        metrics.store_up.set(0)
        return problem_response(
            "store-unavailable",
            "the case store cannot be reached",
            headers={"Retry-After": "5"},
            checks={"database": "unreachable"},
        )
    metrics.store_up.set(1)
    metrics.log_position.set(position)
    if not detailed:
        return JSONResponse({"status": "ready"})
    projections = [
        {"name": s.name, "position": s.position, "lag": s.lag, "error": s.error}
        for s in request.app.state.runner.status()
    ]
    mail = outbox_counts(request, metrics)
    dead = mail[Delivery.DEAD.value]
    return JSONResponse(
        {
            "status": "ready",
            "checks": {
                "database": "ok",
                "mail": f"{dead} dead letter(s): see `mediation mail status`" if dead else "ok",
            },
            "position": position,
            "projections": projections,
            "mail": mail,
        }
    )


def outbox_counts(request: Request, metrics: Metrics) -> dict[str, int]:
    """The outbox's messages by delivery, also set on the metrics."""
    outbox: Outbox = request.app.state.runner.view(OUTBOX)
    counts = {delivery.value: n for delivery, n in outbox.counts().items()}
    for delivery, n in counts.items():
        metrics.outbox.labels(delivery).set(n)
    return counts


@router.get(
    "/metrics",
    response_class=Response,
    summary="Read the service's metrics",
    responses={
        200: {
            "description": "Prometheus text format",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request) -> Response:
    """Public: requests by method, route template and status, their latencies, the event log
    position, whether the store answers and the e-mails by delivery, in Prometheus text
    format; no personal data, no case id, no label a client can grow."""
    metrics: Metrics = request.app.state.metrics
    with contextlib.suppress(Exception):  # the database away: the other metrics still answer
        outbox_counts(request, metrics)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/problems/{type}",
    summary="Explain a problem type",
    response_description="The problem type's title, status and meaning",
    responses=answers("not-found"),
)
def explain_problem_type(
    slug: Annotated[
        str,
        PathParam(
            alias="type",
            description="the last segment of a problem's `type`: " + ", ".join(PROBLEM_TYPES),
            examples=list(PROBLEM_TYPES),
        ),
    ],
) -> ProblemTypeView:
    """Public: what an error's `type` means (every problem+json answer's `type` is the path of
    this page), its title and status."""
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise ProblemError("not-found", f"no problem type {slug!r}")
    return ProblemTypeView(
        type=kind.uri, title=kind.title, status=kind.status, description=kind.description
    )
