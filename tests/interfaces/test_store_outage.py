"""A PostgreSQL outage seen through the real HTTP app.

A TCP proxy on the loopback sits between the app and the test server; cutting it drops every
connection the pool holds and refuses new ones. While it is cut, every request that needs the
store is answered a 503 problem quickly and without internals; once it is restored, the very
next request of each route succeeds in the same app (no restart, no retry), the work in the
background resumes by itself, and what was recorded is exactly what was answered 2xx.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from application.clock import SettableClock
from application.mediation import ReportRequest
from application.projections import ProjectionRunner
from domain.platforms import Platform
from domain.values import PersonalText
from infrastructure.settings import Settings
from infrastructure.settings import load_settings
from interfaces.composition import deadline_schedule
from interfaces.composition import open_application
from interfaces.composition import projection_runner
from interfaces.http.app import create_app
from tests.conftest import KEY_SETTINGS
from tests.conftest import PLATFORMS_FILE
from tests.conftest import TOKENS_SETTING
from tests.conftest import PostgresSchema
from tests.conftest import auth
from tests.conftest import report_body
from tests.conftest import require_postgres
from tests.domain.factories import company
from tests.interfaces.served import served

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LOOPBACK = "127.0.0.1"
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
POLL_SECONDS = 0.1
"""How often the proxy's threads look whether they should stop."""
OUTAGE_ANSWER_BOUND_SECONDS = 15.0
"""A request during an outage must be answered within this, or clients hang."""
PHASE_BOUND_SECONDS = 30.0
"""How long a step of a test may take before the test gives up (each takes a second or two)."""
LEAKS = ("Traceback", "SELECT", "INSERT", "psycopg", 'File "', "postgresql://", "password")


def _drop(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Forwards connections made to 127.0.0.1:`port` to `target`, on the loopback only.

    `cut()` closes every forwarded connection and closes new ones on arrival; `restore()`
    forwards again; `stop()` ends every thread (bounded by `POLL_SECONDS` each).
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server((LOOPBACK, 0))
        self._listener.settimeout(POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._cut = threading.Event()
        self._stopping = threading.Event()
        self.forwarded = 0
        self.refused = 0
        self._spawn(self._accept_loop)

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            dropped, self._open = self._open, set()
        for sock in dropped:
            _drop(sock)

    def restore(self) -> None:
        self._cut.clear()

    def stop(self) -> None:
        self._stopping.set()
        self.cut()
        _drop(self._listener)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        alive = [t.name for t in threads if t.is_alive()]
        assert not alive, f"proxy threads did not stop: {alive}"

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                self.refused += 1
                _drop(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                _drop(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if self._cut.is_set():
                    self.refused += 1
                    _drop(client)
                    _drop(upstream)
                    continue
                self._open |= {client, upstream}
                self.forwarded += 1
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                readable, _, _ = select.select([source], [], [], POLL_SECONDS)
                if not readable:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
            except (OSError, ValueError):
                break
        with self._lock:
            self._open -= {source, sink}
        _drop(source)
        _drop(sink)


@pytest.fixture
def schema() -> Iterator[PostgresSchema]:
    """A fresh schema, made directly on the test server (not through the proxy)."""
    created = PostgresSchema(require_postgres())
    with created.connect() as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(created.name)))
    yield created
    created.drop()


@pytest.fixture
def proxy(schema: PostgresSchema) -> Iterator[TcpProxy]:
    parts = urlsplit(schema.url)
    host, port = parts.hostname or "localhost", parts.port or 5432
    if host not in LOOPBACK_NAMES:
        pytest.skip(f"the outage proxy forwards on the loopback only, not to {host}")
    started = TcpProxy((LOOPBACK, port))
    yield started
    started.stop()


def proxied_settings(schema: PostgresSchema, proxy: TcpProxy, folder: Path) -> Settings:
    """The settings of an app whose store is reached through the proxy (its data keys in
    `folder`)."""
    parts = urlsplit(schema.url.replace("postgresql+psycopg", "postgresql"))
    user_info = parts.netloc.rpartition("@")[0]
    netloc = f"{user_info}@{LOOPBACK}:{proxy.port}" if user_info else f"{LOOPBACK}:{proxy.port}"
    return load_settings(
        database_url=urlunsplit(parts._replace(netloc=netloc)),
        database_schema=schema.name,
        database_pool_size=2,
        database_connect_timeout=2,
        tokens=TOKENS_SETTING,
        platforms_file=PLATFORMS_FILE,
        data_keys_file=folder / "data-keys.json",
        **KEY_SETTINGS,
    )


@pytest.fixture
def http(
    schema: PostgresSchema, proxy: TcpProxy, clock: SettableClock, tmp_path: Path
) -> Iterator[TestClient]:
    """The real app, its store reached through the proxy."""
    app = create_app(proxied_settings(schema, proxy, tmp_path), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def assert_store_unavailable(answer: httpx.Response, secrets: tuple[str, ...]) -> None:
    where = f"{answer.request.method} {answer.request.url.path}"
    assert answer.status_code == 503, f"{where}: {answer.status_code} {answer.text}"
    assert answer.headers["content-type"].startswith("application/problem+json"), where
    assert int(answer.headers["Retry-After"]) > 0, where
    problem = answer.json()
    assert problem["status"] == 503, where
    assert problem["type"].endswith("/store-unavailable"), where
    assert problem["title"], where
    assert problem["detail"], where
    for leak in (*LEAKS, *secrets):
        assert leak not in answer.text, f"{where} shows {leak!r}: {answer.text}"
        assert not any(leak in value for value in answer.headers.values()), where


def qualify_body() -> dict[str, Any]:
    return {"category": "delisting", "priority": "high", "summary": "Delisted without reasons."}


def secrets_of(schema: PostgresSchema, proxy: TcpProxy) -> tuple[str, ...]:
    parts = urlsplit(schema.url)
    shown = (str(proxy.port), str(parts.port or 5432), schema.name, parts.path.strip("/"))
    return (*shown, *([parts.password] if parts.password else []))


def test_during_an_outage_every_store_request_gets_a_quick_503_problem(
    http: TestClient, proxy: TcpProxy, schema: PostgresSchema, caplog: pytest.LogCaptureFixture
) -> None:
    reported = http.post("/cases", json=report_body(), headers=auth("reporter"))
    assert reported.status_code == 201, reported.text
    case_id, code = reported.json()["id"], reported.json()["tracking_code"]

    proxy.cut()
    caplog.set_level(logging.INFO)
    answers = {
        "track": timed(lambda: http.get(f"/track/{code}")),
        "report": timed(
            lambda: http.post(
                "/cases", json=report_body(name="Boutique Martin"), headers=auth("reporter")
            )
        ),
        "qualify": timed(
            lambda: http.post(
                f"/cases/{case_id}/qualify", json=qualify_body(), headers=auth("caseworker")
            )
        ),
        "read": timed(lambda: http.get(f"/cases/{case_id}", headers=auth("caseworker"))),
        "readyz": timed(lambda: http.get("/readyz")),
    }

    observed = {name: (a.status_code, round(s, 1)) for name, (a, s) in answers.items()}
    for answer, _ in answers.values():
        assert_store_unavailable(answer, secrets_of(schema, proxy))
    assert answers["readyz"][0].json()["checks"] == {"database": "unreachable"}
    slow = {n: s for n, (_, s) in answers.items() if s >= OUTAGE_ANSWER_BOUND_SECONDS}
    assert not slow, f"503s took too long (status, seconds): {observed}"
    assert proxy.refused > 0, "the app never tried to reconnect during the outage"
    metrics = http.get("/metrics")
    assert metrics.status_code == 200
    assert "mediation_store_up 0.0" in metrics.text
    # The log says which route met the outage, never the tracking code or the case's id.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("mediation"))
    assert "store unavailable during GET /track/{tracking_code}" in logged
    assert code not in logged
    assert case_id not in logged


def test_connections_cut_while_idle_in_the_pool_are_not_handed_out(
    http: TestClient, proxy: TcpProxy
) -> None:
    """The pool's connections die while no request uses them (cut and restored at once): the
    next request of each route gets a live connection, none is answered 503."""
    reported = http.post("/cases", json=report_body(), headers=auth("reporter"))
    assert reported.status_code == 201, reported.text
    case_id, code = reported.json()["id"], reported.json()["tracking_code"]
    for _ in range(3):  # several connections in use, then idle in the pool
        assert http.get(f"/cases/{case_id}", headers=auth("caseworker")).status_code == 200

    proxy.cut()
    proxy.restore()

    answers = [
        http.get(f"/cases/{case_id}", headers=auth("caseworker")),
        http.get(f"/track/{code}"),
        http.get("/queues/to-qualify", headers=auth("caseworker")),
        http.get("/statistics", headers=auth("analyst")),
        http.post(f"/cases/{case_id}/qualify", json=qualify_body(), headers=auth("caseworker")),
        http.post("/cases", json=report_body(name="Boutique Martin"), headers=auth("reporter")),
        http.get("/readyz"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201), f"{answer.request.url}: {answer.text}"


def test_after_an_outage_the_app_recovers_by_itself_and_loses_nothing(
    http: TestClient, proxy: TcpProxy, schema: PostgresSchema
) -> None:
    reported = http.post("/cases", json=report_body(), headers=auth("reporter"))
    assert reported.status_code == 201, reported.text
    case_id, tracking_code = reported.json()["id"], reported.json()["tracking_code"]
    before = http.get(f"/cases/{case_id}", headers=auth("caseworker"))
    assert before.status_code == 200, before.text
    ready = http.get("/readyz", headers=auth("auditor"))
    assert ready.status_code == 200, ready.text
    position_before = ready.json()["position"]
    assert position_before == reported.json()["position"]

    proxy.cut()
    second_report = report_body(name="Boutique Martin")
    refused_report = http.post(
        "/cases",
        json=second_report,
        headers={**auth("reporter"), "Idempotency-Key": "outage-report-1"},
    )
    assert_store_unavailable(refused_report, secrets_of(schema, proxy))
    refused_qualify = http.post(
        f"/cases/{case_id}/qualify",
        json=qualify_body(),
        headers={**auth("caseworker"), "If-Match": '"1"'},
    )
    assert_store_unavailable(refused_qualify, secrets_of(schema, proxy))

    proxy.restore()
    ready = http.get("/readyz", headers=auth("auditor"))
    assert ready.status_code == 200, f"the first request after the restore: {ready.text}"
    assert ready.json()["position"] == position_before, "an answered-503 request wrote events"

    after = http.get(f"/cases/{case_id}", headers=auth("caseworker"))
    assert after.status_code == 200, after.text
    assert after.json() == before.json()
    tracked = http.get(f"/track/{tracking_code}")
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["status"] == "reported"

    qualified = http.post(
        f"/cases/{case_id}/qualify",
        json=qualify_body(),
        headers={**auth("caseworker"), "If-Match": '"1"'},
    )
    assert qualified.status_code == 200, qualified.text
    assert qualified.json()["version"] == 2
    assert qualified.json()["status"] == "qualified"
    assert qualified.json()["position"] == position_before + 1

    retried_report = http.post(
        "/cases",
        json=second_report,
        headers={**auth("reporter"), "Idempotency-Key": "outage-report-1"},
    )
    assert retried_report.status_code == 201, retried_report.text
    assert retried_report.json()["version"] == 1

    history = http.get(f"/cases/{case_id}/history", headers=auth("auditor"))
    assert history.status_code == 200, history.text
    assert [(e["version"], e["type"]) for e in history.json()["events"]] == [
        (1, "Reported"),
        (2, "Qualified"),
    ]
    second_id = retried_report.json()["id"]
    second_history = http.get(f"/cases/{second_id}/history", headers=auth("auditor"))
    assert second_history.status_code == 200, second_history.text
    assert [e["type"] for e in second_history.json()["events"]] == ["Reported"]
    final = http.get("/readyz", headers=auth("auditor"))
    assert final.status_code == 200, final.text
    assert final.json()["position"] == retried_report.json()["position"]
    assert "mediation_store_up 1.0" in http.get("/metrics").text


# Requests running through an outage.

PACE_SECONDS = 0.1
"""Between two requests of one client, so that each route is asked several times a second."""
CASES_TO_QUALIFY = 10
"""More than the qualifying client gets through before it is stopped (about four)."""
SHOP = "Outage shop"


@dataclass(frozen=True)
class Call:
    """One request of a client; `label` names what it records: a report's key, a case."""

    route: str
    method: str
    path: str
    label: str = ""
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    call: Call
    started: float
    response: httpx.Response


class Clients:
    """One thread per route, each asking its calls in turn until stopped; every answer kept."""

    def __init__(self, base_url: str, calls: dict[str, Iterator[Call]]) -> None:
        self.asked: list[tuple[str, float]] = []
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._ask, args=(base_url, route_calls), daemon=True)
            for route_calls in calls.values()
        ]
        self.routes = set(calls)
        for thread in self.threads:
            thread.start()

    def _ask(self, base_url: str, calls: Iterator[Call]) -> None:
        with httpx.Client(base_url=base_url, timeout=PHASE_BOUND_SECONDS) as client:
            for call in calls:
                if self.stopping.is_set():
                    return
                started = time.monotonic()
                self.asked.append((call.route, started))
                response = client.request(
                    call.method, call.path, json=call.body, headers=call.headers
                )
                self.answers.append(Answer(call, started, response))
                self.stopping.wait(PACE_SECONDS)

    def until_each_route_succeeded(self) -> None:
        self._until(lambda: {a.call.route for a in list(self.answers) if succeeded(a.response)})

    def until_each_route_asked_after(self, instant: float) -> None:
        self._until(lambda: {route for route, started in list(self.asked) if started > instant})

    def _until(self, routes: Callable[[], set[str]]) -> None:
        deadline = time.monotonic() + PHASE_BOUND_SECONDS
        while routes() != self.routes:
            assert time.monotonic() < deadline, f"never asked: {self.routes - routes()}"
            assert all(t.is_alive() for t in self.threads), "a client stopped early"
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop asking; the requests under way are answered first."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=PHASE_BOUND_SECONDS)
        assert not any(t.is_alive() for t in self.threads)


def client_calls(case_id: str, code: str, to_qualify: list[str]) -> dict[str, Iterator[Call]]:
    def reports() -> Iterator[Call]:
        for number in itertools.count():
            key = f"outage-{number}"
            yield Call(
                "report", "POST", "/cases", key,
                report_body(name=f"{SHOP} {key}"),
                {**auth("reporter"), "Idempotency-Key": key},
            )  # fmt: skip

    def qualifies() -> Iterator[Call]:
        for case in to_qualify:
            yield Call(
                "qualify", "POST", f"/cases/{case}/qualify", case, qualify_body(),
                {**auth("caseworker"), "If-Match": '"1"'},
            )  # fmt: skip

    def reads(route: str, path: str, role: str | None) -> Iterator[Call]:
        return itertools.repeat(Call(route, "GET", path, headers=auth(role) if role else {}))

    return {
        "report": reports(),
        "qualify": qualifies(),
        "case": reads("case", f"/cases/{case_id}", "caseworker"),
        "history": reads("history", f"/cases/{case_id}/history", "auditor"),
        "integrity": reads("integrity", f"/cases/{case_id}/integrity", "auditor"),
        "dossier": reads("dossier", f"/cases/{case_id}/dossier", "auditor"),
        "track": reads("track", f"/track/{code}", None),
        "queue": reads("queue", "/queues/to-qualify?min_position=1", "caseworker"),
        "statistics": reads("statistics", "/statistics", "analyst"),
        "readyz": reads("readyz", "/readyz", None),
    }


def succeeded(answer: httpx.Response) -> bool:
    return 200 <= answer.status_code < 300


def test_requests_running_through_an_outage_get_503s_and_the_next_ones_after_it_succeed(
    schema: PostgresSchema, proxy: TcpProxy, clock: SettableClock, tmp_path: Path
) -> None:
    app = create_app(proxied_settings(schema, proxy, tmp_path), clock=clock)
    with served(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        seeded = []
        for _ in range(2 + CASES_TO_QUALIFY):
            reported = http.post("/cases", json=report_body(), headers=auth("reporter"))
            assert reported.status_code == 201, reported.text
            seeded.append(reported.json())
        (read, after_outage, *to_qualify) = [case["id"] for case in seeded]
        seeded_head = seeded[-1]["position"]

        clients = Clients(base_url, client_calls(read, seeded[0]["tracking_code"], to_qualify))
        try:
            clients.until_each_route_succeeded()
            proxy.cut()
            cut = time.monotonic()
            clients.until_each_route_asked_after(cut)
        finally:
            clients.stop()
        proxy.restore()

        # The very next request of each route succeeds, in the same app.
        head = http.get("/readyz", headers=auth("auditor"))
        assert head.status_code == 200, head.text
        next_report = http.post(
            "/cases", json=report_body(name="After the outage"), headers=auth("reporter")
        )
        next_qualify = http.post(
            f"/cases/{after_outage}/qualify",
            json=qualify_body(),
            headers={**auth("caseworker"), "If-Match": '"1"'},
        )
        reads = [
            next(calls)
            for route, calls in client_calls(read, seeded[0]["tracking_code"], []).items()
            if route not in ("report", "qualify")
        ]
        next_requests = [
            next_report,
            next_qualify,
            *(http.get(call.path, headers=call.headers) for call in reads),
        ]
        for answer in next_requests:
            assert succeeded(answer), f"{answer.request.url}: {answer.status_code} {answer.text}"

        # During the outage: a success (asked before the cut took effect) or a 503 problem.
        answers = clients.answers
        for answer in answers:
            if not succeeded(answer.response):
                assert_store_unavailable(answer.response, secrets_of(schema, proxy))
        after_cut = [a for a in answers if a.started > cut]
        assert after_cut
        assert not [a for a in after_cut if succeeded(a.response)], "served without a store"

        # Recorded is what was answered 2xx; a 503'd command asked after the cut recorded
        # nothing, and one in flight when the cut came may have committed (only its answer was
        # lost), which its key or If-Match makes safe to send again.
        def labels(route: str, which: Callable[[Answer], bool]) -> set[str]:
            return {a.call.label for a in answers if a.call.route == route and which(a)}

        def refused(a: Answer) -> bool:
            return not succeeded(a.response) and a.started > cut

        def lost(a: Answer) -> bool:
            return not succeeded(a.response) and a.started <= cut

        position = next_report.json()["position"]
        page = http.get(
            "/queues/to-qualify",
            params={"limit": 500, "min_position": position},
            headers=auth("caseworker"),
        )
        assert page.status_code == 200, page.text
        names = [i["company_name"] for i in page.json()["items"]]
        shops = [name.removeprefix(f"{SHOP} ") for name in names if name.startswith(SHOP)]
        assert len(shops) == len(set(shops)), "a report was recorded twice"
        assert labels("report", lambda a: succeeded(a.response)) <= set(shops)
        assert not labels("report", refused) & set(shops)
        assert set(shops) <= labels("report", lambda a: succeeded(a.response) or lost(a))

        versions = {
            case: http.get(f"/cases/{case}", headers=auth("caseworker")).json()["version"]
            for case in labels("qualify", lambda a: True)
        }
        assert all(versions[c] == 2 for c in labels("qualify", lambda a: succeeded(a.response)))
        assert all(versions[c] == 1 for c in labels("qualify", refused))
        assert set(versions.values()) <= {1, 2}
        qualified = sum(version == 2 for version in versions.values())
        assert head.json()["position"] == seeded_head + 2 * len(shops) + qualified

        # Sent again with their keys, the reports answered 503 are each recorded once.
        for answer in answers:
            if answer.call.route == "report" and not succeeded(answer.response):
                again = http.post("/cases", json=answer.call.body, headers=answer.call.headers)
                assert again.status_code == 201, again.text
        retried = labels("report", lambda a: not succeeded(a.response)) - set(shops)
        final = http.get("/readyz", headers=auth("auditor")).json()["position"]
        assert final == position + 1 + 2 * len(retried)


# The work in the background.

NEVER = 3600.0
"""A poll interval the test cannot wait out: only a notification can wake the projections."""


def wait_for_position(runner: ProjectionRunner, position: int) -> bool:
    """Watch the read models' positions without waking the runner (its wait_for would)."""
    deadline = time.monotonic() + PHASE_BOUND_SECONDS
    while time.monotonic() < deadline:
        if all(p.position() >= position for p in runner.projections):
            return True
        time.sleep(0.01)
    return False


def test_the_projections_and_the_deadline_schedule_resume_by_themselves(
    schema: PostgresSchema, proxy: TcpProxy, clock: SettableClock, tmp_path: Path
) -> None:
    """The projections follow the log through the proxy, woken only by the events table's
    notifications; the deadline schedule runs hourly and its first run meets the outage. Once
    the store is back, both resume without a restart or a poll."""
    settings = proxied_settings(schema, proxy, tmp_path)
    follower = open_application(settings, clock)
    writer = open_application(settings.model_copy(update={"database_url": schema.url}), clock)
    runner = projection_runner(follower, settings)
    runner.poll_seconds = NEVER
    schedule = deadline_schedule(follower, runner, settings)
    assert schedule is not None
    report = ReportRequest(
        company=company(),
        platform=Platform.parse("Amazon"),
        description=PersonalText("Delisted without explanation"),
        occurred_on=clock.now().date(),
    )
    try:
        runner.start()
        runner.wake.set()
        for _ in range(2):  # the second one is seen only through a notification
            assert wait_for_position(runner, writer.report_case(report, actor="r").position)

        proxy.cut()
        schedule.start()
        deadline = time.monotonic() + PHASE_BOUND_SECONDS
        while schedule.failures == 0:
            assert time.monotonic() < deadline, "the deadline run never met the outage"
            time.sleep(0.01)
        proxy.restore()

        assert schedule.wait_for_runs(1, timeout=PHASE_BOUND_SECONDS)
        position = writer.report_case(report, actor="r").position
        assert wait_for_position(runner, position), "the projections did not resume"
    finally:
        schedule.stop()
        runner.stop()
        writer.close()
        follower.close()
