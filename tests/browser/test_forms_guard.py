"""What a real browser cannot be made to do: open two cases by sending the report twice (a
double click, the back button), post a form from another site or without its CSRF token; and
the flags of the cookies it keeps. Each refusal records nothing."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from application.mediation import MediationApplication
from tests.browser.conftest import Site
from tests.browser.test_console import PASSWORD
from tests.browser.test_console import reported
from tests.browser.test_console import sign_in
from tests.browser.test_console import staff
from tests.browser.test_public import fill_the_report
from tests.conftest import auth

FORGED = "Ce formulaire n'a pas pu être accepté"


def log_position(site: Site) -> int:
    mediation: MediationApplication = site.app.state.mediation
    return mediation.log_position()


def cases_to_qualify(site: Site) -> list[str]:
    """The cases the caseworkers' first queue lists once it has read the whole log."""
    answer = httpx.get(
        f"{site.url}/queues/to-qualify",
        params={"min_position": log_position(site)},
        headers=auth("caseworker"),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_a_double_click_then_a_resend_after_back_open_one_case(page: Page, site: Site) -> None:
    page.goto("/signaler")
    fill_the_report(page)

    page.get_by_role("button", name="Envoyer le signalement").dblclick()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signalement enregistré")
    code = page.locator("#tracking-code").inner_text()
    assert len(cases_to_qualify(site)) == 1

    page.go_back()
    expect(page.get_by_label("Raison sociale")).to_have_value("Atelier Dupont")
    page.get_by_role("button", name="Envoyer le signalement").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Signalement enregistré")
    assert page.locator("#tracking-code").inner_text() == code
    assert len(cases_to_qualify(site)) == 1


def test_every_error_is_said_next_to_its_field_and_everything_typed_is_kept(
    page: Page, site: Site
) -> None:
    page.goto("/signaler")
    fill_the_report(page)
    page.get_by_label("Numéro SIREN").fill("732 829 321")  # its check digit is wrong
    page.get_by_label("Votre adresse e-mail").fill("jeanne-at-atelier-dupont.fr")
    before = log_position(site)
    page.get_by_role("button", name="Envoyer le signalement").click()

    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading")).to_have_text("Il y a 2 erreurs")
    for field in ("siren", "contact_email"):
        control = page.locator(f"#{field}")
        expect(control).to_have_attribute("aria-invalid", "true")
        described = (control.get_attribute("aria-describedby") or "").split()
        assert f"{field}-error" in described
        expect(page.locator(f"#{field}-error")).to_be_visible()
        expect(summary.locator(f'a[href="#{field}"]')).to_have_count(1)
    expect(page.get_by_label("Raison sociale")).to_have_value("Atelier Dupont")
    expect(page.get_by_label("Numéro SIREN")).to_have_value("732 829 321")
    expect(page.get_by_label("Description")).to_have_value(re.compile("^Nos 40 offres"))
    expect(page.get_by_label("Votre nom")).to_have_value("Jeanne Dupont")
    expect(page.locator("input[name=size]:checked")).to_have_value("micro")
    assert log_position(site) == before


class OtherSite:
    """A page on another origin of the loopback (another port: another site to the browser)
    whose form posts to the service, as a page of another host would."""

    def __init__(self, html: str) -> None:
        page = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the library's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtherSite:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def hidden_inputs(fields: dict[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())


@pytest.fixture
def another_site(site: Site) -> Iterator[OtherSite]:
    report = {
        "csrf": "x" * 43,
        "company_name": "Forged Ltd",
        "siren": "732829320",
        "size": "micro",
        "platform": "Amazon",
        "measure": "delisting",
        "effective_on": "2026-02-20",
        "statement_of_reasons": "not_given",
        "category_hint": "delisting",
        "description": "Sent by another site.",
        "contact_name": "Nobody",
        "contact_email": "nobody@example.org",
        "language": "fr",
    }
    html = (
        "<!doctype html><html lang=en><title>Another site</title>"
        f'<form method="post" action="{site.url}/signaler">{hidden_inputs(report)}'
        '<button id="report">Report</button></form></html>'
    )
    with OtherSite(html) as other:
        yield other


def test_a_report_posted_from_another_site_is_refused_and_records_nothing(
    page: Page, site: Site, another_site: OtherSite
) -> None:
    page.goto("/signaler")  # the browser holds the site's CSRF cookie
    before = log_position(site)

    page.goto(another_site.url)
    page.locator("#report").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(FORGED)
    assert log_position(site) == before


def test_a_report_without_its_token_is_refused_and_records_nothing(page: Page, site: Site) -> None:
    page.goto("/signaler")
    fill_the_report(page)
    page.locator("input[name=csrf]").evaluate("input => input.remove()")
    before = log_position(site)

    page.get_by_role("button", name="Envoyer le signalement").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(FORGED)
    assert log_position(site) == before


def test_a_signed_in_caseworker_s_form_posted_from_another_site_records_nothing(
    page: Page, site: Site
) -> None:
    staff(site, "alice")
    case = reported(site)
    sign_in(page, "alice", then=f"/console/dossiers/{case.case_id}")
    before = log_position(site)
    forged = (
        "<!doctype html><html lang=en><title>Another site</title>"
        f'<form method="post" action="{site.url}/console/dossiers/{case.case_id}">'
        '<input type="hidden" name="csrf" value="y"><input type="hidden" name="command" '
        'value="qualify"><input type="hidden" name="category" value="delisting">'
        '<input type="hidden" name="summary" value="forged"><input type="hidden" '
        'name="version" value="1"><button id="qualify">Qualify</button></form></html>'
    )

    with OtherSite(forged) as other:
        page.goto(other.url)
        page.locator("#qualify").click()
        page.wait_for_load_state()

    assert log_position(site) == before
    expect(page.get_by_role("heading", level=1)).not_to_have_text(re.compile("Atelier"))


def test_the_session_and_csrf_cookies_are_http_only_strictly_same_site_and_expire(
    page: Page, site: Site
) -> None:
    staff(site, "alice")
    sign_in(page, "alice")
    cookies = {c["name"]: c for c in page.context.cookies()}

    session = cookies["mediation_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert session["secure"] is False, "plain HTTP on loopback; Secure over HTTPS (tested apart)"
    lifetime = session["expires"] - datetime.now(UTC).timestamp()
    assert 0 < lifetime <= site.settings.session_hours * 3600
    csrf = cookies["mediation_csrf"]
    assert csrf["httpOnly"] is True
    assert csrf["sameSite"] == "Strict"
    assert page.evaluate("() => document.cookie") == "", "no script reads either cookie"
    assert PASSWORD not in str(cookies)
