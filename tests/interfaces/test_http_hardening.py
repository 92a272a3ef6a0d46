"""The edges a client can push on: body size, metric labels, headers, logs and readiness.

A body over MEDIATION_MAX_BODY_BYTES is refused with 413 before it is read (checked on a raw
socket against a real uvicorn, where a client can announce more than it sends); no request
method adds a metric series; every answer carries the security headers, and the
documentation pages a same-origin policy; the access log names route templates, never a
tracking code; /readyz tells an anonymous caller no more than ready or not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import re
import select
import socket
import string
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from application.clock import SettableClock
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from interfaces.http.labels import KNOWN_METHODS
from tests.conftest import PLATFORMS_FILE
from tests.conftest import TOKENS_SETTING
from tests.conftest import auth
from tests.conftest import report_body
from tests.conftest import settings_for
from tests.interfaces.problems import PROBLEM_JSON
from tests.interfaces.problems import assert_problem
from tests.test_end_to_end import Server
from tests.test_end_to_end import server_env
from tests.test_end_to_end import servers
from tests.test_end_to_end import start

__all__ = ["servers"]  # a fixture

LOOPBACK = "127.0.0.1"
CHUNK = b" " * 65_536  # JSON whitespace, so that only the size can be wrong with the body
ANNOUNCED = 100 * 1_048_576  # what the oversized requests claim, or would send in the end
SOCKET_GUARD_SECONDS = 30  # a broken server fails the test instead of hanging it

UNKNOWN_CASE = "00000000-0000-4000-8000-000000000000"
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
EVERY_ANSWER = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


# A real uvicorn and a raw socket, for what TestClient cannot do: announce a body it never sends.


@contextmanager
def served_by_uvicorn(app: FastAPI) -> Iterator[int]:
    """`app` under a real uvicorn in a thread, on a free loopback port; yields the port."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen()  # connections queue from here on: nothing to wait for before using it
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=SOCKET_GUARD_SECONDS)
        listener.close()


def request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {LOOPBACK}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer with a Content-Length: status, headers (lower-case), body."""
    data = b""
    while b"\r\n\r\n" not in data:
        received = connection.recv(65_536)
        assert received, f"the server closed the connection without answering: {data!r}"
        data += received
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    while len(body) < int(headers["content-length"]):
        received = connection.recv(65_536)
        assert received, "the server closed the connection in the middle of its answer"
        body += received
    return int(status_line.split()[1]), headers, body


def log_position(base_url: str) -> int:
    ready = httpx.get(f"{base_url}/readyz", headers=auth("auditor"), timeout=10)
    assert ready.status_code == 200, ready.text
    return int(ready.json()["position"])


def assert_payload_too_large(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 413, body
    assert headers["content-type"].startswith(PROBLEM_JSON)
    problem = json.loads(body)
    assert problem["type"] == "/problems/payload-too-large"
    assert problem["status"] == 413
    assert problem["detail"]


@pytest.fixture
def served(durable_settings: Settings, clock: SettableClock) -> Iterator[tuple[str, int]]:
    """The real app under a real uvicorn, on a SQLite file then PostgreSQL: (base URL, port)."""
    with served_by_uvicorn(create_app(durable_settings, clock=clock)) as port:
        yield f"http://{LOOPBACK}:{port}", port


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    served: tuple[str, int], durable_settings: Settings
) -> None:
    base_url, port = served
    before = log_position(base_url)
    head = request_head(
        "/cases",
        {
            **auth("reporter"),
            "Content-Type": "application/json",
            "Content-Length": str(ANNOUNCED),
        },
    )
    with socket.create_connection((LOOPBACK, port), timeout=SOCKET_GUARD_SECONDS) as connection:
        connection.sendall(head + CHUNK[:4096])  # 4 KiB of the 100 MB announced, and no more
        answer = read_answer(connection)

    assert durable_settings.max_body_bytes < ANNOUNCED
    assert_payload_too_large(*answer)
    assert log_position(base_url) == before


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(
    served: tuple[str, int], durable_settings: Settings
) -> None:
    base_url, port = served
    limit = durable_settings.max_body_bytes
    before = log_position(base_url)
    head = request_head(
        "/cases",
        {**auth("reporter"), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    chunk = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
    sent = 0
    tracemalloc.start()
    try:
        with socket.create_connection((LOOPBACK, port), timeout=SOCKET_GUARD_SECONDS) as connection:
            connection.sendall(head)
            # Stream the 100 MB chunk by chunk, and stop as soon as the server has answered.
            while sent < ANNOUNCED and not select.select([connection], [], [], 0)[0]:
                connection.sendall(chunk)
                sent += len(CHUNK)
            answer = read_answer(connection)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert_payload_too_large(*answer)
    assert limit < sent < ANNOUNCED, f"answered after {sent} bytes"
    # The whole process (server and client) held a few times the limit at most, not the body.
    assert peak < 4 * limit, f"{peak} bytes allocated at the peak, the limit being {limit}"
    assert log_position(base_url) == before


@pytest.fixture
def small_limit_http(
    durable_settings: Settings, clock: SettableClock
) -> Iterator[tuple[TestClient, int]]:
    """The app with the smallest limit allowed, so that a valid report can fill it exactly."""
    limited = durable_settings.model_copy(update={"max_body_bytes": 1024})
    with TestClient(create_app(limited, clock=clock), raise_server_exceptions=False) as client:
        yield client, limited.max_body_bytes


def padded_report(size: int) -> bytes:
    """A valid report of exactly `size` bytes: JSON allows whitespace after the value."""
    body = json.dumps(report_body()).encode()
    assert len(body) < size
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(
    small_limit_http: tuple[TestClient, int], framing: str
) -> None:
    http, limit = small_limit_http
    headers = {**auth("reporter"), "Content-Type": "application/json"}

    def post(body: bytes) -> httpx.Response:
        # An iterator has no length: httpx sends it chunked, and the limit counts the bytes.
        content = iter([body[: len(body) // 2], body[len(body) // 2 :]])
        return http.post(
            "/cases", content=body if framing == "content-length" else content, headers=headers
        )

    refused = post(padded_report(limit + 1))
    problem = assert_problem(refused, 413)
    assert problem["type"] == "/problems/payload-too-large"
    assert str(limit) in problem["detail"]
    assert http.get("/readyz", headers=auth("auditor")).json()["position"] == 0

    accepted = post(padded_report(limit))
    assert accepted.status_code == 201, accepted.text

    described = http.get(problem["type"])
    assert described.status_code == 200
    assert described.json()["status"] == 413


# Metrics.


def metric_series(http: TestClient) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Every series /metrics shows: its sample name and labels, not its value."""
    answer = http.get("/metrics")
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def random_method(chooser: random.Random) -> str:
    """A method no server knows: letters and digits, longer than any standard method."""
    return "".join(chooser.choices(string.ascii_letters + string.digits, k=chooser.randint(8, 16)))


def test_random_methods_add_no_metric_series(http: TestClient) -> None:
    chooser = random.Random(20_260_302)
    paths = ["/cases", "/track/abc", "/healthz", "/no/such/path"]
    for path in paths:  # the series of unknown methods exist from here on, as "other"
        http.request(random_method(chooser), path)
    http.request("get", "/healthz")  # methods are case-sensitive: "get" is not GET
    http.get("/metrics")  # /metrics counts itself after it answers
    before = metric_series(http)

    used = [random_method(chooser) for _ in range(300)]
    for number, method in enumerate(used):
        http.request(method, paths[number % len(paths)])
    after = metric_series(http)

    assert after == before
    methods = {value for _, labels in after for name, value in labels if name == "method"}
    assert methods <= {*KNOWN_METHODS, "other"}
    assert "other" in methods
    text = http.get("/metrics").text
    assert not [m for m in used if m in text]


# Headers.


def assert_secure_headers(kind: str, answer: httpx.Response, policy: str = JSON_POLICY) -> None:
    for name, value in EVERY_ANSWER.items():
        assert answer.headers.get(name) == value, f"{kind}: {name} is {answer.headers.get(name)}"
    assert answer.headers.get("content-security-policy") == policy, kind
    assert "server" not in answer.headers, kind


def test_every_kind_of_answer_carries_the_security_headers(http: TestClient) -> None:
    limit = http.app.state.settings.max_body_bytes
    receipt = http.post("/cases", json=report_body(), headers=auth("reporter")).json()
    case = f"/cases/{receipt['id']}"
    answers = {
        "a case (JSON)": http.get(case, headers=auth("caseworker")),
        "a case's history": http.get(f"{case}/history", headers=auth("auditor")),
        "a dossier": http.get(f"{case}/dossier", headers=auth("auditor")),
        "tracking": http.get(f"/track/{receipt['tracking_code']}"),
        "tracking, unknown code (404)": http.get("/track/" + "a" * 26),
        "no token (401)": http.get(case),
        "unknown case (404)": http.get(f"/cases/{UNKNOWN_CASE}", headers=auth("caseworker")),
        "invalid body (422)": http.post("/cases", json={}, headers=auth("reporter")),
        "body too large (413)": http.post(
            "/cases", content=b" " * (limit + 1), headers=auth("reporter")
        ),
        "unknown path (404)": http.get("/no/such/path"),
        "/metrics": http.get("/metrics"),
        "/healthz": http.get("/healthz"),
        "/readyz": http.get("/readyz"),
        "/openapi.json": http.get("/openapi.json"),
        "a problem type's page": http.get("/problems/not-found"),
    }
    expected = {"unknown case (404)": 404, "invalid body (422)": 422, "no token (401)": 401}
    for kind, answer in answers.items():
        assert answer.status_code == expected.get(kind, answer.status_code), kind
        assert_secure_headers(kind, answer)
    for page in ("/docs", "/redoc"):
        answer = http.get(page)
        assert answer.status_code == 200
        assert_secure_headers(page, answer, policy=answer.headers["content-security-policy"])
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_an_unexpected_error_is_a_500_with_the_security_headers(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    app = create_app(settings_for("memory", tmp_path, request))

    @app.get("/fails")
    def fails() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as http:
        answer = http.get("/fails")
    assert_problem(answer, 500)
    assert_secure_headers("500", answer)


# The documentation, offline.


def sources(policy: str, directive: str) -> list[str]:
    for part in policy.split(";"):
        name, *values = part.split()
        if name == directive:
            return values
    return []


# `path`, not `page`: pytest-playwright runs a test asking for a `page` in each browser.
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_documentation_loads_nothing_from_another_host(http: TestClient, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 200
    html = answer.text
    assert not re.findall(r"(?:https?:)?//", html), "the page names another host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    for asset in assets:
        loaded = http.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.content, asset
    assert "/openapi.json" in html

    policy = answer.headers["content-security-policy"]
    assert sources(policy, "default-src") == ["'none'"]
    for directive in ("script-src", "style-src", "img-src", "connect-src"):
        for source in sources(policy, directive):
            assert source in ("'self'", "data:", "'unsafe-inline'") or source.startswith(
                "'sha256-"
            ), f"{directive} admits {source}"
    scripts = sources(policy, "script-src")
    assert "'unsafe-inline'" not in scripts
    for inline in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts, "an inline script the policy would block"


# The access log.


def test_the_access_log_names_the_route_template_never_the_tracking_code(
    http: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    receipt = http.post("/cases", json=report_body(), headers=auth("reporter")).json()
    code = receipt["tracking_code"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mediation.access"):
        assert (
            http.get(f"/track/{code}", params={"email": "jeanne@atelier-dupont.fr"}).status_code
            == 200
        )
        assert http.get(f"/cases/{receipt['id']}", headers=auth("caseworker")).status_code == 200
        assert http.get(f"/no/such/{code}").status_code == 404
        http.request("SECRETIVE", f"/track/{code}")

    lines = [r.getMessage() for r in caplog.records if r.name == "mediation.access"]
    assert len(lines) == 4, lines
    assert re.fullmatch(r"GET /track/\{tracking_code\} 200 \d+\.\d ms", lines[0]), lines[0]
    assert lines[1].startswith("GET /cases/{case_id} 200 ")
    assert lines[2].startswith("GET unmatched 404 ")
    assert lines[3].startswith("other /track/{tracking_code} 405 ")
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (code, code.replace("-", ""), receipt["id"], "jeanne", "SECRETIVE"):
        assert secret not in everything


# Readiness.


def test_readiness_tells_an_anonymous_caller_only_that_it_is_ready(http: TestClient) -> None:
    http.post("/cases", json=report_body(), headers=auth("reporter"))
    answer = http.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready"}


@pytest.mark.parametrize("role", ["caseworker", "auditor", "analyst", "dpo"])
def test_readiness_details_are_for_the_staff(http: TestClient, role: str) -> None:
    receipt = http.post("/cases", json=report_body(), headers=auth("reporter")).json()
    answer = http.get("/readyz", headers=auth(role))
    assert answer.status_code == 200, answer.text
    detail: dict[str, Any] = answer.json()
    assert detail["status"] == "ready"
    assert detail["checks"] == {"database": "ok", "mail": "ok"}
    assert detail["position"] == receipt["position"]
    assert detail["projections"]
    for projection in detail["projections"]:
        assert set(projection) == {"name", "position", "lag", "error"}
    assert set(detail["mail"]) == {"pending", "sent", "dead", "cancelled"}


def test_readiness_details_refuse_the_reporting_form_and_unknown_tokens(http: TestClient) -> None:
    assert_problem(http.get("/readyz", headers=auth("reporter")), 403)
    unknown = http.get("/readyz", headers={"Authorization": "Bearer not-a-token-it-knows"})
    assert_problem(unknown, 401)
    assert "WWW-Authenticate" in unknown.headers


# `mediation serve` itself: no banner, no raw path in its logs.


@pytest.mark.slow
def test_serve_shows_no_banner_and_logs_no_tracking_code(
    servers: list[Server], tmp_path: Path
) -> None:
    env = server_env(
        MEDIATION_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        MEDIATION_TOKENS=TOKENS_SETTING,
        MEDIATION_PLATFORMS_FILE=str(PLATFORMS_FILE),
    )
    occurred_on = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    server = start(servers, tmp_path, env, "serve")
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        reported = client.post(
            "/cases", json=report_body(occurred_on=occurred_on), headers=auth("reporter")
        )
        assert reported.status_code == 201, reported.text
        code = reported.json()["tracking_code"]
        tracked = client.get(f"/track/{code}")
        assert tracked.status_code == 200, tracked.text
    server.stop()

    for answer in (reported, tracked):
        assert "server" not in answer.headers
        assert "date" in answer.headers
    assert "GET /track/{tracking_code} 200" in server.stderr, server.stderr
    assert code not in server.stderr + server.stdout
