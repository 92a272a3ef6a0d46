"""Personal data: encrypted per case, never stored in clear, erasable, and its keys.

Issue 3 and API.md (Trust): the contact's name and e-mail and every free text are stored as
AES-GCM ciphertext under a key of their case, itself stored wrapped by a key held outside the
database. `POST /cases/{id}/erase-personal-data` (dpo) destroys that key: the case still loads
and replays, with every personal field reading "[effacé]", and its seals still verify. The
retention command erases cases resolved long ago; in development the keys are made at the first
start beside the SQLite file, and PostgreSQL refuses to start without them.

Most tests drive the real HTTP app on a SQLite file and on PostgreSQL, and read what the
database holds directly (the SQLite file and its WAL; every row of the PostgreSQL schema).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from uuid import uuid4

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from psycopg import sql

from application.clock import SettableClock
from application.mediation import MediationApplication
from application.personal_data import PersonalDataUnreadable
from application.sealing import Sealer
from domain.case import Case
from domain.platforms import BUILTIN_PLATFORMS
from infrastructure.settings import Settings
from infrastructure.settings import SettingsError
from infrastructure.settings import Store
from infrastructure.settings import load_settings
from interfaces.composition import open_application
from interfaces.http.schemas import ReportCaseRequest
from tests.conftest import ACTORS
from tests.conftest import KEY_SETTINGS
from tests.conftest import PLATFORMS_FILE
from tests.conftest import START
from tests.conftest import TEST_KEYS
from tests.conftest import TOKENS_SETTING
from tests.conftest import PostgresSchema
from tests.conftest import auth
from tests.conftest import report_body
from tests.conftest import store_environment
from tests.interfaces.problems import assert_problem

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from interfaces.cli import main; main()"]

ERASED = "[effacé]"
ERASED_TYPE = "/problems/personal-data-erased"
# The optional personal fields of a case's state (besides the contact and the description).
OPTIONAL_PERSONAL = (
    "summary",
    "message",
    "platform_response",
    "escalation_note",
    "resolution_summary",
)
# The personal fields of each event's data in the history.
PERSONAL_EVENT_DATA = {
    "Qualified": ("summary",),
    "SentToPlatform": ("message",),
    "PlatformResponded": ("response",),
    "EscalatedToMediator": ("note",),
    "Resolved": ("summary",),
}
ROLES = ("reporter", "caseworker", "auditor", "analyst", "dpo")
KEY_VARIABLES = ("MEDIATION_SEAL_KEYS", "MEDIATION_DATA_KEYS", "MEDIATION_SIGNING_KEY")


# What a case is made of: distinctive texts, so that finding one in the database is a leak.


@dataclass(frozen=True)
class Texts:
    """Distinctive personal texts of one case, each with an ASCII marker of its own."""

    tag: str

    @classmethod
    def new(cls) -> Texts:
        return cls(uuid4().hex[:12])

    def marker(self, kind: str) -> str:
        return f"{kind.upper()}Q{self.tag}"

    def text(self, kind: str) -> str:
        # Accents and quotes, so that the escaped forms differ from the UTF-8 one.
        return f'Zéphyrine « {self.marker(kind)} » déréférencée, naïve ł "{kind}"'

    @property
    def company(self) -> str:
        return f"Atelier Témoin {self.tag}"

    @property
    def platform(self) -> str:
        """A platform as a reporter wrote it: free text, so personal data."""
        return f"Plateforme Témoin {self.tag}"

    @property
    def platform_key(self) -> str:
        """That platform's key, which figures count it by: not personal data, kept in clear."""
        return f"plateforme_temoin_{self.tag}"

    @property
    def contact_name(self) -> str:
        return f"Zéphyrine Kwaśniewska {self.marker('contact')}"

    @property
    def contact_email(self) -> str:
        return f"{self.marker('email').lower()}@kwasniewska-secret.fr"

    def personal(self) -> list[str]:
        """Every personal text a full workflow records, and the markers inside them."""
        kinds = ("description", "summary", "message", "response", "note", "resolution")
        return [
            self.company,
            self.platform,
            self.contact_name,
            self.contact_email,
            self.marker("contact"),
            self.marker("email").lower(),
            *(self.text(kind) for kind in kinds),
            *(self.marker(kind) for kind in kinds),
        ]

    def report(self) -> dict[str, Any]:
        return report_body(
            name=self.company,
            platform=self.platform,
            contact_name=self.contact_name,
            contact_email=self.contact_email,
            description=self.text("description"),
        )


QUALIFY = {"category": "delisting", "priority": "normal", "summary": "Delisted."}
SEND = {"message": "Please explain the delisting."}
RESPOND = {"stance": "refused", "response": "We keep the delisting."}
ESCALATE_WITH_NOTE = {"reason": "unsatisfactory_response", "note": "Refusal without reasons."}
ESCALATE_WITHOUT_NOTE = {"reason": "no_response"}
WITHDRAW = {"outcome": "withdrawn", "summary": "The business withdrew its report."}
RESOLVE = {"outcome": "resolved", "summary": "Listings restored."}


def report(http: TestClient, body: dict[str, Any] | None = None) -> tuple[str, str]:
    """Reports a case; its id and tracking code."""
    answer = http.post("/cases", json=body or report_body(), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], answer.json()["tracking_code"]


def command(http: TestClient, case_id: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(f"/cases/{case_id}/{name}", json=body, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def full_workflow(http: TestClient, texts: Texts) -> tuple[str, str]:
    """A case through every command, each carrying a distinctive text; id and tracking code."""
    case_id, code = report(http, texts.report())
    qualify = {**QUALIFY, "summary": texts.text("summary")}
    command(http, case_id, "qualify", qualify)
    command(http, case_id, "send-to-platform", {"message": texts.text("message")})
    respond = {**RESPOND, "response": texts.text("response")}
    command(http, case_id, "platform-response", respond)
    escalate = {**ESCALATE_WITH_NOTE, "note": texts.text("note")}
    command(http, case_id, "escalate", escalate)
    resolve = {"outcome": "not_resolved", "summary": texts.text("resolution")}
    command(http, case_id, "resolve", resolve)
    return case_id, code


def read_case(http: TestClient, case_id: str, **params: Any) -> dict[str, Any]:
    answer = http.get(f"/cases/{case_id}", params=params, headers=auth("auditor"))
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    return view


def history(http: TestClient, case_id: str) -> list[dict[str, Any]]:
    answer = http.get(f"/cases/{case_id}/history", headers=auth("auditor"))
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def integrity(http: TestClient, case_id: str) -> dict[str, Any]:
    answer = http.get(f"/cases/{case_id}/integrity", headers=auth("auditor"))
    assert answer.status_code == 200, answer.text
    report_: dict[str, Any] = answer.json()
    return report_


def erase(http: TestClient, case_id: str, reason: str = "GDPR request DPO-2026-17") -> Any:
    return http.post(
        f"/cases/{case_id}/erase-personal-data", json={"reason": reason}, headers=auth("dpo")
    )


def log_position(http: TestClient) -> int:
    ready = http.get("/readyz", headers=auth("auditor"))
    assert ready.status_code == 200, ready.text
    position = ready.json()["position"]
    assert isinstance(position, int)
    return position


# What an erasure must turn a view into.


def erased_view(view: dict[str, Any]) -> dict[str, Any]:
    """The view with every personal field that was set reading "[effacé]", nothing else."""
    erased = json.loads(json.dumps(view))
    erased["company"]["name"] = ERASED
    erased["company"]["contact_name"] = ERASED
    erased["company"]["contact_email"] = ERASED
    erased["platform_name"] = ERASED
    erased["description"] = ERASED
    for name in OPTIONAL_PERSONAL:
        if erased[name] is not None:
            erased[name] = ERASED
    return erased


def erased_event(event: dict[str, Any]) -> dict[str, Any]:
    erased = json.loads(json.dumps(event))
    data = erased["data"]
    if erased["type"] == "Reported":
        data["company"]["name"] = ERASED
        data["platform"]["reported_as"] = ERASED
        data["company"]["contact_name"] = ERASED
        data["company"]["contact_email"] = ERASED
        data["description"] = ERASED
    for name in PERSONAL_EVENT_DATA.get(erased["type"], ()):
        if data[name] is not None:
            data[name] = ERASED
    return erased


def without(view: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in names}


# What the database holds.


def forms(text: str) -> set[bytes]:
    """The ways a text can sit in stored bytes: UTF-8, and JSON with or without escapes."""
    return {
        text.encode(),
        json.dumps(text)[1:-1].encode(),
        json.dumps(text, ensure_ascii=False)[1:-1].encode(),
    }


def found(stored: bytes, texts: Iterable[str]) -> list[str]:
    return [text for text in texts if any(form in stored for form in forms(text))]


def sqlite_files(settings: Settings) -> list[Path]:
    path = settings.sqlite_path
    assert path is not None
    return [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]


def stored_bytes(settings: Settings) -> bytes:
    """Everything the database holds: the SQLite file and its WAL, or every row of every table
    of the PostgreSQL schema (bytea as bytes, and each row cast to text)."""
    if settings.store is Store.SQLITE:
        return b"\n".join(path.read_bytes() for path in sqlite_files(settings))
    assert settings.store is Store.POSTGRES
    chunks: list[bytes] = []
    with PostgresSchema(settings.database_url).connect() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (settings.database_schema,),
            )
        ]
        assert "mediation_events" in tables, tables
        for table in tables:
            name = sql.Identifier(settings.database_schema, table)
            for row in connection.execute(sql.SQL("SELECT * FROM {}").format(name)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        chunks.append(bytes(value))
                    else:
                        chunks.append(str(value).encode())
            for (text,) in connection.execute(sql.SQL("SELECT t::text FROM {} t").format(name)):
                chunks.append(text.encode())
    return b"\n".join(chunks)


def wrapped_key(settings: Settings, case_id: str) -> bytes | None:
    """The case's wrapped data key as its table holds it, or None."""
    if settings.store is Store.SQLITE:
        assert settings.sqlite_path is not None
        with closing(sqlite3.connect(settings.sqlite_path)) as connection:
            row = connection.execute(
                "SELECT wrapped FROM case_keys WHERE case_id = ?", (UUID(case_id).hex,)
            ).fetchone()
    else:
        table = sql.Identifier(settings.database_schema, "mediation_case_keys")
        with PostgresSchema(settings.database_url).connect() as connection:
            row = connection.execute(
                sql.SQL("SELECT wrapped FROM {} WHERE case_id = %s").format(table),
                (UUID(case_id),),
            ).fetchone()
    return None if row is None else bytes(row[0])


# 1. Plaintext never stored.


def test_personal_data_is_never_stored_in_clear(
    http: TestClient, durable_settings: Settings
) -> None:
    texts = Texts.new()
    case_id, _ = full_workflow(http, texts)

    stored = stored_bytes(durable_settings)
    # The search sees what is stored in clear: the platform's key is not personal data.
    assert found(stored, [texts.platform_key]) == [texts.platform_key]
    assert found(stored, texts.personal()) == []

    # Yet those who may read the case read it in clear.
    view = read_case(http, case_id)
    assert view["company"]["contact_name"] == texts.contact_name
    assert view["company"]["contact_email"] == texts.contact_email
    assert view["description"] == texts.text("description")
    assert view["summary"] == texts.text("summary")
    assert view["message"] == texts.text("message")
    assert view["platform_response"] == texts.text("response")
    assert view["escalation_note"] == texts.text("note")
    assert view["resolution_summary"] == texts.text("resolution")
    data = {e["type"]: e["data"] for e in history(http, case_id)}
    assert data["Reported"]["company"]["contact_email"] == texts.contact_email
    assert data["PlatformResponded"]["response"] == texts.text("response")


# 2. Erasure.


def test_erasure_leaves_a_case_that_replays_with_placeholders(
    http: TestClient, durable_settings: Settings, clock: SettableClock
) -> None:
    texts = Texts.new()
    case_id, code = full_workflow(http, texts)
    head = 6
    before = read_case(http, case_id)
    assert before["version"] == head
    versions_before = {v: read_case(http, case_id, version=v) for v in range(1, head + 1)}
    history_before = history(http, case_id)
    key_before = wrapped_key(durable_settings, case_id)
    assert key_before is not None, "the case's wrapped key is stored with its first event"
    if durable_settings.store is Store.SQLITE:
        # The search below would see the key: it is in the file before the erasure.
        assert key_before in stored_bytes(durable_settings)
    position = log_position(http)

    clock.advance(timedelta(days=1))
    answer = erase(http, case_id, "GDPR art. 17 request DPO-2026-17")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"id", "version", "status", "position"}
    assert body["id"] == case_id
    assert body["version"] == head + 1
    assert body["status"] == "resolved"
    assert body["position"] > position
    assert answer.headers["ETag"] == f'"{head + 1}"'

    # The case still loads; personal fields read "[effacé]", everything else is unchanged.
    after = read_case(http, case_id)
    assert after["version"] == head + 1
    assert after["personal_data_erased"] is True
    assert without(after, "version", "updated_at", "personal_data_erased") == without(
        erased_view(before), "version", "updated_at", "personal_data_erased"
    )
    for name in ("description", *OPTIONAL_PERSONAL):
        assert after[name] == ERASED, name
    assert after["company"]["contact_name"] == ERASED
    assert after["company"]["contact_email"] == ERASED
    assert after["company"]["name"] == ERASED
    assert after["platform_name"] == ERASED
    assert after["platform"] == texts.platform_key
    assert after["mediator_reference"] == before["mediator_reference"] is not None
    for version, old in versions_before.items():
        assert read_case(http, case_id, version=version) == erased_view(old), version

    events = history(http, case_id)
    assert len(events) == head + 1
    for event, old in zip(events, history_before, strict=False):
        assert event == erased_event(old)
    last = events[-1]
    assert last["type"] == "PersonalDataErased"
    assert last["version"] == head + 1
    assert last["actor"] == ACTORS["dpo"]
    assert last["data"] == {"reason": "GDPR art. 17 request DPO-2026-17"}

    tracked = http.get(f"/track/{code}")
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["status"] == "resolved"

    report_ = integrity(http, case_id)
    assert report_["verified"] is True, report_
    assert report_["problems"] == []
    assert report_["head_version"] == head + 1

    # The key is gone, and so is any trace of it; no plaintext anywhere either.
    assert wrapped_key(durable_settings, case_id) is None
    stored = stored_bytes(durable_settings)
    if durable_settings.store is Store.SQLITE:
        assert key_before not in stored, "the destroyed key's bytes are still in the file"
    assert found(stored, texts.personal()) == []
    assert found(stored, [texts.platform_key]) == [texts.platform_key]


def test_erasure_of_a_case_with_a_snapshot(
    http: TestClient, durable_settings: Settings, clock: SettableClock
) -> None:
    texts = Texts.new()
    case_id, _ = report(http, texts.report())
    summaries = [f"{texts.text('summary')} #{n}" for n in range(55)]
    for summary in summaries:
        command(http, case_id, "qualify", {**QUALIFY, "summary": summary})
    head = 1 + len(summaries)
    before = integrity(http, case_id)
    assert before["verified"] is True, before
    assert before["snapshots"] >= 1, "55 requalifications make a snapshot (every 50 events)"
    sampled = (1, 2, 49, 50, 51, head)
    versions_before = {v: read_case(http, case_id, version=v) for v in sampled}
    assert versions_before[50]["summary"] == summaries[48]
    assert versions_before[head]["summary"] == summaries[-1]

    clock.advance(timedelta(hours=1))
    answer = erase(http, case_id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == head + 1

    after = read_case(http, case_id)
    assert after["version"] == head + 1
    assert after["summary"] == ERASED
    assert after["description"] == ERASED
    assert after["company"]["contact_name"] == ERASED
    assert after["company"]["contact_email"] == ERASED
    assert after["personal_data_erased"] is True
    assert without(after, "version", "updated_at", "personal_data_erased") == without(
        erased_view(versions_before[head]), "version", "updated_at", "personal_data_erased"
    )
    for version, old in versions_before.items():
        assert read_case(http, case_id, version=version) == erased_view(old), version

    events = history(http, case_id)
    assert [e["type"] for e in events] == ["Reported", *["Qualified"] * 55, "PersonalDataErased"]
    assert {e["data"]["summary"] for e in events[1:-1]} == {ERASED}

    report_ = integrity(http, case_id)
    assert report_["verified"] is True, report_
    assert report_["snapshots"] >= 1

    assert wrapped_key(durable_settings, case_id) is None
    stored = stored_bytes(durable_settings)
    assert found(stored, [*texts.personal(), *summaries]) == []


def set_wrapped_key(settings: Settings, case_id: str, wrapped: bytes) -> None:
    """Overwrite the case's wrapped key, as someone with write access to the database could."""
    if settings.store is Store.SQLITE:
        assert settings.sqlite_path is not None
        with closing(sqlite3.connect(settings.sqlite_path)) as connection:
            connection.execute(
                "UPDATE case_keys SET wrapped = ? WHERE case_id = ?", (wrapped, UUID(case_id).hex)
            )
            connection.commit()
    else:
        table = sql.Identifier(settings.database_schema, "mediation_case_keys")
        with PostgresSchema(settings.database_url).connect() as connection:
            connection.execute(
                sql.SQL("UPDATE {} SET wrapped = %s WHERE case_id = %s").format(table),
                (wrapped, UUID(case_id)),
            )


def test_a_case_whose_key_was_tampered_with_is_not_served(
    http: TestClient, durable_settings: Settings
) -> None:
    """Another case's key put in its row: the personal data does not decrypt. API.md: never
    served as if intact, a problem+json of type integrity-failure (problems.py maps
    PersonalDataUnreadable to it), never a 500."""
    case_id, _ = report(http, Texts.new().report())
    other, _ = report(http)
    other_key = wrapped_key(durable_settings, other)
    assert other_key is not None
    set_wrapped_key(durable_settings, case_id, other_key)
    position = log_position(http)

    read = http.get(f"/cases/{case_id}", headers=auth("auditor"))
    assert assert_problem(read, 409)["type"] == "/problems/integrity-failure"
    qualify = http.post(f"/cases/{case_id}/qualify", json=QUALIFY, headers=auth("caseworker"))
    assert assert_problem(qualify, 409)["type"] == "/problems/integrity-failure"
    assert log_position(http) == position
    assert read_case(http, other)["status"] == "reported"


def rename_case_keys(settings: Settings, old: str, new: str) -> None:
    """Rename the table of case keys, so that reading a key fails in the store."""
    if settings.store is Store.SQLITE:
        assert settings.sqlite_path is not None
        with closing(sqlite3.connect(settings.sqlite_path)) as connection:
            connection.execute(f"ALTER TABLE {old} RENAME TO {new}")
    else:
        with PostgresSchema(settings.database_url).connect() as connection:
            connection.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    sql.Identifier(settings.database_schema, old), sql.Identifier(new)
                )
            )


def test_a_case_key_the_store_fails_to_read_is_a_503_not_an_integrity_failure(
    http: TestClient, durable_settings: Settings
) -> None:
    """The case's events are read, then its key read fails in the store (its table gone, as a
    connection dropped at that moment would): the library wraps that in a deserialisation
    error, which must still answer 503 store-unavailable with Retry-After, not a 500, and not
    an integrity failure, since nothing stored is wrong."""
    case_id, code = report(http, Texts.new().report())
    position = log_position(http)
    table = "case_keys" if durable_settings.store is Store.SQLITE else "mediation_case_keys"
    rename_case_keys(durable_settings, table, "case_keys_away")

    answers = [
        http.get(f"/cases/{case_id}", headers=auth("auditor")),
        http.get(f"/cases/{case_id}/history", headers=auth("auditor")),
        http.get(f"/track/{code}"),
        http.post(f"/cases/{case_id}/qualify", json=QUALIFY, headers=auth("caseworker")),
    ]
    for answer in answers:
        body = assert_problem(answer, 503)
        assert body["type"] == "/problems/store-unavailable", answer.request.url
        assert int(answer.headers["Retry-After"]) > 0

    rename_case_keys(durable_settings, "case_keys_away", table)
    assert log_position(http) == position
    assert read_case(http, case_id)["status"] == "reported"


# 3. Commands after an erasure.

# Each refused command: (the command, the commands that bring a reported case to a status
# allowing it, its body).
TO_QUALIFIED = [("qualify", QUALIFY)]
TO_AWAITING = [*TO_QUALIFIED, ("send-to-platform", SEND)]
TO_RESPONDED = [*TO_AWAITING, ("platform-response", RESPOND)]
REFUSED_AFTER_ERASURE = {
    "qualify": ("qualify", [], QUALIFY),
    "resolve when reported": ("resolve", [], WITHDRAW),
    "send-to-platform": ("send-to-platform", TO_QUALIFIED, SEND),
    "platform-response": ("platform-response", TO_AWAITING, RESPOND),
    "escalate with a note": ("escalate", TO_AWAITING, ESCALATE_WITH_NOTE),
    "resolve when responded": ("resolve", TO_RESPONDED, RESOLVE),
}


@pytest.mark.parametrize("refused", list(REFUSED_AFTER_ERASURE))
def test_commands_that_add_personal_data_to_an_erased_case_are_refused(
    http: TestClient, refused: str
) -> None:
    name, preparation, body = REFUSED_AFTER_ERASURE[refused]
    case_id, _ = report(http)
    for step, step_body in preparation:
        command(http, case_id, step, step_body)
    erased = erase(http, case_id)
    assert erased.status_code == 200, erased.text
    status = erased.json()["status"]
    position = log_position(http)
    length = len(history(http, case_id))

    answer = http.post(f"/cases/{case_id}/{name}", json=body, headers=auth("caseworker"))
    problem = assert_problem(answer, 409)
    assert problem["type"] == ERASED_TYPE, problem
    assert problem.get("current_status") == status

    assert log_position(http) == position
    assert len(history(http, case_id)) == length
    view = read_case(http, case_id)
    assert view["status"] == status
    assert view["description"] == ERASED


def test_escalating_an_erased_case_without_a_note_is_allowed(http: TestClient) -> None:
    case_id, _ = report(http)
    command(http, case_id, "qualify", QUALIFY)
    command(http, case_id, "send-to-platform", SEND)
    assert erase(http, case_id).status_code == 200

    escalated = command(http, case_id, "escalate", ESCALATE_WITHOUT_NOTE)
    assert escalated["status"] == "with_mediator"
    assert escalated["mediator_reference"]
    view = read_case(http, case_id)
    assert view["status"] == "with_mediator"
    assert view["escalation_reason"] == "no_response"
    assert view["escalation_note"] is None
    assert view["summary"] == view["message"] == view["description"] == ERASED
    events = history(http, case_id)
    assert events[-1]["type"] == "EscalatedToMediator"
    assert events[-1]["data"]["note"] is None

    # Closing it with a summary is refused, since that is free text; without one it closes.
    position = log_position(http)
    answer = http.post(f"/cases/{case_id}/resolve", json=RESOLVE, headers=auth("caseworker"))
    assert assert_problem(answer, 409)["type"] == ERASED_TYPE
    assert log_position(http) == position
    resolved = command(http, case_id, "resolve", without_text(RESOLVE))
    assert resolved["status"] == "resolved"
    assert integrity(http, case_id)["verified"] is True


def without_text(body: dict[str, Any]) -> dict[str, Any]:
    """A command's body with its free text left out."""
    return {k: v for k, v in body.items() if k not in ("summary", "message", "response", "note")}


# Every open status, and the way on from it to an outcome with no free text.
ON_WITHOUT_TEXT = {
    "reported": [("qualify", QUALIFY)],
    "qualified": [("send-to-platform", SEND)],
    "awaiting_platform": [("platform-response", RESPOND)],
    "platform_responded": [("escalate", ESCALATE_WITH_NOTE)],
    "with_mediator": [("resolve", RESOLVE)],
}


@pytest.mark.parametrize("status", list(ON_WITHOUT_TEXT))
def test_an_open_case_erased_in_any_status_still_reaches_an_outcome(
    http: TestClient, status: str
) -> None:
    """Erased, a case takes its commands without free text: none can be written any more
    (its key is gone), and none is asked for, so no open case is stuck."""
    case_id, _ = report(http)
    statuses = list(ON_WITHOUT_TEXT)
    for step in statuses[: statuses.index(status)]:
        for name, body in ON_WITHOUT_TEXT[step]:
            command(http, case_id, name, body)
    erased = erase(http, case_id)
    assert erased.json()["status"] == status
    for step in statuses[statuses.index(status) :]:
        for name, body in ON_WITHOUT_TEXT[step]:
            listed = {a["command"] for a in read_case(http, case_id)["allowed_commands"]}
            assert name in listed, (name, listed)
            done = command(http, case_id, name, without_text(body))
    assert done["status"] == "resolved"
    view = read_case(http, case_id)
    assert view["outcome"] == RESOLVE["outcome"]
    assert view["resolution_summary"] is None
    assert integrity(http, case_id)["verified"] is True
    events = history(http, case_id)
    erasure = [e["type"] for e in events].index("PersonalDataErased")
    after = events[erasure + 1 :]
    assert after, "no command was recorded after the erasure"
    for event in after:
        written = {k for k, v in event["data"].items() if v is not None}
        assert not written & {"summary", "message", "response", "note"}, event


@pytest.mark.parametrize(
    ("name", "preparation", "body", "field"),
    [
        ("qualify", [], QUALIFY, "summary"),
        ("send-to-platform", TO_QUALIFIED, SEND, "message"),
        ("platform-response", TO_AWAITING, RESPOND, "response"),
        ("resolve", TO_RESPONDED, RESOLVE, "summary"),
    ],
)
def test_while_a_case_holds_personal_data_its_commands_need_their_text(
    http: TestClient, name: str, preparation: list[Any], body: dict[str, Any], field: str
) -> None:
    case_id, _ = report(http)
    for step, step_body in preparation:
        command(http, case_id, step, step_body)
    position = log_position(http)
    answer = http.post(
        f"/cases/{case_id}/{name}", json=without_text(body), headers=auth("caseworker")
    )
    problem = assert_problem(answer, 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert log_position(http) == position


def test_erasing_twice_is_refused(http: TestClient) -> None:
    case_id, _ = report(http)
    assert erase(http, case_id).status_code == 200
    position = log_position(http)
    length = len(history(http, case_id))

    again = erase(http, case_id, "second request")
    problem = assert_problem(again, 409)
    assert problem["type"] == ERASED_TYPE, problem
    assert log_position(http) == position
    assert len(history(http, case_id)) == length


BAD_ERASE_BODIES = {
    "missing reason": {},
    "empty reason": {"reason": ""},
    "blank reason": {"reason": "   "},
    "reason too long": {"reason": "x" * 1001},
    "reason not text": {"reason": 42},
    "null reason": {"reason": None},
    "unknown field": {"reason": "GDPR request", "contact_name": "Jeanne"},
}


def test_bad_input_to_erase_is_refused_and_records_nothing(
    http: TestClient, durable_settings: Settings
) -> None:
    texts = Texts.new()
    case_id, _ = report(http, texts.report())
    position = log_position(http)

    for label, body in BAD_ERASE_BODIES.items():
        answer = http.post(f"/cases/{case_id}/erase-personal-data", json=body, headers=auth("dpo"))
        problem = assert_problem(answer, 422)
        assert problem["type"] == "/problems/invalid-request", (label, problem)
        fields = [e["field"] for e in problem.get("errors", [])]
        assert any("reason" in f or "contact_name" in f for f in fields), (label, problem)
    not_json = http.post(
        f"/cases/{case_id}/erase-personal-data",
        content=b"{not json",
        headers={**auth("dpo"), "Content-Type": "application/json"},
    )
    assert_problem(not_json, 422)

    assert log_position(http) == position
    assert [e["type"] for e in history(http, case_id)] == ["Reported"]
    assert read_case(http, case_id)["company"]["contact_name"] == texts.contact_name
    assert wrapped_key(durable_settings, case_id) is not None

    # A reason of exactly 1000 characters is accepted, and recorded whole.
    longest = "r" * 1000
    assert erase(http, case_id, longest).status_code == 200
    assert history(http, case_id)[-1]["data"]["reason"] == longest


def test_erasing_an_unknown_case_is_404(http: TestClient) -> None:
    report(http)
    position = log_position(http)
    answer = erase(http, str(uuid4()))
    assert assert_problem(answer, 404)["type"] == "/problems/not-found"
    assert log_position(http) == position


# 4. Roles.

TRUST_ENDPOINTS = {
    "integrity": ("GET", "integrity", {"auditor"}),
    "dossier": ("GET", "dossier", {"auditor"}),
    "erase-personal-data": ("POST", "erase-personal-data", {"dpo"}),
}


def call(http: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    if method == "POST":
        return http.post(path, json={"reason": "GDPR request"}, headers=headers)
    return http.get(path, headers=headers)


@pytest.mark.parametrize("endpoint", list(TRUST_ENDPOINTS))
def test_trust_endpoints_admit_only_the_roles_of_the_table(http: TestClient, endpoint: str) -> None:
    method, suffix, allowed = TRUST_ENDPOINTS[endpoint]
    case_id, _ = report(http)
    path = f"/cases/{case_id}/{suffix}"
    position = log_position(http)

    for caller_headers in ({}, {"Authorization": "Bearer not-a-token-the-service-knows"}):
        answer = call(http, method, path, caller_headers)
        assert assert_problem(answer, 401)["type"] == "/problems/unauthenticated"
        assert answer.headers.get("WWW-Authenticate", "").startswith("Bearer")
    for role in ROLES:
        if role in allowed:
            continue
        answer = call(http, method, path, auth(role))
        assert assert_problem(answer, 403)["type"] == "/problems/forbidden", role
    assert log_position(http) == position
    assert read_case(http, case_id)["description"] != ERASED

    for role in sorted(allowed):
        answer = call(http, method, path, auth(role))
        assert answer.status_code == 200, (role, answer.text)
    if method == "POST":
        assert read_case(http, case_id)["description"] == ERASED


# 5. Retention.


def cli(settings: Settings, *args: str, keys: bool = True) -> subprocess.CompletedProcess[str]:
    """`mediation …` as a process on the settings' store (with the test keys, or none)."""
    variables = store_environment(settings)
    if not keys:
        variables = {k: v for k, v in variables.items() if k not in TEST_KEYS}
    return run_cli(variables, *args)


def run_cli(variables: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`mediation …` as a process with `variables` and no other MEDIATION_* variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    env.update(variables)
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def years_after(day: date, years: int) -> str:
    return day.replace(year=day.year + years).isoformat()


def test_retention_erases_only_cases_resolved_long_enough_ago(
    http: TestClient, durable_settings: Settings, clock: SettableClock
) -> None:
    resolved_texts, open_texts, recent_texts = Texts.new(), Texts.new(), Texts.new()
    resolved, _ = report(http, resolved_texts.report())
    command(http, resolved, "resolve", WITHDRAW)
    still_open, _ = report(http, open_texts.report())
    command(http, still_open, "qualify", QUALIFY)
    # A case resolved two years later is still within the retention period.
    clock.advance(timedelta(days=2 * 365))
    recent, _ = report(http, recent_texts.report())
    command(http, recent, "resolve", WITHDRAW)
    resolved_on = START.date()  # the test clock's date when the first case was resolved

    def run(*args: str) -> str:
        done = cli(durable_settings, "retention", "run", "--years", "5", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    position = log_position(http)
    out = run("--as-of", years_after(resolved_on, 4))
    assert "0 case(s) erased" in out, out
    assert resolved not in out
    assert log_position(http) == position

    out = run("--as-of", years_after(resolved_on, 6), "--dry-run")
    assert f"would erase {resolved}" in out, out
    assert still_open not in out
    assert recent not in out
    assert "1 case(s) to erase" in out, out
    assert log_position(http) == position
    assert read_case(http, resolved)["description"] == resolved_texts.text("description")

    out = run("--as-of", years_after(resolved_on, 6))
    assert f"erased {resolved}" in out, out
    assert still_open not in out
    assert recent not in out
    assert "1 case(s) erased" in out, out
    assert log_position(http) == position + 1

    view = read_case(http, resolved)
    assert view["company"]["contact_name"] == ERASED
    assert view["description"] == ERASED
    assert view["resolution_summary"] == ERASED
    assert view["status"] == "resolved"
    last = history(http, resolved)[-1]
    assert last["type"] == "PersonalDataErased"
    assert last["actor"] == "retention"
    assert integrity(http, resolved)["verified"] is True
    assert wrapped_key(durable_settings, resolved) is None
    for case_id, texts in ((still_open, open_texts), (recent, recent_texts)):
        view = read_case(http, case_id)
        assert view["company"]["contact_name"] == texts.contact_name
        assert view["description"] == texts.text("description")

    out = run("--as-of", years_after(resolved_on, 6))
    assert "0 case(s) erased" in out, out
    assert log_position(http) == position + 1


# 6. Keys in development.


@pytest.fixture
def no_key_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*KEY_VARIABLES, "MEDIATION_KEYS_FILE", "MEDIATION_DATA_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)


def dev_settings(database: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{database}",
        tokens=TOKENS_SETTING,
        platforms_file=PLATFORMS_FILE,
        checkpoint_dir=database.parent / "checkpoints",
    )


@pytest.mark.usefixtures("no_key_settings")
def test_first_start_on_sqlite_makes_an_owner_only_key_file_then_reuses_it(
    tmp_path: Path, clock: SettableClock
) -> None:
    database = tmp_path / "dev.db"
    key_file = tmp_path / "dev.db.keys.json"
    settings = dev_settings(database)
    assert settings.seal_keys is None

    messages: list[str] = []
    application = open_application(settings, clock, announce=messages.append)
    try:
        texts = Texts.new()
        request = ReportCaseRequest.model_validate(texts.report()).to_report(BUILTIN_PLATFORMS)
        case_id = application.report_case(request, actor=ACTORS["reporter"]).case_id
    finally:
        application.close()
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(messages) == 2, messages  # the key file, and the ring of data keys
    assert str(key_file) in messages[0]
    assert str(tmp_path / "dev.db.data-keys.json") in messages[1]
    content = key_file.read_bytes()
    # The data keys are in a ring of their own, which the service rotates.
    assert set(json.loads(content)) == {"MEDIATION_SEAL_KEYS", "MEDIATION_SIGNING_KEY"}

    messages.clear()
    application = open_application(settings, clock, announce=messages.append)
    try:
        case = application.get_case(case_id)
        assert case.company.contact_name.text == texts.contact_name
        assert case.description.text == texts.text("description")
    finally:
        application.close()
    assert messages == [], "a second start reuses the key file, silently"
    assert key_file.read_bytes() == content

    key_file.chmod(0o644)
    with pytest.raises(SettingsError) as refused:
        open_application(settings, clock, announce=messages.append)
    message = str(refused.value)
    assert "\n" not in message
    assert str(key_file) in message
    assert key_file.read_bytes() == content


def test_the_command_line_makes_the_key_file_says_so_and_refuses_an_open_one(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'cli.db'}",
        checkpoint_dir=tmp_path / "checkpoints",
        **{name.removeprefix("MEDIATION_").lower(): value for name, value in TEST_KEYS.items()},
    )
    key_file = tmp_path / "cli.db.keys.json"

    first = cli(settings, "retention", "run", "--dry-run", keys=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert str(key_file) in first.stdout + first.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    second = cli(settings, "retention", "run", "--dry-run", keys=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert str(key_file) not in second.stdout + second.stderr

    key_file.chmod(0o640)
    refused = cli(settings, "retention", "run", "--dry-run", keys=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert str(key_file) in lines[0]
    assert "Traceback" not in refused.stdout + refused.stderr


@pytest.mark.usefixtures("no_key_settings")
def test_postgres_settings_without_keys_are_refused(tmp_path: Path) -> None:
    url = os.environ.get(
        "MEDIATION_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/mediation_test"
    )
    with pytest.raises(SettingsError, match="MEDIATION_SEAL_KEYS") as refused:
        load_settings(database_url=url, database_schema="public", tokens=TOKENS_SETTING)
    assert "\n" not in str(refused.value)

    # The command line says the same in one line, and starts nothing.
    variables = {
        "MEDIATION_DATABASE_URL": url,
        "MEDIATION_DATABASE_SCHEMA": "public",
        "MEDIATION_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
    }
    done = run_cli(variables, "retention", "run", "--dry-run")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "MEDIATION_SEAL_KEYS" in lines[0]


# Application level, on every store: each case has its own key.


def personal_ciphertext(mediation: MediationApplication, case_id: UUID) -> tuple[Any, str]:
    """The stored Reported record of the case (seal removed) and its description's ciphertext."""
    stored = mediation.recorder.select_events(case_id, lte=1)
    assert len(stored) == 1
    record = Sealer.open(stored[0]).record
    description = json.loads(record.state)["description"]
    assert description["_type_"] == "personal_text"
    return record, str(description["_data_"])


def unreadable_in(error: BaseException | None) -> bool:
    """Whether PersonalDataUnreadable is the error or what caused it."""
    while error is not None:
        if isinstance(error, PersonalDataUnreadable):
            return True
        error = error.__cause__ or error.__context__
    return False


def test_each_case_encrypts_under_a_key_of_its_own(mediation: MediationApplication) -> None:
    texts = Texts.new()
    request = ReportCaseRequest.model_validate(texts.report()).to_report(BUILTIN_PLATFORMS)
    case_a = mediation.report_case(request, actor=ACTORS["reporter"]).case_id
    case_b = mediation.report_case(request, actor=ACTORS["reporter"]).case_id
    record_a, ciphertext_a = personal_ciphertext(mediation, case_a)
    record_b, ciphertext_b = personal_ciphertext(mediation, case_b)

    # The same text in two cases is stored as two different ciphertexts, neither in clear.
    assert ciphertext_a != ciphertext_b
    for record in (record_a, record_b):
        assert found(record.state, texts.personal()) == []
        assert texts.platform_key.encode() in record.state

    key_a = mediation.case_keys.key_for(case_a)
    key_b = mediation.case_keys.key_for(case_b)
    assert key_a is not None
    assert key_b is not None
    assert key_a != key_b
    raw = base64.b64decode(ciphertext_a.removeprefix("v1."))
    nonce, sealed = raw[:12], raw[12:]
    assert AESGCM(key_a).decrypt(nonce, sealed, case_a.bytes).decode() == texts.text("description")
    with pytest.raises(InvalidTag):
        AESGCM(key_b).decrypt(nonce, sealed, case_a.bytes)
    with pytest.raises(InvalidTag):
        AESGCM(key_b).decrypt(nonce, sealed, case_b.bytes)

    # Case A's stored event presented as case B's does not decrypt.
    event = mediation.mapper.to_domain_event(record_a)
    assert isinstance(event, Case.Reported)
    assert event.description.text == texts.text("description")
    with pytest.raises(Exception) as moved:  # noqa: PT011 (the library wraps the error)
        mediation.mapper.to_domain_event(replace(record_a, originator_id=case_b))
    assert unreadable_in(moved.value), repr(moved.value)

    # And each case reads back its own text.
    assert mediation.get_case(case_a).description.text == texts.text("description")
    assert mediation.get_case(case_b).company.contact_email.text == texts.contact_email


# 7. The files at rest.


def at_rest_settings(database: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{database}",
        tokens=TOKENS_SETTING,
        platforms_file=PLATFORMS_FILE,
        checkpoint_dir=database.parent / "checkpoints",
        **KEY_SETTINGS,
    )


def modes(database: Path) -> dict[str, int]:
    """The permission bits of the database file and of the files SQLite keeps beside it."""
    return {
        p.name: stat.S_IMODE(p.stat().st_mode) for p in database.parent.glob(f"{database.name}*")
    }


def test_the_sqlite_file_and_its_companions_are_created_owner_only(
    tmp_path: Path, clock: SettableClock
) -> None:
    database = tmp_path / "at-rest.db"
    previous = os.umask(0o022)  # the usual default, which would give 0644
    try:
        messages: list[str] = []
        application = open_application(at_rest_settings(database), clock, messages.append)
        try:
            request = ReportCaseRequest.model_validate(Texts.new().report()).to_report(
                BUILTIN_PLATFORMS
            )
            application.report_case(request, actor=ACTORS["reporter"])
            found_modes = modes(database)
        finally:
            application.close()
    finally:
        os.umask(previous)
    assert {"at-rest.db", "at-rest.db-wal", "at-rest.db.data-keys.json"} <= set(found_modes)
    assert all(mode == 0o600 for mode in found_modes.values()), found_modes
    assert not [m for m in messages if "read by others" in m], messages


def test_a_database_file_readable_by_others_is_made_owner_only_and_said(
    tmp_path: Path, clock: SettableClock
) -> None:
    database = tmp_path / "shared.db"
    open_application(at_rest_settings(database), clock, lambda _: None).close()
    database.chmod(0o644)
    messages: list[str] = []
    open_application(at_rest_settings(database), clock, messages.append).close()
    assert modes(database)["shared.db"] == 0o600
    assert len(messages) == 1, messages
    assert "shared.db" in messages[0]
    assert "\n" not in messages[0]
