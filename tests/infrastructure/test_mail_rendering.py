"""The e-mails' templates: every message in French and in English says its key facts, its HTML
escapes what people wrote, and the templates ship with the package."""

from __future__ import annotations

import tomllib
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from jinja2 import DictLoader

from application.mail import MailTemplate
from application.mail import build_message
from application.mail import message_id
from domain.measures import Measure
from domain.measures import MeasureFacts
from domain.measures import StatementOfReasons
from domain.values import Category
from domain.values import EscalationReason
from domain.values import Language
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Siren
from domain.values import Stance
from domain.values import TrackingCode
from infrastructure.mail_rendering import CONTEXT
from infrastructure.mail_rendering import LABELLED
from infrastructure.mail_rendering import LABELS
from infrastructure.mail_rendering import JinjaMailRenderer
from infrastructure.mail_rendering import MailTemplateError
from infrastructure.mail_rendering import render
from infrastructure.mail_transport import parse_mail_url
from infrastructure.mail_transport import transport_for
from tests.smtp_server import smtp_server

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "infrastructure" / "mail_templates"

CASE_ID = UUID("0b9f3c1e-5d2a-4c8e-9f1a-2b3c4d5e6f70")
CODE = TrackingCode("abcdefghijklmnopqrstuvwxyz")
COMPANY = "Atelier Dupont & Fils"
FACTS: dict[str, Any] = {
    "contact_name": PersonalText("Jeanne Dupont"),
    "company_name": PersonalText(COMPANY),
    "platform_name": "Amazon",
    "tracking_url": "https://mediation.example/suivi/abcde-fghij-klmno-pqrst-uvwxyz",
    "tracking_code": CODE,
    "reported_on": date(2026, 3, 1),
    "sent_on": date(2026, 3, 2),
    "response_due": date(2026, 3, 17),
    "stance": Stance.PARTIALLY_ACCEPTED,
    "responded_on": date(2026, 3, 12),
    "reason": EscalationReason.NO_RESPONSE,
    "mediator_reference": "MED-2026-0B9F3C1E5D2A",
    "escalated_on": date(2026, 3, 24),
    "outcome": Outcome.PARTIALLY_RESOLVED,
    "resolved_on": date(2026, 5, 4),
    "case_id": CASE_ID,
    "siren": Siren("732829320"),
    "category": Category.DELISTING,
    "measure": MeasureFacts(
        Measure.TERMINATION, date(2026, 4, 1), StatementOfReasons.NOT_GIVEN, date(2026, 2, 27)
    ),
    "message": PersonalText("Please state the reasons for the delisting (P2B Art. 4(1))."),
    "portal_url": f"https://mediation.example/platform/cases/{CASE_ID}",
    "number": 2,
}

# What each message must say, in each language: the facts as the reader sees them.
SAYS: dict[MailTemplate, dict[Language, tuple[str, ...]]] = {
    MailTemplate.ACKNOWLEDGEMENT: {
        Language.FR: ("abcde-fghij-klmno-pqrst-uvwxyz", FACTS["tracking_url"], "1er mars 2026"),
        Language.EN: ("abcde-fghij-klmno-pqrst-uvwxyz", FACTS["tracking_url"], "1 March 2026"),
    },
    MailTemplate.SENT_TO_PLATFORM: {
        Language.FR: ("Amazon", "17 mars 2026", FACTS["tracking_url"]),
        Language.EN: ("Amazon", "17 March 2026", FACTS["tracking_url"]),
    },
    MailTemplate.PLATFORM_ANSWERED: {
        Language.FR: ("Amazon", "12 mars 2026", "demande acceptée en partie"),
        Language.EN: ("Amazon", "12 March 2026", "request partly accepted"),
    },
    MailTemplate.ESCALATED: {
        Language.FR: ("MED-2026-0B9F3C1E5D2A", "24 mars 2026", "pas répondu dans les délais"),
        Language.EN: ("MED-2026-0B9F3C1E5D2A", "24 March 2026", "did not answer in time"),
    },
    MailTemplate.OUTCOME: {
        Language.FR: ("résolu en partie", "4 mai 2026"),
        Language.EN: ("partly resolved", "4 May 2026"),
    },
    MailTemplate.CASE_SENT: {
        Language.FR: (
            "732829320",
            str(CASE_ID),
            "17 mars 2026",
            "Déréférencement d'offres",
            "résiliation du compte",
            "1er avril 2026",
            "Exposé des motifs donné",
            "27 février 2026",
            "P2B Art. 4(1)",
            FACTS["portal_url"],
        ),
        Language.EN: (
            "732829320",
            str(CASE_ID),
            "17 March 2026",
            "Listing delisted or restricted",
            "account terminated",
            "1 April 2026",
            "Statement of reasons given",
            "27 February 2026",
            "P2B Art. 4(1)",
            FACTS["portal_url"],
        ),
    },
    MailTemplate.REMINDER: {
        Language.FR: ("n° 2", "2 mars 2026", "17 mars 2026", str(CASE_ID), FACTS["portal_url"]),
        Language.EN: ("no. 2", "2 March 2026", "17 March 2026", str(CASE_ID), FACTS["portal_url"]),
    },
}


def context(template: MailTemplate, **changes: Any) -> dict[str, Any]:
    return {name: FACTS[name] for name in CONTEXT[template]} | changes


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("template", list(MailTemplate))
def test_every_message_says_its_facts_in_both_languages(
    template: MailTemplate, language: Language
) -> None:
    subject, text, html = render(template, language, context(template))
    assert subject
    assert "\n" not in subject
    assert f'<html lang="{language.value}">' in html
    assert f"<title>{subject.replace('&', '&amp;')}</title>" in html
    for fact in SAYS[template][language]:
        assert fact in text, (fact, text)
        assert fact.replace("&", "&amp;").replace("'", "&#39;") in html.replace("&nbsp;", " ")
    if template.audience.value == "business":
        assert "Jeanne Dupont" in text
        assert "Jeanne Dupont" in html
    assert "Atelier Dupont &amp; Fils" in html  # autoescaped
    assert "Atelier Dupont & Fils" in text  # plain text is not


def test_what_people_wrote_is_escaped_in_html_and_kept_in_text() -> None:
    attack = '<script>alert("x")</script><a href="https://evil.example">'
    for template in MailTemplate:
        changes = {"company_name": PersonalText(attack)}
        if template is MailTemplate.CASE_SENT:
            changes["message"] = PersonalText(f"line one\n{attack}")
        subject, text, html = render(template, Language.FR, context(template, **changes))
        assert "<script>" not in html
        assert 'evil.example">' not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert attack in text
        assert "\n" not in subject


def test_a_platform_without_the_portal_is_told_to_answer_by_mail() -> None:
    for template in (MailTemplate.CASE_SENT, MailTemplate.REMINDER):
        for language, words in ((Language.FR, "rappelant la référence"), (Language.EN, "quoting")):
            _, text, html = render(template, language, context(template, portal_url=None))
            assert words in text
            assert words in html
            assert "platform/cases" not in text + html


def test_a_case_sent_states_the_measure_facts_or_leaves_them_out() -> None:
    template = MailTemplate.CASE_SENT
    _, text, _ = render(template, "fr", context(template))
    assert "Mesure : résiliation du compte, effective le 1er avril 2026\n" in text
    assert "Exposé des motifs donné : non\nPréavis reçu le 27 février 2026\n" in text
    _, text, _ = render(template, "en", context(template))
    assert "Statement of reasons given: no\nNotice received on 27 February 2026\n" in text
    _, text, html = render(template, "en", context(template, category=None, measure=None))
    for absent in ("Category", "Measure", "Statement of reasons"):
        assert absent not in text
        assert absent not in html
    _, text, _ = render(
        template, "fr", context(template, measure=MeasureFacts(Measure.FUNDS_WITHHELD))
    )
    assert "Mesure : fonds bloqués\n" in text
    assert "Préavis" not in text


def test_a_missing_fact_is_an_error_never_a_blank() -> None:
    facts = context(MailTemplate.ACKNOWLEDGEMENT)
    del facts["tracking_code"]
    with pytest.raises(MailTemplateError, match="acknowledgement: the context lacks tracking_code"):
        render(MailTemplate.ACKNOWLEDGEMENT, Language.FR, facts)
    with pytest.raises(ValueError, match="'de' is not a valid Language"):
        render(MailTemplate.ACKNOWLEDGEMENT, "de", context(MailTemplate.ACKNOWLEDGEMENT))


def test_every_value_a_message_may_name_has_a_label_in_both_languages() -> None:
    for kind in LABELLED:
        for member in kind:
            french, english = LABELS[member]
            assert french
            assert english


def test_the_templates_are_the_messages_in_both_languages_and_ship_with_the_package() -> None:
    expected = {
        f"{language.value}/{template.value}.{kind}"
        for template in MailTemplate
        for language in Language
        for kind in ("txt", "html")
    }
    found = {
        p.relative_to(TEMPLATES).as_posix()
        for p in TEMPLATES.rglob("*")
        if p.is_file() and not p.name.startswith("_")
    }
    assert found == expected
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["infrastructure"]
    packaged = {p for pattern in globs for p in (ROOT / "infrastructure").glob(pattern)}
    assert packaged == {p for p in TEMPLATES.rglob("*") if p.is_file()}


def test_a_template_must_start_with_its_subject_line() -> None:
    renderer = JinjaMailRenderer()
    renderer.environment.loader = DictLoader(
        {"fr/outcome.txt": "no blank line after the subject\n{{ outcome | label }}"}
    )
    with pytest.raises(MailTemplateError, match="the first line is the subject"):
        renderer.render(MailTemplate.OUTCOME, Language.FR, context(MailTemplate.OUTCOME))


def test_an_acknowledgement_rendered_and_delivered_arrives_with_its_tracking_code() -> None:
    template = MailTemplate.ACKNOWLEDGEMENT
    message = build_message(
        sender="mediation@mediation.example",
        to=["jeanne@atelier-dupont.example"],
        rendered=render(template, Language.FR, context(template)),
        message_id=message_id("outbox-1"),
        template=template,
        language=Language.FR,
        date=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
    )
    with smtp_server() as server:
        transport_for(parse_mail_url(f"smtp://127.0.0.1:{server.port}"), timeout=5).deliver(message)
    (received,) = server.received
    text = received.message.get_body(("plain",))
    html = received.message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "abcde-fghij-klmno-pqrst-uvwxyz" in text.get_content()
    assert "abcde-fghij-klmno-pqrst-uvwxyz" in html.get_content()
    assert received.message["Subject"] == "Votre signalement concernant Amazon est enregistré"
