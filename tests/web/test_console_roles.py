"""The console's pages for auditors, platforms and the data protection officer, over HTTP, on
SQLite and PostgreSQL: each role sees its own pages and forms only; the auditor's replay, dossier
and integrity badge say what the API says; a platform sees and acts on its own cases only, as
its portal does; the erasure needs its confirmation and records one event.

Accounts are made through the accounts service (tests/web/test_console.py's `console`)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.access import Role
from application.clock import SettableClock
from domain.values import Category
from domain.values import Status
from infrastructure.settings import Settings
from interfaces.web import platform_pages
from interfaces.web.console_words import words
from interfaces.web.pages import SHOWN_IN
from tests.conftest import auth
from tests.conftest import platform_auth
from tests.test_tampering import RawStore
from tests.test_tampering import flip_bit
from tests.web.test_console import PASSWORD
from tests.web.test_console import accounts_of
from tests.web.test_console import console
from tests.web.test_console import csrf
from tests.web.test_console import history
from tests.web.test_console import report
from tests.web.test_console import signed_in
from tests.web.test_console import text_of

__all__ = ["console"]  # the fixture, shared with the caseworker's tests

label = words("fr")
SECRETS = ("Jeanne Dupont", "jeanne@atelier-dupont.fr")
"""The business's contact, which a platform never reads."""
SUMMARY = "Internal: the platform's ranking rules are at stake."
"""The caseworker's summary, an internal note a platform never reads."""


@pytest.fixture
def roles(console: TestClient) -> TestClient:
    """The console's accounts, and eBay's desk beside Amazon's."""
    accounts_of(console).add("ebay-desk", Role.PLATFORM, PASSWORD, by="test", platform="ebay")
    return console


def qualify(client: TestClient, case_id: str) -> dict[str, Any]:
    answer = client.post(
        f"/cases/{case_id}/qualify",
        json={"category": "delisting", "summary": SUMMARY, "assignee": "alice"},
        headers=auth("caseworker"),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def send(client: TestClient, case_id: str) -> dict[str, Any]:
    answer = client.post(
        f"/cases/{case_id}/send-to-platform",
        json={"message": "Please state the reasons for the delisting."},
        headers=auth("caseworker"),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def sent_case(client: TestClient, platform: str = "Amazon", **changes: Any) -> dict[str, Any]:
    """A case reported against `platform`, qualified and sent to it: its last answer."""
    case_id = report(client, platform=platform, **changes)["id"]
    qualify(client, case_id)
    return send(client, case_id)


def posts(html: str) -> list[str]:
    """The actions of the page's forms that post (anything but a GET form)."""
    forms = re.findall(r"<form\b[^>]*>", html)
    return [
        re.search(r'action="([^"]*)"', f).group(1)  # type: ignore[union-attr]
        for f in forms
        if 'method="post"' in f
    ]


def facts(html: str) -> dict[str, str]:
    """The case header's facts: each `<dt>` with its `<dd>`, as words."""
    header = html[
        html.index('<header class="case-header">') : html.index(
            "</header>", html.index('<header class="case-header">')
        )
    ]
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", header, re.S)
    return {text_of(term): text_of(value) for term, value in pairs}


def timeline_steps(html: str) -> int:
    if '<ol class="timeline">' not in html:
        return 0
    listed = html[
        html.index('<ol class="timeline">') : html.index(
            "</ol>", html.index('<ol class="timeline">')
        )
    ]
    return listed.count("<li>")


def form_post(client: TestClient, path: str, **fields: str) -> Any:
    return client.post(path, data={"csrf": csrf(client), **fields}, follow_redirects=False)


# Auditors.


def test_an_auditor_opens_a_case_by_its_identifier_and_reads_it_without_any_form_to_change_it(
    roles: TestClient,
) -> None:
    case_id = sent_case(roles)["id"]
    signed_in(roles, "aude")

    home = roles.get("/console", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == "/console/audit"
    form = roles.get("/console/audit")
    assert form.status_code == 200
    assert 'name="case_id"' in form.text
    unreadable = roles.get("/console/audit", params={"case_id": "not-a-case"})
    assert unreadable.status_code == 422
    assert 'aria-invalid="true"' in unreadable.text
    assert 'href="#case_id"' in unreadable.text
    opened = roles.get("/console/audit", params={"case_id": case_id}, follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/console/audit/dossiers/{case_id}"

    page = roles.get(opened.headers["location"])
    assert page.status_code == 200
    assert "Atelier Dupont" in page.text, "an auditor reads the case with its personal data"
    assert "Intègre" in text_of(page.text)
    assert timeline_steps(page.text) == len(history(roles, case_id))
    assert posts(page.text) == ["/console/deconnexion"], "no form that changes the case"
    assert f"/console/audit/dossiers/{case_id}/dossier.json" in page.text
    assert f"/console/audit/dossiers/{case_id}/imprimer" in page.text
    before = len(history(roles, case_id))
    refused = form_post(
        roles, f"/console/dossiers/{case_id}", command="resolve", version=str(before),
        **{"resolve-outcome": "withdrawn", "resolve-summary": "Closed by an auditor?"},
    )  # fmt: skip
    assert refused.status_code == 403
    assert len(history(roles, case_id)) == before


def test_the_auditors_replay_shows_the_state_and_history_the_api_gives_at_each_version(
    roles: TestClient, clock: SettableClock
) -> None:
    case_id = report(roles)["id"]
    clock.advance(timedelta(days=1))
    qualify(roles, case_id)
    clock.advance(timedelta(days=1))
    send(roles, case_id)
    signed_in(roles, "aude")
    head = len(history(roles, case_id))

    for version in range(1, head + 1):
        page = roles.get(f"/console/audit/dossiers/{case_id}", params={"version": version})
        api = roles.get(f"/cases/{case_id}", params={"version": version}, headers=auth("auditor"))
        assert page.status_code == 200, page.text
        state = api.json()
        shown = facts(page.text)
        assert shown["Version"] == str(state["version"]) == str(version)
        assert label(Status(state["status"])) in text_of(page.text)
        category = state["category"]
        assert shown["Catégorie"] == (
            label(Category(category)) if category else label("unqualified")
        )
        assert shown["Suivi par"] == (state["assignee"] or "—")
        assert timeline_steps(page.text) == version, "the history as it stood"

    reported_day = datetime.fromisoformat(history(roles, case_id)[0]["recorded_at"])
    day = reported_day.astimezone(SHOWN_IN).date() + timedelta(days=1)
    page = roles.get(f"/console/audit/dossiers/{case_id}", params={"day": day.isoformat()})
    end_of_day = datetime.combine(day, time(23, 59, 59), SHOWN_IN).isoformat()
    api = roles.get(f"/cases/{case_id}", params={"at": end_of_day}, headers=auth("auditor"))
    assert page.status_code == 200
    assert facts(page.text)["Version"] == str(api.json()["version"])
    assert api.json()["version"] < head

    before = roles.get(
        f"/console/audit/dossiers/{case_id}", params={"day": (day - timedelta(days=5)).isoformat()}
    )
    assert before.status_code == 422
    assert 'aria-invalid="true"' in before.text
    assert "n'existait pas encore" in text_of(before.text)
    beyond = roles.get(f"/console/audit/dossiers/{case_id}", params={"version": head + 1})
    assert beyond.status_code == 422
    assert facts(beyond.text)["Version"] == str(head), "the case now, and the error by its field"


def test_the_dossier_downloaded_is_the_apis_dossier(roles: TestClient) -> None:
    case_id = sent_case(roles)["id"]
    signed_in(roles, "aude")

    download = roles.get(f"/console/audit/dossiers/{case_id}/dossier.json")
    api = roles.get(f"/cases/{case_id}/dossier", headers=auth("auditor"))

    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="dossier-{case_id}.json"'
    )
    mine, theirs = download.json(), api.json()
    assert mine.keys() == theirs.keys()
    made_at = {"generated_at", "statement", "signature"}  # the instant it was made, signed
    for key in mine.keys() - made_at:
        assert mine[key] == theirs[key], key
    assert {k: v for k, v in mine["statement"].items() if k != "generated_at"} == {
        k: v for k, v in theirs["statement"].items() if k != "generated_at"
    }
    printable = roles.get(f"/console/audit/dossiers/{case_id}/imprimer")
    assert printable.status_code == 200
    assert mine["signature"] in printable.text
    assert mine["statement"]["head_hash"] in printable.text
    assert timeline_steps(printable.text) == len(mine["history"])


def test_the_integrity_badge_says_altered_at_the_version_tampered_with(
    roles: TestClient, durable_settings: Settings
) -> None:
    case_id = report(roles)["id"]
    qualify(roles, case_id)
    send(roles, case_id)
    signed_in(roles, "aude")
    assert "Intègre" in text_of(roles.get(f"/console/audit/dossiers/{case_id}").text)

    raw = RawStore(durable_settings)
    raw.set_state(case_id, 2, flip_bit(raw.state(case_id, 2), b'"actor":"caseworker-1'))

    page = roles.get(f"/console/audit/dossiers/{case_id}")
    api = roles.get(f"/cases/{case_id}/integrity", headers=auth("auditor")).json()
    assert api["verified"] is False
    first = min(p["version"] for p in api["problems"] if p["version"] is not None)
    assert page.status_code == 200
    assert f"Altéré à la version {first}" in text_of(page.text)
    assert "Intègre" not in text_of(page.text)
    assert timeline_steps(page.text) == 0, "no history shown as if intact"
    assert roles.get(f"/console/audit/dossiers/{case_id}/dossier.json").json()["state"] is None


# Platforms.


def test_a_platform_lists_its_own_sent_cases_only_a_page_at_a_time(
    roles: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform_pages, "PAGE_SIZE", 2)
    ours = [sent_case(roles, name=f"Boutique {n}") for n in range(3)]
    theirs = sent_case(roles, platform="eBay", name="Chez Bidule")
    unsent = report(roles, name="Pas encore envoyé")
    signed_in(roles, "amazon-desk")

    home = roles.get("/console", follow_redirects=False)
    assert home.headers["location"] == "/console/plateforme"
    position = max(case["position"] for case in [*ours, theirs])
    first = roles.get("/console/plateforme", params={"min_position": position})
    assert first.status_code == 200
    cursor = re.search(r'rel="next" href="[^"]*cursor=([^"&]+)', first.text)
    assert cursor is not None
    second = roles.get("/console/plateforme", params={"cursor": cursor.group(1)})
    listed = re.findall(r"/console/plateforme/dossiers/([0-9a-f-]{36})", first.text + second.text)
    api = roles.get("/platform/cases", params={"limit": 100}, headers=platform_auth("amazon"))
    assert listed == [item["id"] for item in api.json()["items"]], "the portal's list, in order"
    assert sorted(listed) == sorted(case["id"] for case in ours)
    for page in (first, second):
        assert "Chez Bidule" not in page.text
        assert "Pas encore envoyé" not in page.text
    assert unsent["id"] not in first.text + second.text
    assert "Accuser réception" in text_of(first.text)


def test_a_platforms_case_page_shows_what_its_portal_shows_and_two_forms(
    roles: TestClient,
) -> None:
    case_id = sent_case(roles)["id"]
    signed_in(roles, "amazon-desk")

    page = roles.get(f"/console/plateforme/dossiers/{case_id}")
    portal = roles.get(f"/platform/cases/{case_id}", headers=platform_auth("amazon")).json()

    assert page.status_code == 200
    words = text_of(page.text)
    assert portal["company"]["name"] in words
    assert portal["company"]["siren"] in words
    assert portal["description"] in words
    assert portal["message"] in words
    for secret in (*SECRETS, SUMMARY, "alice", "Amazon Marketplace"):
        assert secret not in page.text, secret
    assert sorted(posts(page.text)) == [
        "/console/deconnexion",
        *[f"/console/plateforme/dossiers/{case_id}"] * 2,
    ]
    assert 'value="acknowledge"' in page.text
    assert 'value="platform-response"' in page.text
    assert f'name="version" value="{portal["version"]}"' in page.text


def test_a_platform_acknowledges_once_and_answers_under_the_portals_rules(
    roles: TestClient,
) -> None:
    case_id = sent_case(roles)["id"]
    signed_in(roles, "amazon-desk")
    path = f"/console/plateforme/dossiers/{case_id}"
    forged = roles.post(path, data={"command": "acknowledge"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "PlatformAcknowledged" not in [e["type"] for e in history(roles, case_id)]

    acknowledged = form_post(roles, path, command="acknowledge")
    assert acknowledged.status_code == 303
    assert "Accusé de réception enregistré" in text_of(
        roles.get(acknowledged.headers["location"]).text
    )
    again = form_post(roles, path, command="acknowledge")
    assert again.status_code == 303
    events = history(roles, case_id)
    assert [e["type"] for e in events].count("PlatformAcknowledged") == 1
    assert events[-1]["actor"] == "amazon-desk"
    version = len(events)

    missing = form_post(roles, path, command="platform-response", version=str(version))
    assert missing.status_code == 422
    assert 'aria-invalid="true"' in missing.text
    assert 'href="#platform-response-stance"' in missing.text
    stale = form_post(
        roles, path, command="platform-response", version=str(version - 1),
        **{"platform-response-stance": "accepted", "platform-response-response": "Relisted."},
    )  # fmt: skip
    assert stale.status_code == 409
    assert "Rien n'a été enregistré" in text_of(stale.text)
    assert "Relisted." in stale.text, "what was typed is kept"
    assert len(history(roles, case_id)) == version

    answered = form_post(
        roles, path, command="platform-response", version=str(version),
        **{"platform-response-stance": "accepted", "platform-response-response": "Relisted."},
    )  # fmt: skip
    assert answered.status_code == 303
    events = history(roles, case_id)
    assert events[-1]["type"] == "PlatformResponded"
    assert events[-1]["actor"] == "amazon-desk"
    portal = roles.get(f"/platform/cases/{case_id}", headers=platform_auth("amazon")).json()
    assert portal["stance"] == "accepted"
    page = roles.get(answered.headers["location"])
    assert 'value="platform-response"' not in page.text, "answered: no form left"


def test_another_platforms_case_or_one_not_sent_is_the_404_of_a_case_that_does_not_exist(
    roles: TestClient,
) -> None:
    theirs = sent_case(roles, platform="eBay")["id"]
    unsent = report(roles)["id"]
    signed_in(roles, "amazon-desk")
    unknown = "0f8d5c1e-4b2a-4c7e-9a51-3d2e8b7c6a10"

    answers = [
        roles.get(f"/console/plateforme/dossiers/{case_id}")
        for case_id in (theirs, unsent, unknown, "not-a-case")
    ]
    posted = [
        form_post(roles, f"/console/plateforme/dossiers/{case_id}", command="acknowledge")
        for case_id in (theirs, unsent, unknown)
    ]

    for answer in answers + posted:
        assert answer.status_code == 404
    # Word for word the same page, but for the case asked, which its language switch repeats.
    pages = {a.text.replace(a.url.path.rsplit("/", 1)[1], "ID") for a in answers + posted}
    assert len(pages) == 1, pages
    assert [e["type"] for e in history(roles, theirs)].count("PlatformAcknowledged") == 0


AREAS = {
    "audit": (
        "/console/audit",
        "/console/audit/comptes",
        "/console/audit/dossiers/{id}",
        "/console/audit/dossiers/{id}/dossier.json",
        "/console/audit/dossiers/{id}/imprimer",
    ),
    "platform": ("/console/plateforme", "/console/plateforme/dossiers/{id}"),
    "erasure": ("/console/donnees-personnelles", "/console/donnees-personnelles/dossiers/{id}"),
}
"""The pages of each role's part of the console; the last of a part that has forms posts."""


@pytest.mark.parametrize(
    ("username", "own"),
    [("aude", "audit"), ("amazon-desk", "platform"), ("dora", "erasure"), ("alice", None)],
)
def test_each_role_opens_its_own_pages_only(
    roles: TestClient, username: str, own: str | None
) -> None:
    case_id = sent_case(roles)["id"]
    signed_in(roles, username)
    version = len(history(roles, case_id))

    for area, paths in AREAS.items():
        for template in paths:
            path = template.format(id=case_id)
            answer = roles.get(path, follow_redirects=False)
            assert answer.status_code == (200 if area == own else 403), path
            if area != own:
                assert "Atelier Dupont" not in answer.text
                if "{id}" in template and area != "audit":
                    posted = form_post(
                        roles, path, command="acknowledge", step="erase", reason="Mine",
                        version=str(version),
                    )  # fmt: skip
                    assert posted.status_code == 403, path
    assert len(history(roles, case_id)) == version


# The data protection officer.


def test_the_dpo_erases_only_after_the_confirmation_and_records_one_event(
    roles: TestClient,
) -> None:
    case_id = sent_case(roles)["id"]
    signed_in(roles, "dora")
    version = len(history(roles, case_id))

    home = roles.get("/console", follow_redirects=False)
    assert home.headers["location"] == "/console/donnees-personnelles"
    opened = roles.get(
        "/console/donnees-personnelles", params={"case_id": case_id}, follow_redirects=False
    )
    path = f"/console/donnees-personnelles/dossiers/{case_id}"
    assert opened.headers["location"] == path
    page = roles.get(path)
    assert page.status_code == 200
    for personal in ("Atelier Dupont", *SECRETS, SUMMARY):
        assert personal not in page.text, "the officer reads nothing of the case"
    assert 'name="reason"' in page.text

    blank = form_post(roles, path, step="review", version=str(version), reason="  ")
    assert blank.status_code == 422
    assert 'aria-invalid="true"' in blank.text
    review = form_post(roles, path, step="review", version=str(version), reason="GDPR request 17")
    assert review.status_code == 200
    words = text_of(review.text)
    assert "ne peut pas être annulé" in words
    for erased in ("nom", "adresse e-mail", "raison sociale", "texte libre"):
        assert erased in words, erased
    assert 'name="step" value="erase"' in review.text
    assert len(history(roles, case_id)) == version, "nothing erased before the confirmation"

    erased = form_post(roles, path, step="erase", version=str(version), reason="GDPR request 17")
    assert erased.status_code == 303
    events = history(roles, case_id)
    assert len(events) == version + 1
    assert events[-1]["type"] == "PersonalDataErased"
    assert events[-1]["actor"] == "dora"
    assert events[-1]["data"]["reason"] == "GDPR request 17"
    done = roles.get(erased.headers["location"])
    assert "Effacées" in text_of(done.text)
    assert 'name="reason"' not in done.text, "erased: no form left"
    again = form_post(roles, path, step="erase", version=str(version + 1), reason="Twice")
    assert again.status_code == 409
    assert len(history(roles, case_id)) == version + 1

    signed_in(roles, "aude")
    audited = roles.get(f"/console/audit/dossiers/{case_id}")
    assert "[effacé]" in audited.text
    assert "Atelier Dupont" not in audited.text
    assert "Données personnelles effacées" in text_of(audited.text)
    assert timeline_steps(audited.text) == version + 1


def test_an_erasure_without_its_csrf_token_or_from_a_stale_page_records_nothing(
    roles: TestClient,
) -> None:
    case_id = sent_case(roles)["id"]
    signed_in(roles, "dora")
    path = f"/console/donnees-personnelles/dossiers/{case_id}"
    version = len(history(roles, case_id))

    forged = roles.post(
        path, data={"step": "erase", "version": str(version), "reason": "Forged"},
        follow_redirects=False,
    )  # fmt: skip
    assert forged.status_code == 403
    stale = form_post(roles, path, step="erase", version=str(version - 1), reason="Late")
    assert stale.status_code == 409
    assert "Rien n'a été enregistré" in text_of(stale.text)
    assert len(history(roles, case_id)) == version


# Every role's pages: in English too, and a 503 page when the store cannot be reached.


@pytest.mark.parametrize(
    ("username", "home", "case_page"),
    [
        ("aude", "/en/console/audit", "/en/console/audit/cases/{id}"),
        ("amazon-desk", "/en/console/platform", "/en/console/platform/cases/{id}"),
        ("dora", "/en/console/personal-data", "/en/console/personal-data/cases/{id}"),
    ],
)
def test_each_roles_pages_are_in_english_too_and_a_503_page_when_the_store_fails(
    roles: TestClient, monkeypatch: pytest.MonkeyPatch, username: str, home: str, case_page: str
) -> None:
    case_id = sent_case(roles)["id"]
    signed_in(roles, username)

    led = roles.get("/en/console", follow_redirects=False)
    assert led.headers["location"] == home
    assert roles.get(home).status_code == 200
    page = roles.get(case_page.format(id=case_id))
    assert page.status_code == 200
    assert '<html lang="en">' in page.text

    def unreachable(*_: Any, **__: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    mediation = roles.app.state.mediation  # type: ignore[attr-defined]
    for read in ("get_case", "case_for_platform", "integrity_report"):
        monkeypatch.setattr(mediation, read, unreachable)
    down = roles.get(case_page.format(id=case_id))
    assert down.status_code == 503
    assert down.headers["retry-after"]
    assert "Atelier Dupont" not in down.text


def test_an_auditor_reads_who_could_do_what_the_accounts_and_each_change_by_whom_and_when(
    roles: TestClient, clock: SettableClock
) -> None:
    accounts = accounts_of(roles)
    clock.advance(timedelta(hours=2))
    accounts.set_role("bob", Role.AUDITOR, by="chief")
    accounts.disable("alice", by="chief")
    signed_in(roles, "aude")

    page = roles.get("/console/audit/comptes")

    assert page.status_code == 200
    html = page.text
    rows = re.findall(r"<tr>(.*?)</tr>", html[html.index('id="changes"') :], re.S)[1:]
    newest = [text_of(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", rows[0], re.S)]
    assert newest[1:] == ["chief", "alice", "Compte désactivé", "Agent instructeur", "—"]
    second = [text_of(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", rows[1], re.S)]
    assert second[1:4] == ["chief", "bob", "Rôle modifié"]
    assert second[4] == label(Role.AUDITOR)
    assert len(rows) == len(accounts.changes())
    listed = html[html.index('id="accounts"') : html.index('id="changes"')]
    assert "Désactivé" in listed
    for username in ("alice", "bob", "aude", "amazon-desk", "ebay-desk"):
        assert f'<th scope="row">{username}</th>' in listed
    assert PASSWORD not in html
    assert "$argon2id$" not in html
