"""The staff console over HTTP: signing in and out, sessions, roles, the caseworker's queues and
the case page with its command forms (CSRF, If-Match, stale forms), on SQLite and PostgreSQL.

Accounts are made through the accounts service, as `mediation users add` makes them."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from application.access import Role
from application.accounts import StaffAccounts
from application.clock import SettableClock
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from interfaces.web.forms import CSRF_COOKIE
from interfaces.web.staff import SESSION_COOKIE
from tests.conftest import auth
from tests.conftest import report_body

PASSWORD = "correct horse battery"
STAFF_ROLES = {
    "alice": (Role.CASEWORKER, None),
    "bob": (Role.CASEWORKER, None),
    "aude": (Role.AUDITOR, None),
    "anna": (Role.ANALYST, None),
    "dora": (Role.DPO, None),
    "amazon-desk": (Role.PLATFORM, "amazon"),
}


def accounts_of(client: TestClient) -> StaffAccounts:
    accounts: StaffAccounts = client.app.state.accounts  # type: ignore[attr-defined]
    return accounts


@pytest.fixture
def console(http: TestClient) -> TestClient:
    """The app with one account per role (two caseworkers), made by the accounts service."""
    accounts = accounts_of(http)
    for username, (role, platform) in STAFF_ROLES.items():
        accounts.add(username, role, PASSWORD, by="test", platform=platform)
    return http


def csrf(client: TestClient) -> str:
    """The browser's CSRF token (a page sets it on the first visit)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/console/connexion")
    return client.cookies[CSRF_COOKIE]


def sign_in(
    client: TestClient, username: str, password: str = PASSWORD, next_page: str = "/console"
) -> Any:
    return client.post(
        "/console/connexion",
        data={"csrf": csrf(client), "username": username, "password": password, "next": next_page},
        follow_redirects=False,
    )


def signed_in(client: TestClient, username: str) -> str:
    """Signs `username` in; the session's token (also kept in the client's cookies)."""
    answer = sign_in(client, username)
    assert answer.status_code == 303, answer.text
    return client.cookies[SESSION_COOKIE]


def report(client: TestClient, **changes: Any) -> dict[str, Any]:
    answer = client.post("/cases", json=report_body(**changes), headers=auth("reporter"))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def history(client: TestClient, case_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/cases/{case_id}/history", headers=auth("caseworker"))
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def version_of(client: TestClient, case_id: str) -> int:
    return int(client.get(f"/cases/{case_id}", headers=auth("caseworker")).json()["version"])


def command(client: TestClient, case_id: str, name: str, version: int, **fields: str) -> Any:
    """Posts the case page's form of the command `name`, as the browser would."""
    data = {"csrf": csrf(client), "command": name, "version": str(version)}
    data |= {f"{name}-{field}": value for field, value in fields.items()}
    return client.post(f"/console/dossiers/{case_id}", data=data, follow_redirects=False)


def text_of(html: str) -> str:
    """The page's words, without its tags (and with its non-breaking spaces as spaces)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ").split())


# Signing in, sessions, signing out.


def test_a_refused_sign_in_says_only_that_whatever_the_reason(console: TestClient) -> None:
    accounts_of(console).disable("bob", by="test")
    answers = [
        sign_in(console, "alice", "wrong password!"),
        sign_in(console, "nobody-here"),
        sign_in(console, "bob"),  # disabled
    ]

    for answer in answers:
        assert answer.status_code == 422
        assert "Identifiant ou mot de passe incorrect" in answer.text
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    bodies = {re.sub(r'value="[^"]*"', "", a.text) for a in answers}  # but what was typed
    assert len(bodies) == 1, "the same page, whatever the reason"


def test_a_sign_in_answers_303_to_the_page_asked_with_a_strict_http_only_cookie(
    console: TestClient,
) -> None:
    answer = sign_in(console, "alice", next_page="/console?queue=to-send")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console?queue=to-send"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=strict", cookie, re.IGNORECASE)
    assert "Path=/" in cookie
    assert "Max-Age=" in cookie, "the cookie ends with the session"
    assert "Secure" not in cookie, "plain HTTP on loopback: a Secure cookie would never return"
    page = console.get("/console?queue=to-send")
    assert page.status_code == 200
    assert "alice" in page.text


def test_over_https_the_session_cookie_is_secure(
    durable_settings: Settings, clock: SettableClock
) -> None:
    app = create_app(durable_settings, clock=clock)
    with TestClient(app, base_url="https://testserver") as client:
        accounts_of(client).add("alice", Role.CASEWORKER, PASSWORD, by="test")
        cookie = sign_in(client, "alice").headers["set-cookie"]

    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_after_five_failures_the_page_says_until_when_to_wait(console: TestClient) -> None:
    for _ in range(4):
        assert sign_in(console, "alice", "not the password").status_code == 422
    paused = sign_in(console, "alice", "not the password")
    still = sign_in(console, "alice")  # the right password, during the pause

    for answer in (paused, still):
        assert answer.status_code == 429
        assert "Trop de tentatives" in answer.text
        assert "attendez 10:01:00" in text_of(answer.text), "a minute after 10:00, Paris time"
        assert int(answer.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in console.cookies


@pytest.mark.parametrize("path", ["/console?queue=overdue", "/en/console"])
def test_a_console_page_without_a_session_goes_to_the_sign_in_with_next_kept(
    console: TestClient, path: str
) -> None:
    answer = console.get(path, follow_redirects=False)

    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == (
        "/en/console/sign-in" if path.startswith("/en") else "/console/connexion"
    )
    assert parse_qs(location.query) == {"next": [path]}
    form = console.get(answer.headers["location"])
    assert f'name="next" value="{path}"' in unescape(form.text)
    assert "Session expirée" not in form.text


def test_an_expired_session_goes_to_the_sign_in_saying_so_and_comes_back(
    console: TestClient, clock: SettableClock
) -> None:
    signed_in(console, "alice")
    clock.advance(timedelta(hours=1))  # longer than the idle time (30 minutes by default)

    answer = console.get("/console?queue=to-send", follow_redirects=False)

    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["next"] == ["/console?queue=to-send"]
    page = console.get(answer.headers["location"])
    assert "Session expirée" in page.text
    back = sign_in(console, "alice", next_page=query["next"][0])
    assert back.headers["location"] == "/console?queue=to-send"


@pytest.mark.parametrize(
    "next_page",
    [
        "https://attacker.example/console",
        "//attacker.example/console",
        "/\\attacker.example",
        "javascript:alert(1)",
        "console",
        "",
    ],
)
def test_the_sign_in_never_sends_to_another_site(console: TestClient, next_page: str) -> None:
    answer = sign_in(console, "alice", next_page=next_page)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console"


def test_signing_out_ends_the_session_on_the_server(console: TestClient) -> None:
    token = signed_in(console, "alice")

    answer = console.post(
        "/console/deconnexion", data={"csrf": csrf(console)}, follow_redirects=False
    )

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/connexion")
    assert accounts_of(console).session(token, console.app.state.mediation.clock.now()) is None  # type: ignore[attr-defined]
    console.cookies.set(SESSION_COOKIE, token)  # the old cookie, kept by a thief
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_signing_out_needs_the_csrf_token(console: TestClient) -> None:
    token = signed_in(console, "alice")

    answer = console.post("/console/deconnexion", data={}, follow_redirects=False)

    assert answer.status_code == 403
    assert accounts_of(console).session(token, console.app.state.mediation.clock.now())  # type: ignore[attr-defined]


# Roles.


@pytest.mark.parametrize("username", ["aude", "anna", "dora", "amazon-desk"])
def test_other_roles_cannot_open_the_caseworkers_pages_nor_record_anything(
    console: TestClient, username: str
) -> None:
    case = report(console)
    signed_in(console, username)

    home = console.get("/console", follow_redirects=False)
    assert home.status_code == 303, "/console leads every other role to its own home"
    assert home.headers["location"] != "/console"
    assert "Atelier Dupont" not in console.get(home.headers["location"]).text
    for path in (f"/console/dossiers/{case['id']}", f"/en/console/cases/{case['id']}"):
        page = console.get(path, follow_redirects=False)
        assert page.status_code == 403, path
        assert "Atelier Dupont" not in page.text
        assert "Jeanne Dupont" not in page.text
    posted = command(console, case["id"], "qualify", 1, category="delisting", summary="Mine")
    assert posted.status_code == 403
    assert len(history(console, case["id"])) == 1


# The queues.


def test_the_queues_show_their_counts_and_a_table_of_each(console: TestClient) -> None:
    first = report(console, name="Atelier Un")
    report(console, name="Atelier Deux", platform="cdiscount")
    signed_in(console, "alice")

    page = console.get(f"/console?min_position={first['position'] + 1}")

    assert page.status_code == 200
    words = text_of(page.text)
    assert "À qualifier 2 dossiers" in words
    assert "À envoyer 0 dossier" in words
    for name in ("À qualifier", "En attente de la plateforme", "En retard", "À examiner"):
        assert name in words
    for column in ("Entreprise", "Plateforme", "Catégorie", "Priorité", "Signalé le"):
        assert f'<th scope="col">{column}</th>' in page.text
    assert f'href="/console/dossiers/{first["id"]}">Atelier Un</a>' in page.text
    filtered = console.get("/console?queue=to-qualify&platform=cdiscount")
    assert "Atelier Deux" in filtered.text
    assert "Atelier Un" not in filtered.text


def test_a_queue_pages_with_next_page_and_never_repeats_a_case(console: TestClient) -> None:
    names = [f"Atelier {n:02d}" for n in range(27)]
    last = [report(console, name=name) for name in names][-1]
    signed_in(console, "alice")

    page = console.get(f"/console?queue=to-qualify&min_position={last['position']}")
    seen = re.findall(r">(Atelier \d\d)</a>", page.text)
    link = re.search(r'<a rel="next" href="([^"]+)"', page.text)
    assert link is not None
    second = console.get(unescape(link.group(1)))
    seen += re.findall(r">(Atelier \d\d)</a>", second.text)

    assert sorted(seen) == names
    assert 'rel="next"' not in second.text


def test_an_overdue_case_says_so_in_words(console: TestClient, clock: SettableClock) -> None:
    case = report(console)
    signed_in(console, "alice")
    command(console, case["id"], "qualify", 1, category="delisting", summary="Delisted.")
    command(console, case["id"], "send-to-platform", 2, message="Why?")
    clock.advance(timedelta(days=16))
    signed_in(console, "alice")  # the session did not last that long

    page = console.get(f"/console?queue=overdue&min_position={case['position'] + 2}")

    row = re.search(r'<tr class="row--late">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert "En retard" in row.group(1)
    assert "Atelier Dupont" in row.group(1)


# The case page and its forms.


def test_the_case_page_shows_the_header_the_history_and_the_forms_the_status_allows(
    console: TestClient,
) -> None:
    case = report(console)
    signed_in(console, "alice")

    page = console.get(f"/console/dossiers/{case['id']}")

    assert page.status_code == 200
    words = text_of(page.text)
    assert re.findall(r"<h1>(.*?)</h1>", page.text) == ["Atelier Dupont"]
    assert "Signalé, à qualifier" in words
    assert "Signalement reçu 2 mars 2026, 10:00 par reporter-1" in words
    assert "Our shop was delisted overnight" in words, "a caseworker reads the description"
    forms = re.findall(r'name="command" value="([^"]+)"', page.text)
    assert forms == ["qualify", "resolve"], "exactly what the status allows"
    assert 'name="version" value="1"' in page.text
    outcomes = re.findall(r'name="resolve-outcome" value="([^"]+)"', page.text)
    assert sorted(outcomes) == ["inadmissible", "withdrawn"]
    english = console.get(f"/en/console/cases/{case['id']}")
    assert "Reported, to qualify" in english.text


def test_every_command_from_its_form_records_its_event_with_the_username_as_actor(
    console: TestClient,
) -> None:
    case = report(console)
    case_id = case["id"]
    signed_in(console, "alice")
    page = console.get(f"/console/dossiers/{case_id}").text
    assert re.search(r'id="qualify-assignee"[^>]*value="alice"', page), "proposes who signed in"
    steps = [
        (
            "qualify",
            {
                "category": "delisting",
                "summary": "Delisted.",
                "p2b_articles": "4(1)",
                "assignee": "alice",
            },
        ),
        ("send-to-platform", {"message": "Please state your reasons."}),
        ("platform-response", {"stance": "refused", "response": "Rule 4.2."}),
        ("escalate", {"reason": "unsatisfactory_response", "note": "Needs the mediator."}),
        ("resolve", {"outcome": "not_resolved", "summary": "The platform would not move."}),
    ]
    confirmations = [
        "Le dossier a été qualifié.",
        "Le dossier a été envoyé à la plateforme.",
        "La réponse de la plateforme a été enregistrée.",
        "Le dossier a été confié au Médiateur des entreprises.",
        "Le dossier a été clos.",
    ]

    for (name, fields), confirmation in zip(steps, confirmations, strict=True):
        answer = command(console, case_id, name, version_of(console, case_id), **fields)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == f"/console/dossiers/{case_id}?done={name}"
        assert confirmation in console.get(answer.headers["location"]).text

    events = history(console, case_id)
    assert [e["type"] for e in events] == [
        "Reported",
        "Qualified",
        "SentToPlatform",
        "PlatformResponded",
        "EscalatedToMediator",
        "Resolved",
    ]
    assert {e["actor"] for e in events[1:]} == {"alice"}
    assert events[1]["data"]["p2b_articles"] == ["Art. 4(1)"]
    assert events[1]["data"]["assignee"] == "alice"
    assert events[3]["data"]["stance"] == "refused"
    assert events[5]["data"]["outcome"] == "not_resolved"


@pytest.mark.parametrize("forgery", ["no token", "another origin"])
def test_a_command_form_without_its_token_or_from_another_site_records_nothing(
    console: TestClient, forgery: str
) -> None:
    case = report(console)
    signed_in(console, "alice")
    data = {"command": "qualify", "version": "1", "qualify-category": "delisting"}
    data["qualify-summary"] = "Forged."
    headers = {}
    if forgery == "no token":
        pass
    else:
        data["csrf"] = csrf(console)
        headers["Origin"] = "https://attacker.example"

    answer = console.post(
        f"/console/dossiers/{case['id']}", data=data, headers=headers, follow_redirects=False
    )

    assert answer.status_code == 403
    assert len(history(console, case["id"])) == 1


def test_a_stale_form_says_who_moved_first_and_records_nothing(
    console: TestClient, clock: SettableClock
) -> None:
    case = report(console)
    case_id = case["id"]
    bob = signed_in(console, "bob")
    alice = signed_in(console, "alice")
    form = console.get(f"/console/dossiers/{case_id}").text
    assert 'name="version" value="1"' in form  # alice's form was made from version 1
    clock.advance(timedelta(minutes=7))
    console.cookies.set(SESSION_COOKIE, bob)
    assert command(console, case_id, "qualify", 1, category="ranking", summary="Bob's.").is_redirect

    console.cookies.set(SESSION_COOKIE, alice)
    stale = command(console, case_id, "qualify", 1, category="delisting", summary="Alice's.")

    assert stale.status_code == 409
    words = text_of(stale.text)
    assert "Ce dossier a été modifié par bob à 10:07, le 2 mars 2026." in words
    assert "Rien n'a été enregistré" in words
    assert "Rétrogradation, classement" in words, "the page shows the case as it is now"
    assert 'name="version" value="2"' in stale.text
    events = history(console, case_id)
    assert [e["actor"] for e in events] == ["reporter-1", "bob"]
    # The same form sent twice (a double click) is recorded once: the second is stale.
    again = command(console, case_id, "send-to-platform", 2, message="Once.")
    twice = command(console, case_id, "send-to-platform", 2, message="Once.")
    assert again.status_code == 303
    assert twice.status_code == 409
    assert "modifié par alice" in text_of(twice.text)
    assert [e["type"] for e in history(console, case_id)][-1:] == ["SentToPlatform"]
    assert len(history(console, case_id)) == 3


def test_a_refused_form_says_each_error_by_its_field_and_keeps_what_was_typed(
    console: TestClient,
) -> None:
    case = report(console)
    signed_in(console, "alice")

    answer = command(
        console, case["id"], "qualify", 1, category="nonsense", summary="  ", p2b_articles="Art. 99"
    )

    assert answer.status_code == 422
    html = answer.text
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert summary is not None
    links = re.findall(r'href="#([^"]+)"', summary.group(0))
    assert links == ["qualify-category", "qualify-summary", "qualify-p2b_articles"]
    for field in links:
        assert f'id="{field}-error"' in html
        tag = re.search(rf'<(input|select|textarea)[^>]*id="{field}"[^>]*>', html)
        assert tag is not None, field
        assert 'aria-invalid="true"' in tag.group(0)
        assert f"{field}-error" in tag.group(0)
    assert 'value="Art. 99"' in html, "what was typed is kept"
    assert "Choisissez la catégorie du problème." in html
    assert len(history(console, case["id"])) == 1


def test_a_refusal_of_the_domain_is_said_by_its_field(console: TestClient) -> None:
    case = report(console)
    signed_in(console, "alice")
    command(console, case["id"], "qualify", 1, category="delisting", summary="Delisted.")

    answer = command(
        console, case["id"], "send-to-platform", 2, message="Hi", response_due="2020-01-01"
    )

    assert answer.status_code == 422
    assert 'id="send-to-platform-response_due-error"' in answer.text
    assert "doit être après aujourd" in answer.text
    assert len(history(console, case["id"])) == 2


def test_an_unknown_case_is_a_page_not_found(console: TestClient) -> None:
    signed_in(console, "alice")

    for path in ("/console/dossiers/0b7e3a4c-5d1f-4e8a-9c2b-6f1d2e3a4b5c", "/console/dossiers/x"):
        page = console.get(path)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Dossier introuvable" in page.text


def test_a_store_that_cannot_be_reached_is_a_503_page(
    console: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = report(console)
    signed_in(console, "alice")

    def unreachable(*_: Any, **__: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(console.app.state.mediation, "get_case", unreachable)  # type: ignore[attr-defined]
    page = console.get(f"/console/dossiers/{case['id']}")

    assert page.status_code == 503
    assert page.headers["retry-after"]
    assert "indisponible" in page.text


def test_no_two_catalogues_translate_one_message_differently() -> None:
    """The catalogues are merged into one translation: a message two parts translate apart
    would read as one part's words on the other's pages (it did: "Résolus" on a case)."""
    from babel.messages.pofile import read_po

    from interfaces.web.catalogues import catalogue_files

    translated: dict[str, dict[str, str]] = {}
    for path in catalogue_files("fr"):
        with path.open("rb") as po:
            for message in read_po(po, locale="fr"):
                if message.id:
                    key = str(message.id if isinstance(message.id, str) else message.id[0])
                    translated.setdefault(key, {})[path.name] = str(message.string)
    differing = {k: v for k, v in translated.items() if len(set(v.values())) > 1}
    assert not differing, differing
