"""The e-mails' wording: Jinja2 templates in infrastructure/mail_templates/, French and English.

Each message has, per language, a plain-text template whose first line is the subject (then a
blank line, then the body) and an HTML template, autoescaped, that extends `_layout.html`. The
context gives the facts (values of the domain as they are: dates, enums, PersonalText); the
filters `day` and `label` write a date and an enum in the message's language. `CONTEXT` says
which facts each message needs; a fact missing is an error, never a blank in a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum
from functools import cache
from typing import Any

from jinja2 import Environment
from jinja2 import PackageLoader
from jinja2 import StrictUndefined
from jinja2 import pass_context
from jinja2 import select_autoescape
from jinja2.runtime import Context

from application.mail import MailTemplate
from application.mail import RenderedMail
from domain.measures import Measure
from domain.measures import StatementOfReasons
from domain.values import CATEGORY_LABELS
from domain.values import Category
from domain.values import EscalationReason
from domain.values import Language
from domain.values import Outcome
from domain.values import Stance

_BUSINESS = frozenset({"contact_name", "company_name", "platform_name", "tracking_url"})
_PLATFORM = frozenset({"platform_name", "case_id", "company_name", "siren", "response_due"})

CONTEXT: dict[MailTemplate, frozenset[str]] = {
    MailTemplate.ACKNOWLEDGEMENT: _BUSINESS | {"tracking_code", "reported_on"},
    MailTemplate.SENT_TO_PLATFORM: _BUSINESS | {"sent_on", "response_due"},
    MailTemplate.PLATFORM_ANSWERED: _BUSINESS | {"stance", "responded_on"},
    MailTemplate.ESCALATED: _BUSINESS | {"reason", "mediator_reference", "escalated_on"},
    MailTemplate.OUTCOME: _BUSINESS | {"outcome", "resolved_on"},
    MailTemplate.CASE_SENT: _PLATFORM | {"category", "measure", "message", "portal_url"},
    MailTemplate.REMINDER: _PLATFORM | {"number", "sent_on", "portal_url"},
}
"""The facts each message needs. `category`, `measure` (MeasureFacts) and `portal_url` may be
None: the message then leaves them out (no portal: the platform is told to answer by mail)."""

LABELS: dict[Enum, tuple[str, str]] = {
    **{category: labels for category, labels in CATEGORY_LABELS.items()},
    Stance.ACCEPTED: ("demande acceptée", "request accepted"),
    Stance.PARTIALLY_ACCEPTED: ("demande acceptée en partie", "request partly accepted"),
    Stance.REFUSED: ("demande refusée", "request refused"),
    Stance.INFORMATION_REQUESTED: (
        "informations complémentaires demandées",
        "further information requested",
    ),
    EscalationReason.NO_RESPONSE: (
        "la plateforme n'a pas répondu dans les délais",
        "the platform did not answer in time",
    ),
    EscalationReason.UNSATISFACTORY_RESPONSE: (
        "la réponse de la plateforme ne règle pas le problème",
        "the platform's answer does not settle the problem",
    ),
    EscalationReason.COMPLEXITY: ("la complexité du dossier", "the complexity of the case"),
    EscalationReason.BUSINESS_REQUEST: ("à votre demande", "at your request"),
    Outcome.RESOLVED: ("résolu", "resolved"),
    Outcome.PARTIALLY_RESOLVED: ("résolu en partie", "partly resolved"),
    Outcome.NOT_RESOLVED: ("non résolu", "not resolved"),
    Outcome.WITHDRAWN: ("retiré", "withdrawn"),
    Outcome.INADMISSIBLE: ("irrecevable", "inadmissible"),
    Measure.DELISTING: ("déréférencement ou restriction d'offres", "offers delisted or restricted"),
    Measure.SUSPENSION: ("suspension du compte", "account suspended"),
    Measure.TERMINATION: ("résiliation du compte", "account terminated"),
    Measure.TERMS_CHANGE: ("modification des conditions", "terms changed"),
    Measure.FUNDS_WITHHELD: ("fonds bloqués", "funds withheld"),
    Measure.OTHER: ("autre mesure", "another measure"),
    StatementOfReasons.GIVEN: ("oui", "yes"),
    StatementOfReasons.PARTLY: ("en partie", "partly"),
    StatementOfReasons.NOT_GIVEN: ("non", "no"),
}
"""Each value a message may name, in French and in English."""

LABELLED: tuple[type[Enum], ...] = (
    Category,
    Stance,
    EscalationReason,
    Outcome,
    Measure,
    StatementOfReasons,
)

_MONTHS = {
    Language.FR: [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    Language.EN: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}


@pass_context
def _day(context: Context, value: date) -> str:
    language = Language(context["language"])
    month = _MONTHS[language][value.month - 1]
    day = "1er" if language is Language.FR and value.day == 1 else str(value.day)
    return f"{day} {month} {value.year}"


@pass_context
def _label(context: Context, value: Enum) -> str:
    french, english = LABELS[value]
    return french if context["language"] == Language.FR.value else english


class MailTemplateError(ValueError):
    """A message that cannot be written: a fact missing, or a template out of shape."""


class JinjaMailRenderer:
    """Writes each message from its templates (infrastructure/mail_templates/<language>/)."""

    def __init__(self) -> None:
        self.environment = Environment(
            loader=PackageLoader("infrastructure", "mail_templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.environment.filters["day"] = _day
        self.environment.filters["label"] = _label

    def render(
        self, template: MailTemplate | str, language: Language | str, context: Mapping[str, Any]
    ) -> RenderedMail:
        template, language = MailTemplate(template), Language(language)
        missing = CONTEXT[template] - context.keys()
        if missing:
            raise MailTemplateError(
                f"{template.value}: the context lacks {', '.join(sorted(missing))}"
            )
        values = {**context, "language": language.value}
        folder = language.value
        text = self.environment.get_template(f"{folder}/{template.value}.txt").render(values)
        subject, blank, body = text.partition("\n\n")
        if not blank or "\n" in subject.strip() or not subject.strip():
            raise MailTemplateError(
                f"{folder}/{template.value}.txt: the first line is the subject, then a blank line"
            )
        subject = " ".join(subject.split())
        html = self.environment.get_template(f"{folder}/{template.value}.html").render(
            {**values, "subject": subject}
        )
        return RenderedMail(subject=subject, text=body.lstrip("\n"), html=html)


@cache
def renderer() -> JinjaMailRenderer:
    """The process's renderer, made at first use (Jinja2 keeps the templates it compiled)."""
    return JinjaMailRenderer()


def render(
    template: MailTemplate | str, language: Language | str, context: Mapping[str, Any]
) -> RenderedMail:
    """A message's subject, plain text and HTML."""
    return renderer().render(template, language, context)
