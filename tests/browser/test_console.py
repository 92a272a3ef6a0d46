"""The staff console in a real browser: a caseworker signs in and carries a case from its
report to its outcome with the case page's forms; a second browser that moved first makes the
first one's form say so; each page accessible, loading nothing from another host."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from playwright.sync_api import BrowserContext
from playwright.sync_api import Locator
from playwright.sync_api import Page
from playwright.sync_api import expect

from application.access import Role
from application.accounts import StaffAccounts
from application.mediation import CommandResult
from application.mediation import MediationApplication
from interfaces.http.schemas import ReportCaseRequest
from tests.browser.conftest import DESKTOP
from tests.browser.conftest import Site
from tests.browser.conftest import assert_accessible
from tests.browser.conftest import open_page
from tests.browser.screenshots import keep_screenshot
from tests.conftest import report_body

PASSWORD = "correct horse battery"


def staff(site: Site, *usernames: str) -> None:
    """Caseworkers' accounts, made by the accounts service as `mediation users add` makes them."""
    accounts: StaffAccounts = site.app.state.accounts
    for username in usernames:
        accounts.add(username, Role.CASEWORKER, PASSWORD, by="test")


def reported(site: Site, **changes: Any) -> CommandResult:
    """A case reported through the application, as the API reports it."""
    mediation: MediationApplication = site.app.state.mediation
    report = ReportCaseRequest.model_validate(report_body(**changes))
    return mediation.report_case(report.to_report(site.settings.platforms), actor="intake-form")


def sign_in(page: Page, username: str, then: str = "/console") -> None:
    """Asks for a console page, is sent to the sign-in, signs in, and is back on the page."""
    page.goto(then)
    expect(page).to_have_url(re.compile(r"/console/connexion\?next="))
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_text(f"Connecté\u00a0: {username}")).to_be_visible()


def form(page: Page, name: str) -> Locator:
    """One of the case page's command forms, by its heading."""
    return page.get_by_role("form", name=name)


def choose(where: Locator, answer: str) -> None:
    """Ticks a radio as a person does: a click on its label."""
    where.locator("label", has_text=re.compile(f"^{re.escape(answer)}")).click()
    expect(where.get_by_label(answer, exact=True)).to_be_checked()


def test_a_caseworker_carries_a_case_from_its_report_to_its_outcome(
    page: Page, site: Site, offsite_requests: list[str], console_errors: list[str]
) -> None:
    staff(site, "alice")
    for name in ("Boulangerie Martin", "Librairie des Quais"):
        reported(site, name=name, platform="cdiscount")
    case = reported(site)

    page.goto("/console")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion à la console des agents")
    assert_accessible(page)
    page.get_by_label("Identifiant").fill("alice")
    page.get_by_label("Mot de passe").fill("not the password")
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_text("Identifiant ou mot de passe incorrect")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()

    page.goto(f"/console?min_position={case.position}")
    queues = page.get_by_role("navigation", name="Files")
    expect(queues.get_by_role("link", name=re.compile("^À qualifier 3"))).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Atelier Dupont")
    assert_accessible(page)
    keep_screenshot(page, "console")

    page.get_by_role("link", name="Atelier Dupont").click()
    expect(page).to_have_url(re.compile(rf"/console/dossiers/{case.case_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Atelier Dupont")
    assert_accessible(page)
    keep_screenshot(page, "case", full_page=True)

    qualify = form(page, "Qualifier")
    qualify.get_by_label("Catégorie").select_option(label="Déréférencement d'offres")
    qualify.get_by_label("Résumé").fill("Toute la boutique déréférencée sans motivation.")
    qualify.get_by_role("button", name="Enregistrer la qualification").click()
    expect(page.get_by_role("status")).to_have_text("Le dossier a été qualifié.")

    send = form(page, "Envoyer à la plateforme")
    send.get_by_label("Message à la plateforme").fill("Merci d'indiquer vos motifs (Art. 4(1)).")
    send.get_by_role("button", name="Envoyer à la plateforme").click()
    expect(page.get_by_role("status")).to_have_text("Le dossier a été envoyé à la plateforme.")
    expect(page.locator(".status-large")).to_have_text("En attente de la plateforme")

    answer = form(page, "Enregistrer la réponse de la plateforme")
    choose(answer, "Demande refusée")
    answer.get_by_label("Ce que la plateforme a répondu").fill(
        "Les offres enfreignent la règle 4.2."
    )
    answer.get_by_role("button", name="Enregistrer la réponse").click()
    expect(page.get_by_role("status")).to_have_text(
        "La réponse de la plateforme a été enregistrée."
    )

    escalate = form(page, "Confier au Médiateur des entreprises")
    choose(escalate, "La réponse ne règle pas le problème")
    escalate.get_by_role("button", name="Confier au médiateur").click()
    expect(page.get_by_role("status")).to_have_text(
        "Le dossier a été confié au Médiateur des entreprises."
    )

    close = form(page, "Clore le dossier")
    choose(close, "Problème non résolu")
    close.get_by_label("Comment le dossier s'est terminé").fill("La plateforme maintient.")
    close.get_by_role("button", name="Clore le dossier").click()
    expect(page.get_by_role("status")).to_have_text("Le dossier a été clos.")
    expect(page.locator(".status-large")).to_have_text("Clos")
    expect(page.get_by_text("Ce dossier est clos")).to_be_visible()

    mediation: MediationApplication = site.app.state.mediation
    events = mediation.case_history(case.case_id)
    assert [e.type for e in events] == [
        "Reported",
        "Qualified",
        "SentToPlatform",
        "PlatformResponded",
        "EscalatedToMediator",
        "Resolved",
    ]
    assert [e.actor for e in events[1:]] == ["alice"] * 5
    expect(page.locator(".timeline > li")).to_have_count(6)
    assert offsite_requests == []
    # The refused sign-in is a 422, which Chromium notes in the console: nothing else may be.
    assert [e for e in console_errors if "status of 422" not in e] == []


def test_a_form_made_before_another_caseworker_moved_says_who_moved_first(
    page: Page,
    site: Site,
    new_context: Callable[..., BrowserContext],
    offsite_requests: list[str],
    console_errors: list[str],
    artifacts_on_failure: Callable[[Page, str], None],
) -> None:
    staff(site, "alice", "bob")
    case_id: UUID = reported(site).case_id
    sign_in(page, "alice", then=f"/console/dossiers/{case_id}")
    qualify = form(page, "Qualifier")
    qualify.get_by_label("Catégorie").select_option(label="Déréférencement d'offres")
    qualify.get_by_label("Résumé").fill("Le résumé d'Alice.")

    other = open_page(
        new_context(viewport=DESKTOP), offsite_requests, console_errors, artifacts_on_failure, "bob"
    )
    site.clock.advance(timedelta(minutes=5))
    sign_in(other, "bob", then=f"/console/dossiers/{case_id}")
    theirs = form(other, "Qualifier")
    theirs.get_by_label("Catégorie").select_option(label="Rétrogradation, classement")
    theirs.get_by_label("Résumé").fill("Le résumé de Bob.")
    theirs.get_by_role("button", name="Enregistrer la qualification").click()
    expect(other.get_by_role("status")).to_have_text("Le dossier a été qualifié.")

    qualify.get_by_role("button", name="Enregistrer la qualification").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Ce dossier a été modifié par bob à 10:05, le 2 mars 2026. Rien n'a été enregistré."
    )
    expect(page.get_by_text("Rétrogradation, classement").first).to_be_visible()
    assert_accessible(page)
    mediation: MediationApplication = site.app.state.mediation
    assert [e.actor for e in mediation.case_history(case_id)] == ["intake-form", "bob"]
    assert mediation.get_case(case_id).summary is not None
    assert str(mediation.get_case(case_id).summary.text) == "Le résumé de Bob."  # type: ignore[union-attr]
    assert offsite_requests == []
    # The stale form is a 409, which Chromium notes in the console: nothing else may be.
    assert [e for e in console_errors if "status of 409" not in e] == []


def test_the_queue_and_the_case_page_fit_a_phone(
    phone: Page, site: Site, console_errors: list[str]
) -> None:
    staff(site, "alice")
    case = reported(site)
    sign_in(phone, "alice", then=f"/console?min_position={case.position}")

    for path in (f"/console?min_position={case.position}", f"/console/dossiers/{case.case_id}"):
        phone.goto(path)
        expect(phone.get_by_text("Atelier Dupont").first).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
        assert_accessible(phone)
    assert console_errors == []
