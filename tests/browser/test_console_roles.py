"""The console's pages for platforms, auditors and the data protection officer in a real
browser: a platform answers a case from its portal and cannot open another platform's; an
auditor replays a case at a version and downloads its dossier; the officer erases a case's
personal data after the confirmation. Each page accessible, loading nothing from another host."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page
from playwright.sync_api import expect

from application.access import Role
from application.accounts import StaffAccounts
from application.mediation import CommandResult
from application.mediation import MediationApplication
from interfaces.http.schemas import QualifyCaseRequest
from interfaces.http.schemas import SendToPlatformRequest
from tests.browser.conftest import Site
from tests.browser.conftest import assert_accessible
from tests.browser.screenshots import keep_screenshot
from tests.browser.test_console import PASSWORD
from tests.browser.test_console import reported
from tests.browser.test_console import sign_in


def mine(errors: list[str]) -> list[str]:
    """The console's errors but the browser's note of a page answered 404 or 422 on purpose."""
    return [e for e in errors if "Failed to load resource" not in e]


def account(site: Site, username: str, role: Role, platform: str | None = None) -> None:
    """An account made by the accounts service, as `mediation users add` makes it."""
    accounts: StaffAccounts = site.app.state.accounts
    accounts.add(username, role, PASSWORD, by="test", platform=platform)


def sent(site: Site, **changes: Any) -> CommandResult:
    """A case reported, qualified and sent to its platform through the application."""
    mediation: MediationApplication = site.app.state.mediation
    case_id = reported(site, **changes).case_id
    qualification = QualifyCaseRequest.model_validate(
        {"category": "delisting", "summary": "Delisted without a statement of reasons."}
    )
    mediation.qualify_case(case_id, **qualification.to_command(), actor="alice")
    message = SendToPlatformRequest.model_validate({"message": "Please state your reasons."})
    return mediation.send_to_platform(case_id, **message.to_command(), actor="alice")


def test_a_platform_answers_from_its_portal_and_cannot_open_another_platforms_case(
    page: Page, site: Site, offsite_requests: list[str], console_errors: list[str]
) -> None:
    account(site, "amazon-desk", Role.PLATFORM, "amazon")
    ours = sent(site, platform="Amazon", name="Atelier Dupont")
    theirs = sent(site, platform="eBay", name="Chez Bidule")

    sign_in(page, "amazon-desk")
    expect(page).to_have_url(re.compile(r"/console/plateforme$"))
    page.goto(f"/console/plateforme?min_position={max(ours.position, theirs.position)}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossiers transmis à Amazon")
    expect(page.get_by_role("link", name="Atelier Dupont")).to_be_visible()
    expect(page.get_by_text("Chez Bidule")).to_have_count(0)
    assert_accessible(page)
    keep_screenshot(page, "platform-portal")

    page.get_by_role("link", name="Atelier Dupont").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Atelier Dupont")
    expect(page.get_by_text("Jeanne Dupont")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Accuser réception du dossier").click()
    expect(page.get_by_role("status")).to_have_text("Accusé de réception enregistré.")
    answer = page.get_by_role("form", name="Votre réponse")
    answer.locator("label", has_text=re.compile("^Demande acceptée$")).click()
    answer.get_by_label("Ce que la plateforme a répondu").fill("The offers are listed again.")
    answer.get_by_role("button", name="Envoyer votre réponse").click()
    expect(page.get_by_role("status")).to_have_text("Votre réponse a été enregistrée. Merci.")
    assert_accessible(page)
    mediation: MediationApplication = site.app.state.mediation
    last = mediation.case_history(ours.case_id)[-1]
    assert (last.type, last.actor) == ("PlatformResponded", "amazon-desk")

    answered = page.goto(f"/console/plateforme/dossiers/{theirs.case_id}")
    assert answered is not None
    assert answered.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossier introuvable")
    expect(page.get_by_text("Chez Bidule")).to_have_count(0)
    assert_accessible(page)
    assert mine(console_errors) == []


def test_an_auditor_replays_a_case_at_a_version_and_downloads_its_dossier(
    page: Page, site: Site, offsite_requests: list[str], console_errors: list[str]
) -> None:
    account(site, "aude", Role.AUDITOR)
    case = sent(site)

    sign_in(page, "aude")
    expect(page).to_have_url(re.compile(r"/console/audit$"))
    assert_accessible(page)
    page.get_by_label("Identifiant du dossier").fill(str(case.case_id))
    page.get_by_role("button", name="Ouvrir le dossier").click()
    expect(page).to_have_url(re.compile(rf"/console/audit/dossiers/{case.case_id}$"))
    expect(page.locator("#integrity")).to_contain_text("Intègre")
    expect(page.locator(".timeline > li")).to_have_count(case.version)

    page.get_by_label("À une version").select_option("2")
    page.get_by_role("button", name="Afficher cette version").click()
    expect(page).to_have_url(re.compile(r"\?version=2$"))
    expect(page.locator(".timeline > li")).to_have_count(2)
    expect(page.get_by_text(f"juste après la version 2 (sur {case.version})")).to_be_visible()
    assert_accessible(page)
    keep_screenshot(page, "auditor-case")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le dossier").click()
    assert download.value.suggested_filename == f"dossier-{case.case_id}.json"
    dossier = json.loads(download.value.path().read_text())
    assert dossier["case_id"] == str(case.case_id)
    assert dossier["integrity"]["verified"] is True
    assert [e["version"] for e in dossier["history"]] == list(range(1, case.version + 1))

    page.get_by_role("link", name="Dossier à imprimer").click()
    expect(page.get_by_text(dossier["statement"]["head_hash"])).to_be_visible()
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation")).to_be_hidden()
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Auditer un dossier").click()
    page.get_by_role("link", name="Les comptes des agents et chaque changement").click()
    expect(page.locator("#accounts")).to_contain_text("aude")
    expect(page.locator("#changes")).to_contain_text("Compte créé")
    assert_accessible(page)
    assert mine(console_errors) == []


def test_the_dpo_erases_a_cases_personal_data_after_the_confirmation(
    page: Page, site: Site, offsite_requests: list[str], console_errors: list[str]
) -> None:
    account(site, "dora", Role.DPO)
    case = sent(site)

    sign_in(page, "dora")
    expect(page).to_have_url(re.compile(r"/console/donnees-personnelles$"))
    page.get_by_label("Identifiant du dossier").fill(str(case.case_id))
    page.get_by_role("button", name="Ouvrir le dossier").click()
    expect(page.get_by_text("Atelier Dupont")).to_have_count(0)
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator("#reason-error")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Motif de l'effacement").fill("GDPR request 2026-117")
    page.get_by_role("button", name="Continuer").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Confirmer l'effacement")
    expect(page.get_by_text("Cet effacement ne peut pas être annulé.")).to_be_visible()
    assert_accessible(page)
    mediation: MediationApplication = site.app.state.mediation
    assert not mediation.get_case(case.case_id).personal_data_erased
    page.get_by_role("button", name="Effacer", exact=True).click()

    expect(page.get_by_role("status")).to_have_text(
        "Les données personnelles de ce dossier ont été effacées."
    )
    assert_accessible(page)
    last = mediation.case_history(case.case_id)[-1]
    assert (last.type, last.actor) == ("PersonalDataErased", "dora")
    assert mediation.get_case(case.case_id).personal_data_erased
    assert mine(console_errors) == []
