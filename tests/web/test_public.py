"""The public pages for businesses: the report form, its receipt, following a case by its code.

Each test drives the pages as a browser would (the form's CSRF token and key read from the
page it came with) on the real app, on a SQLite file then on PostgreSQL, and checks what was
recorded through the application or the API, never through the pages alone.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
import pytest
from babel.dates import format_date
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient

from application.clock import SettableClock
from application.mail import MailTemplate
from application.mediation import MediationApplication
from application.notifications import Notice
from application.notifications import addressed
from domain.case import Case
from domain.measures import Measure
from domain.measures import StatementOfReasons
from domain.values import Category
from domain.values import CompanySize
from domain.values import Language
from domain.values import Status
from infrastructure.settings import Settings
from interfaces.web.forms import CSRF_COOKIE
from tests.conftest import ACTORS
from tests.conftest import START
from tests.conftest import auth
from tests.test_tampering import RawStore
from tests.test_tampering import flip_bit

TODAY = START.date()

FORM = {
    "company_name": "Atelier Dupont",
    "siren": "732 829 320",
    "size": "micro",
    "platform": "amazon.fr",
    "measure": "delisting",
    "effective_on": "2026-02-20",
    "statement_of_reasons": "not_given",
    "category_hint": "delisting",
    "description": "All 40 of our offers were delisted overnight, with no explanation.",
    "contact_name": "Jeanne Dupont",
    "contact_email": "jeanne@atelier-dupont.fr",
    "language": "fr",
}
"""A report as a business fills the form in."""

FIELDS = list(FORM)


def mediation_of(http: TestClient) -> MediationApplication:
    mediation: MediationApplication = http.app.state.mediation  # type: ignore[attr-defined]
    return mediation


def main_text(page: httpx.Response) -> str:
    """The words of the page's `<main>`, tags dropped and blanks folded."""
    html = page.text[page.text.index("<main") : page.text.index("</main>")]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def h1(page: httpx.Response) -> list[str]:
    return [unescape(h) for h in re.findall(r"<h1>(.*?)</h1>", page.text)]


def post_report(
    http: TestClient,
    path: str = "/signaler",
    headers: dict[str, str] | None = None,
    **changes: str,
) -> httpx.Response:
    """The report form, fetched then sent with `changes` (a value None: the field left out)."""
    http.get(path)
    data = {"csrf": http.cookies[CSRF_COOKIE], **FORM, **changes}
    return http.post(path, data={k: v for k, v in data.items() if v is not None}, headers=headers)


def report(http: TestClient, **changes: str) -> tuple[str, Case]:
    """Sends a valid report, follows it to its receipt: the tracking code shown, the case."""
    sent = post_report(http, **changes)
    assert sent.status_code == 200, main_text(sent)
    assert sent.history[0].status_code == 303
    code = re.search(r'id="tracking-code">([^<]+)<', sent.text)
    assert code is not None, main_text(sent)
    return code[1], mediation_of(http).case_for_tracking_code(code[1])


def command(http: TestClient, case: Case, name: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(f"/cases/{case.id}/{name}", json=body, headers=auth("caseworker"))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def error_summary(page: httpx.Response) -> list[tuple[str, str]]:
    """The error summary's links: each field and its message (blanks folded, as in main_text)."""
    links = re.findall(r'<li><a href="#(\w+)">(.*?)</a></li>', page.text)
    return [(field, re.sub(r"\s+", " ", unescape(message))) for field, message in links]


# The form.


@pytest.mark.parametrize(
    ("path", "lang", "heading", "required"),
    [
        ("/signaler", "fr", "Signaler un problème avec une plateforme", "(obligatoire)"),
        ("/en/report", "en", "Report a problem with a platform", "(required)"),
    ],
)
def test_the_report_form_asks_every_question_with_its_label(
    http: TestClient, path: str, lang: str, heading: str, required: str
) -> None:
    page = http.get(path)

    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    assert h1(page) == [heading]
    assert re.search(r"<form [^>]*novalidate", page.text)
    assert f'name="csrf" value="{http.cookies[CSRF_COOKIE]}"' in page.text
    for field in FIELDS:
        assert re.search(rf'id="{field}"', page.text), field
        label = f'<label class="label" for="{field}">'
        legend = '<fieldset class="fieldset"'
        assert label in page.text or (legend in page.text and f'name="{field}"' in page.text)
    assert page.text.count(required) == len(FIELDS)
    for known in ("Amazon", "Cdiscount", "eBay"):
        assert f'<option value="{known}">' in page.text, "the known platforms are suggested"
    assert re.search(rf'name="language" value="{lang}" checked', page.text), (
        "the messages come in the page's language unless changed"
    )


def test_a_report_is_recorded_as_typed_and_answered_with_its_receipt(http: TestClient) -> None:
    code, case = report(http, category_hint="dont_know", language="en")

    assert case.status is Status.REPORTED
    assert str(case.company.name) == "Atelier Dupont"
    assert str(case.company.siren) == "732829320"
    assert case.company.size is CompanySize.MICRO
    assert str(case.company.contact_email) == "jeanne@atelier-dupont.fr"
    assert case.platform.key == "amazon"
    assert case.occurred_on == date(2026, 2, 20)
    assert case.reported_measure is not None
    assert case.reported_measure.measure is Measure.DELISTING
    assert case.reported_measure.effective_on == date(2026, 2, 20)
    assert case.reported_measure.statement_of_reasons is StatementOfReasons.NOT_GIVEN
    assert case.category_hint is None, "“I don't know” leaves the category to the caseworker"
    assert case.language is Language.EN
    [reported] = mediation_of(http).case_history(case.id)
    assert reported.actor == "web-form"
    assert http.get(f"/track/{code}").json()["status"] == "reported"


def test_the_receipt_shows_the_code_the_masked_address_and_what_happens_next(
    http: TestClient,
) -> None:
    code, _case = report(http)
    receipt = http.get("/signaler/recu")

    assert receipt.status_code == 200
    assert h1(receipt) == ["Signalement enregistré"]
    text = main_text(receipt)
    assert "Notez ce code : il permet de suivre votre dossier" in text
    assert "j•••@atelier-dupont.fr" in text
    assert "jeanne@" not in receipt.text
    assert "Jeanne" not in receipt.text
    assert f'href="/suivi/{code}"' in receipt.text
    steps = receipt.text[receipt.text.index('class="next-steps"') :].split("</ol>")[0]
    assert steps.count("<li>") == 5


@pytest.mark.parametrize(
    ("changes", "urgent"),
    [
        ({}, False),
        ({"measure": "funds_withheld", "category_hint": "funds_withheld"}, True),
    ],
)
def test_the_receipt_dates_are_those_of_a_case_sent_today(
    http: TestClient, changes: dict[str, str], urgent: bool
) -> None:
    """The receipt's due date is the one the platform gets when the case is sent today (with
    the short deadline when the facts make it urgent), and the mediator's the day after the
    grace a silent platform is given."""
    _, case = report(http, **changes)
    text = main_text(http.get("/signaler/recu"))
    command(
        http,
        case,
        "qualify",
        {"category": changes.get("category_hint", "delisting"), "summary": "Checked."},
    )
    due = date.fromisoformat(
        command(http, case, "send-to-platform", {"message": "Why?"})["response_due"]
    )

    def day(d: date) -> str:
        return format_date(d, format="long", locale="fr")

    assert f"jusqu'au {day(due)}" in text
    assert f"{(due - TODAY).days} jours pour répondre" in text
    assert ("semble urgent" in text) is urgent
    settings = http.app.state.settings  # type: ignore[attr-defined]
    grace = settings.deadlines.grace_days(mediation_of(http).get_case(case.id).priority)
    assert f"au plus tôt le {day(due + timedelta(days=grace + 1))}" in text


def test_the_receipt_is_shown_only_to_the_browser_that_sent_the_report(
    http: TestClient,
) -> None:
    report(http)
    http.cookies.clear()
    page = http.get("/signaler/recu")

    assert page.status_code == 404
    assert h1(page) == ["Aucun récépissé à afficher"]
    assert 'id="tracking-code"' not in page.text


# Errors.


def test_an_empty_form_says_each_error_next_to_its_field_and_records_nothing(
    http: TestClient,
) -> None:
    before = mediation_of(http).log_position()
    page = post_report(http, **{field: "" for field in FIELDS} | {"company_name": "Atelier Dupont"})

    assert page.status_code == 422
    assert mediation_of(http).log_position() == before
    assert "<title>Erreur\u00a0: Signaler un problème" in page.text
    assert "Il y a 11 erreurs" in page.text
    summary = error_summary(page)
    assert [field for field, _ in summary] == [f for f in FIELDS if f != "company_name"]
    for field, message in summary:
        error = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', page.text)
        assert error is not None
        assert message in re.sub(r"\s+", " ", unescape(error[1]))
        assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error', page.text) or (
            re.search(
                rf'<fieldset class="fieldset" aria-describedby="[^"]*{field}-error', page.text
            )
        ), field
    assert 'value="Atelier Dupont"' in page.text, "what was typed is kept"
    assert 'aria-invalid="true"' in page.text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"siren": "732829321"},
            "siren",
            "Ce numéro SIREN n'est pas valide : vérifiez-le sur votre extrait Kbis",
        ),
        ({"siren": "7328"}, "siren", "Un numéro SIREN compte 9 chiffres"),
        ({"siren": "73282932a"}, "siren", "Un numéro SIREN compte 9 chiffres"),
        (
            {"contact_email": "jeanne@"},
            "contact_email",
            "Indiquez une adresse e-mail valide, comme nom@exemple.fr",
        ),
        (
            {"effective_on": "31/02/2026"},
            "effective_on",
            "Indiquez une date réelle, par exemple 15/01/2026",
        ),
        (
            {"effective_on": "2026-03-03"},
            "effective_on",
            "La date ne peut pas être dans le futur, sauf pour une résiliation qui vous a été "
            "annoncée",
        ),
        (
            {"effective_on": "1999-12-31"},
            "effective_on",
            "La date doit être le 1er janvier 2000 ou après",
        ),
        (
            {"measure": "termination", "effective_on": "2027-06-01"},
            "effective_on",
            "Une résiliation annoncée prend effet dans un an au plus",
        ),
        (
            {"description": "x" * 10_001},
            "description",
            "La description doit faire au plus 10 000 caractères",
        ),
        ({"size": "huge"}, "size", "Choisissez la taille de votre entreprise"),
    ],
)
def test_a_value_that_breaks_a_rule_is_refused_in_plain_words(
    http: TestClient, changes: dict[str, str], field: str, message: str
) -> None:
    before = mediation_of(http).log_position()
    page = post_report(http, **changes)

    assert page.status_code == 422
    assert error_summary(page) == [(field, message)]
    assert mediation_of(http).log_position() == before


@pytest.mark.parametrize(
    ("typed", "measure", "effective_on", "occurred_on"),
    [
        ("20/02/2026", "delisting", date(2026, 2, 20), date(2026, 2, 20)),
        ("2026-03-02", "suspension", TODAY, TODAY),
        ("2026-04-15", "termination", date(2026, 4, 15), TODAY),
    ],
)
def test_dates_are_read_as_people_write_them_and_a_termination_may_be_announced(
    http: TestClient, typed: str, measure: str, effective_on: date, occurred_on: date
) -> None:
    _, case = report(http, effective_on=typed, measure=measure)

    assert case.reported_measure is not None
    assert case.reported_measure.effective_on == effective_on
    assert case.occurred_on == occurred_on


def test_a_form_sent_twice_opens_one_case(http: TestClient) -> None:
    http.get("/signaler")
    data = {"csrf": http.cookies[CSRF_COOKIE], **FORM}

    first = http.post("/signaler", data=data)
    position = mediation_of(http).log_position()
    again = http.post("/signaler", data=data)

    assert first.status_code == again.status_code == 200
    assert re.findall(r'id="tracking-code">([^<]+)<', first.text) == re.findall(
        r'id="tracking-code">([^<]+)<', again.text
    )
    assert mediation_of(http).log_position() == position
    changed = http.post("/signaler", data={**data, "description": "Now all 41 offers."})
    assert changed.status_code == 200
    assert mediation_of(http).log_position() > position, (
        "a form changed after it was sent is a new report"
    )


def test_the_same_words_from_another_browser_are_another_report(http: TestClient) -> None:
    first, _ = report(http)
    http.cookies.clear()  # another browser: another CSRF token

    second, _ = report(http)

    assert second != first


def test_a_forged_report_is_refused_and_records_nothing(http: TestClient) -> None:
    http.get("/signaler")
    before = mediation_of(http).log_position()
    page = http.post("/signaler", data=FORM)

    assert page.status_code == 403
    assert mediation_of(http).log_position() == before


@pytest.mark.parametrize(
    ("site", "status"), [("same-origin", 200), ("cross-site", 403), ("same-site", 403)]
)
def test_a_browser_that_sends_origin_null_is_judged_by_where_it_says_the_post_comes_from(
    http: TestClient, site: str, status: int
) -> None:
    """Under `Referrer-Policy: no-referrer` Chromium sends `Origin: null` with every form:
    `Sec-Fetch-Site` then tells a post of the site's own page from another site's."""
    before = mediation_of(http).log_position()
    page = post_report(http, headers={"Origin": "null", "Sec-Fetch-Site": site})

    assert page.status_code == status
    assert (mediation_of(http).log_position() > before) is (status == 200)


def test_when_the_store_fails_the_form_comes_back_as_typed_with_a_503(
    http: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: Any, **__: Any) -> None:
        raise OperationalError("the database cannot be reached")

    http.get("/signaler")
    monkeypatch.setattr(mediation_of(http).recorder, "insert_events", fail)
    page = post_report(http)

    assert page.status_code == 503
    assert page.headers["retry-after"].isdigit()
    assert "Votre signalement n'a pas pu être envoyé pour l'instant" in main_text(page)
    assert 'value="Atelier Dupont"' in page.text
    assert "Traceback" not in page.text
    assert "OperationalError" not in page.text


# Following a case.


def test_a_case_is_followed_from_its_report_to_its_outcome_in_words_and_dates(
    http: TestClient, clock: SettableClock
) -> None:
    code, case = report(http)
    page = http.get(f"/suivi/{code}")
    assert page.status_code == 200
    assert "Signalement reçu — en attente d'analyse" in main_text(page)

    command(http, case, "qualify", {"category": "delisting", "summary": "INTERNAL SUMMARY"})
    assert "En cours d'analyse" in main_text(http.get(f"/suivi/{code}"))

    sent = command(http, case, "send-to-platform", {"message": "INTERNAL MESSAGE"})
    due = date.fromisoformat(sent["response_due"])
    text = main_text(http.get(f"/suivi/{code}"))
    due_words = format_date(due, format="long", locale="fr")
    assert f"Transmis à la plateforme — réponse attendue avant le {due_words}" in text
    assert f"La plateforme doit répondre au plus tard le {due_words}" in text, "the next step"

    clock.advance(timedelta(days=3))
    command(http, case, "platform-response", {"stance": "refused", "response": "INTERNAL ANSWER"})
    assert "La plateforme a répondu" in main_text(http.get(f"/suivi/{code}"))

    escalated = command(
        http, case, "escalate", {"reason": "unsatisfactory_response", "note": "INTERNAL NOTE"}
    )
    reference = escalated["mediator_reference"]
    assert f"Confié au Médiateur des entreprises (dossier {reference})" in main_text(
        http.get(f"/suivi/{code}")
    )

    command(http, case, "resolve", {"outcome": "partially_resolved", "summary": "INTERNAL OUTCOME"})
    final = http.get(f"/suivi/{code}")
    text = main_text(final)
    assert "Dossier clos : partiellement résolu" in text
    assert "Prochaine étape" not in text
    steps = re.findall(r"<li><time datetime=\"([0-9-]+)\">", final.text)
    assert steps == sorted(steps)
    assert len(steps) == 6
    for secret in (
        "INTERNAL",
        "caseworker-1",
        "Jeanne",
        "jeanne@",
        "Atelier Dupont",
        "web-form",
        "All 40 of our offers",
    ):
        assert secret not in final.text, f"the tracking page shows {secret!r}"


def test_the_tracking_page_speaks_english_at_its_english_address(http: TestClient) -> None:
    code, _ = report(http)
    page = http.get(f"/en/track/{code}")

    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "Report received — awaiting review" in main_text(page)
    assert f'href="/suivi/{code}"' in page.text, "the language switch keeps the case"


@pytest.mark.parametrize(
    ("chosen", "heading"), [("fr", "Votre signalement"), ("en", "Your report")]
)
def test_the_e_mails_lead_to_the_case_page_in_the_language_of_the_messages(
    http: TestClient, chosen: str, heading: str
) -> None:
    _, case = report(http, language=chosen)
    notice = Notice(uuid4(), case.id, case.version, MailTemplate.ACKNOWLEDGEMENT)
    settings = http.app.state.settings  # type: ignore[attr-defined]
    message = addressed(notice, case, settings.platforms, settings.public_url)
    assert message is not None

    link = urlsplit(message.context["tracking_url"])
    assert f"{link.scheme}://{link.netloc}" == settings.public_url
    page = http.get(link.path)
    assert page.status_code == 200
    assert h1(page) == [heading]


def test_a_silent_platform_is_said_to_be_handed_to_the_mediator_on_its_day(
    http: TestClient, clock: SettableClock
) -> None:
    code, case = report(http)
    command(http, case, "qualify", {"category": "delisting", "summary": "Checked."})
    command(http, case, "send-to-platform", {"message": "Why?"})
    text = main_text(http.get(f"/suivi/{code}"))
    announced = re.search(r"à partir du (\d+ \w+ \d{4})", text)
    assert announced is not None

    mediation = mediation_of(http)
    day = TODAY
    while not mediation.silence_expired(case.id, day):
        day += timedelta(days=1)
    assert announced[1] == format_date(day, format="long", locale="fr")
    clock.advance(day - TODAY)
    mediation.escalate_for_silence(case.id, as_of=day, actor="system:deadlines")
    text = main_text(http.get(f"/suivi/{code}"))
    assert "La plateforme n'a pas répondu à temps" in text
    assert "system:deadlines" not in text


def test_a_case_whose_personal_data_was_erased_is_still_followed(http: TestClient) -> None:
    code, case = report(http)
    answer = http.post(
        f"/cases/{case.id}/erase-personal-data",
        json={"reason": "GDPR request"},
        headers=auth("dpo"),
    )
    assert answer.status_code == 200, answer.text
    page = http.get(f"/suivi/{code}")

    assert page.status_code == 200
    assert "Vos données personnelles ont été effacées" in main_text(page)
    assert "Signalement reçu — en attente d'analyse" in main_text(page)


def test_a_case_whose_stored_history_fails_verification_is_not_shown_as_if_intact(
    http: TestClient, durable_settings: Settings
) -> None:
    code, case = report(http)
    command(http, case, "qualify", {"category": "delisting", "summary": "Checked."})
    store = RawStore(durable_settings)
    actor = ACTORS["caseworker"].encode()
    store.set_state(str(case.id), 2, flip_bit(store.state(str(case.id), 2), b'"actor":"' + actor))

    page = http.get(f"/suivi/{code}")
    assert page.status_code == 409
    assert h1(page) == ["Votre dossier ne peut pas être affiché pour l'instant"]
    assert "En cours d'analyse" not in page.text


@pytest.mark.parametrize("code", ["abcde-fghij-klmno-pqrst-uvwxyz", "not-a-code", "x" * 500, "%00"])
def test_an_unknown_or_malformed_code_gets_the_same_page(http: TestClient, code: str) -> None:
    unknown = http.get("/suivi/aaaaa-bbbbb-ccccc-ddddd-eeeeee")
    page = http.get(f"/suivi/{code}")

    assert page.status_code == unknown.status_code == 404
    assert main_text(page) == main_text(unknown)
    assert "le récépissé" in main_text(page)
    assert "l'e-mail" in main_text(page)


def test_the_tracking_form_leads_to_the_case_page(http: TestClient) -> None:
    code, _ = report(http)
    typed = code.replace("-", " ").upper()

    answer = http.get("/suivi", params={"code": typed}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/suivi/{code}"

    empty = http.get("/suivi", params={"code": "  "})
    assert empty.status_code == 422
    assert error_summary(empty) == [("code", "Indiquez votre code de suivi")]
    assert http.get("/en/track").status_code == 200


def test_when_the_store_fails_the_tracking_page_says_so_with_a_503(
    http: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _ = report(http)

    def fail(*_: Any, **__: Any) -> None:
        raise OperationalError("the database cannot be reached")

    monkeypatch.setattr(mediation_of(http).recorder, "select_events", fail)
    page = http.get(f"/suivi/{code}")

    assert page.status_code == 503
    assert page.headers["retry-after"].isdigit()
    assert h1(page) == ["Service momentanément indisponible"]
    assert "OperationalError" not in page.text


def test_every_public_page_has_a_title_of_its_own(http: TestClient) -> None:
    code, _ = report(http)
    pages = ["/", "/signaler", "/signaler/recu", "/suivi", f"/suivi/{code}", "/suivi/unknown"]
    titles = [re.search(r"<title>(.*?)</title>", http.get(p).text) for p in pages]

    assert all(titles)
    assert len({t[1] for t in titles if t}) == len(pages)


def test_category_choices_are_the_domain_s(http: TestClient) -> None:
    page = http.get("/signaler")
    offered = re.findall(r'name="category_hint" value="(\w+)"', page.text)

    assert offered == [c.value for c in Category] + ["dont_know"]
