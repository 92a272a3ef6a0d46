"""The public pages for businesses in a real browser: reporting with the keyboard alone, the
errors said and reached from their summary, the receipt, following the case; each page
accessible, on a desktop and on a phone, loading nothing from another host."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from application.mediation import MediationApplication
from tests.browser.conftest import Site
from tests.browser.conftest import assert_accessible
from tests.browser.screenshots import keep_screenshot

TRACKING_CODE = re.compile(r"[a-z2-7]{5}(-[a-z2-7]{5}){4}[a-z2-7]")


def choose(page: Page, question: str, answer: str) -> None:
    """Ticks a radio as a person does: a click on its label (the tap target)."""
    group = page.get_by_role("group", name=re.compile(re.escape(question)))
    group.locator("label", has_text=re.compile(f"^{re.escape(answer)}")).click()
    expect(group.get_by_label(answer, exact=False).first).to_be_checked()


def fill_the_report(page: Page) -> None:
    """Fills the French form as a business would, each field found by its label."""
    page.get_by_label("Raison sociale").fill("Atelier Dupont")
    page.get_by_label("Numéro SIREN").fill("732 829 320")
    choose(page, "Taille", "Micro-entreprise")
    page.get_by_label("Nom de la plateforme").fill("Amazon")
    choose(page, "Ce que la plateforme a fait", "Offres déréférencées ou restreintes")
    page.get_by_label("Date à laquelle la mesure a pris effet").fill("2026-02-20")
    choose(page, "Avez-vous reçu une explication", "Non")
    choose(page, "De quel type de problème", "Offres déréférencées ou masquées")
    page.get_by_label("Description").fill("Nos 40 offres ont été retirées du jour au lendemain.")
    page.get_by_label("Votre nom").fill("Jeanne Dupont")
    page.get_by_label("Votre adresse e-mail").fill("jeanne@atelier-dupont.fr")


def test_a_business_reports_and_follows_its_case_with_the_keyboard_alone(
    page: Page, site: Site, offsite_requests: list[str], console_errors: list[str]
) -> None:
    page.goto("/")
    page.get_by_role("link", name="Signaler un problème").first.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/signaler$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Signaler un problème avec une plateforme"
    )
    assert_accessible(page)
    keep_screenshot(page, "report-fr")

    fill_the_report(page)
    page.get_by_role("button", name="Envoyer le signalement").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Signalement enregistré")
    code = page.locator("#tracking-code").inner_text()
    assert TRACKING_CODE.fullmatch(code)
    expect(page.get_by_text("j•••@atelier-dupont.fr")).to_be_visible()
    assert_accessible(page)
    keep_screenshot(page, "receipt-fr")
    page.emulate_media(media="print")
    on_paper = page.evaluate(
        "() => [getComputedStyle(document.querySelector('h1')).color,"
        " getComputedStyle(document.querySelector('#tracking-code')).color]"
    )
    assert "rgb(255, 255, 255)" not in on_paper, "the receipt prints dark on white"
    expect(page.get_by_role("navigation")).to_be_hidden()
    page.emulate_media(media="screen")
    mediation: MediationApplication = site.app.state.mediation
    assert str(mediation.case_for_tracking_code(code).company.name) == "Atelier Dupont"

    page.get_by_role("link", name="Suivre votre dossier maintenant").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/suivi/{code}$"))
    expect(page.locator(".status-large")).to_have_text("Signalement reçu — en attente d'analyse")
    expect(page.locator(".timeline li")).to_have_count(1)
    assert_accessible(page)
    keep_screenshot(page, "track-fr")
    assert offsite_requests == []
    assert console_errors == []


def test_errors_are_summed_up_and_each_link_leads_to_its_field(
    page: Page, console_errors: list[str]
) -> None:
    page.goto("/signaler")
    page.get_by_label("Raison sociale").fill("Atelier Dupont")
    page.get_by_label("Numéro SIREN").fill("732829321")
    page.get_by_role("button", name="Envoyer le signalement").click()

    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading")).to_have_text(re.compile(r"Il y a 10 erreurs"))
    expect(page).to_have_title(re.compile(r"^Erreur"))
    expect(page.get_by_label("Raison sociale")).to_have_value("Atelier Dupont")
    siren = page.get_by_label("Numéro SIREN")
    expect(siren).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#siren-error")).to_contain_text("vérifiez-le sur votre extrait Kbis")
    assert_accessible(page)
    keep_screenshot(page, "report-errors-fr")

    summary.get_by_role("link", name=re.compile("numéro SIREN n'est pas valide")).click()
    expect(siren).to_be_focused()
    # The form sent back is a 422, which Chromium notes in the console: nothing else may be.
    assert [e for e in console_errors if "status of 422" not in e] == []


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/en/report", "Report a problem with a platform"),
        ("/suivi", "Suivre un signalement"),
        ("/en/track/not-a-code", "Tracking code not found"),
        ("/signaler/recu", "Aucun récépissé à afficher"),
    ],
)
def test_the_other_public_pages_are_accessible(
    page: Page, offsite_requests: list[str], path: str, heading: str
) -> None:
    page.goto(path)

    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert_accessible(page)
    assert offsite_requests == []


@pytest.mark.parametrize("path", ["/signaler", "/suivi"])
def test_the_public_pages_fit_a_phone(phone: Page, console_errors: list[str], path: str) -> None:
    phone.goto(path)

    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(phone)
    assert console_errors == []
    if path == "/signaler":
        keep_screenshot(phone, "report-phone")


def test_the_siren_number_is_checked_as_it_is_typed(page: Page, console_errors: list[str]) -> None:
    page.goto("/signaler")
    siren = page.get_by_label("Numéro SIREN")
    said = page.locator("#siren-check")

    siren.press_sequentially("732 829 321")
    expect(said).to_have_text(
        "Ce numéro SIREN n'est pas valide\u00a0: vérifiez-le sur votre extrait Kbis"
    )
    expect(siren).to_have_attribute("aria-describedby", re.compile(r"\bsiren-check\b"))

    siren.press("Backspace")
    siren.press_sequentially("0")
    expect(said).to_have_text("")

    siren.fill("")
    siren.press_sequentially("7328")
    expect(said).to_have_text("", timeout=1000)
    siren.press("Tab")
    expect(said).to_have_text("Un numéro SIREN compte 9 chiffres")
    assert console_errors == []


def test_the_receipt_and_the_case_page_fit_a_phone(phone: Page, console_errors: list[str]) -> None:
    phone.goto("/signaler")
    fill_the_report(phone)
    phone.get_by_role("button", name="Envoyer le signalement").click()

    expect(phone.get_by_role("heading", level=1)).to_have_text("Signalement enregistré")
    expect(phone.locator("#tracking-code")).to_be_visible()
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    keep_screenshot(phone, "receipt-phone")
    phone.get_by_role("link", name="Suivre votre dossier maintenant").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Votre signalement")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert_accessible(phone)
    assert console_errors == []
