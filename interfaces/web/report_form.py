"""The report form: its questions in order, their choices, and how what a business typed
becomes a report, or an error said in plain words next to each field it concerns.

The rules are the API's: the form is read into the body of `POST /cases` and checked by its
own request model (`ReportCaseRequest`) and the domain's date rules; this module only decides
which field an error belongs to and how to say it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from application.mediation import ReportRequest
from domain.errors import InvalidValue
from domain.measures import Measure
from domain.measures import MeasureFacts
from domain.platforms import PlatformDirectory
from domain.values import EARLIEST_DATE
from domain.values import MAX_NAME_LENGTH
from domain.values import MAX_TEXT_LENGTH
from domain.values import Category
from domain.values import Channel
from domain.values import CompanySize
from domain.values import check_past_date
from interfaces.http.schemas import ReportCaseRequest
from interfaces.web.wording import N_
from interfaces.web.wording import wording

FIELDS = (
    "company_name",
    "siren",
    "size",
    "platform",
    "measure",
    "effective_on",
    "statement_of_reasons",
    "category_hint",
    "description",
    "contact_name",
    "contact_email",
    "language",
)
"""The form's fields in the order they are asked: the error summary follows it."""

DONT_KNOW = "dont_know"
"""The answer "I don't know" to the kind of problem: the report then has no category hint."""

Choice = tuple[str, str, str | None]
"""A radio: its value, its label, a one-line hint or None."""

SIZES: tuple[Choice, ...] = (
    (CompanySize.MICRO.value, N_("Micro-enterprise: fewer than 10 people"), None),
    (CompanySize.SMALL.value, N_("Small: fewer than 50 people"), None),
    (CompanySize.MEDIUM.value, N_("Medium: fewer than 250 people"), None),
)

MEASURES: tuple[Choice, ...] = (
    (Measure.DELISTING.value, N_("Offers delisted or restricted"), None),
    (Measure.SUSPENSION.value, N_("Account suspended"), None),
    (Measure.TERMINATION.value, N_("Account terminated, or notice of termination"), None),
    (Measure.TERMS_CHANGE.value, N_("Terms and conditions changed"), None),
    (Measure.FUNDS_WITHHELD.value, N_("Funds withheld"), None),
    (Measure.OTHER.value, N_("Something else"), None),
)

STATEMENTS: tuple[Choice, ...] = (
    ("given", N_("Yes"), None),
    ("not_given", N_("No"), None),
    ("partly", N_("Partly"), None),
)

CATEGORIES: tuple[Choice, ...] = (
    (
        Category.DELISTING.value,
        N_("Offers delisted or hidden"),
        N_("Products removed from the catalogue or from the search results."),
    ),
    (
        Category.ACCOUNT_SUSPENSION.value,
        N_("Account suspended"),
        N_("You can no longer sell for a while."),
    ),
    (
        Category.ACCOUNT_TERMINATION.value,
        N_("Account closed"),
        N_("The platform ended, or announced it will end, your contract."),
    ),
    (
        Category.MISSING_STATEMENT_OF_REASONS.value,
        N_("No clear reason given"),
        N_("The platform acted without saying why, or too vaguely."),
    ),
    (
        Category.RANKING.value,
        N_("Worse ranking"),
        N_("Your offers appear lower in the results, without explanation."),
    ),
    (
        Category.TERMS_CHANGE.value,
        N_("Terms changed without notice"),
        N_("The rules or prices changed with less than 15 days' notice."),
    ),
    (
        Category.FUNDS_WITHHELD.value,
        N_("Money withheld"),
        N_("The platform keeps payments that are owed to you."),
    ),
    (
        Category.UNREACHABLE_SUPPORT.value,
        N_("No one answers"),
        N_("Support cannot be reached, or your complaint was ignored."),
    ),
    (
        Category.COUNTERFEIT_IP.value,
        N_("Accused of counterfeiting"),
        N_("The platform says your products infringe a brand or a copyright."),
    ),
    (
        Category.SELF_PREFERENCING.value,
        N_("The platform favours its own offers"),
        N_("Its own products or partners get better treatment than yours."),
    ),
    (
        Category.DATA_ACCESS.value,
        N_("No access to your data"),
        N_("You cannot get the data about your sales or your customers."),
    ),
    (
        Category.UNFAIR_TERMS_FEES.value,
        N_("Unfair terms or fees"),
        N_("Fees, price parity clauses or terms that weigh on one side only."),
    ),
    (
        Category.TECHNICAL_FAILURE.value,
        N_("Technical failure"),
        N_("A fault of the platform keeps you from selling."),
    ),
    (Category.OTHER.value, N_("Something else"), None),
    (DONT_KNOW, N_("I don't know"), N_("A caseworker will decide.")),
)

LANGUAGES: tuple[Choice, ...] = (("fr", "Français", None), ("en", "English", None))
"""The languages of the messages to the business, each named in itself."""

MISSING: dict[str, str] = {
    "company_name": N_("Enter the name of your company"),
    "siren": N_("Enter your SIREN number"),
    "size": N_("Choose the size of your company"),
    "platform": N_("Enter the name of the platform"),
    "measure": N_("Choose what the platform did"),
    "effective_on": N_("Enter the date the measure took effect"),
    "statement_of_reasons": N_("Say whether the platform gave you an explanation"),
    "category_hint": N_("Choose the kind of problem, or “I don't know”"),
    "description": N_("Describe what happened"),
    "contact_name": N_("Enter your name"),
    "contact_email": N_("Enter your e-mail address"),
    "language": N_("Choose the language of the messages"),
}
"""What to say when a field was left empty."""

INVALID: dict[str, str] = {
    "company_name": N_("The name of your company must be %(max)s characters or fewer"),
    "siren": N_("A SIREN number has 9 digits"),
    "platform": N_("Enter the name of the platform, with at least one letter or digit"),
    "effective_on": N_("Enter a real date, for example 15/01/2026"),
    "description": N_("The description must be %(max)s characters or fewer"),
    "contact_name": N_("Your name must be %(max)s characters or fewer"),
    "contact_email": N_("Enter an e-mail address in the right format, like name@example.fr"),
}
"""What to say when a field's value breaks its rule (a choice not among its own: as if empty)."""

LONGEST = {
    "company_name": MAX_NAME_LENGTH,
    "description": MAX_TEXT_LENGTH,
    "contact_name": MAX_NAME_LENGTH,
}

SIREN_CHECKSUM = N_("This SIREN number is not valid: check it on your Kbis extract")
FUTURE_DATE = N_("The date cannot be in the future, unless a termination was announced to you")
FAR_DATE = N_("A termination announced to you takes effect within a year at most")
EARLY_DATE = N_("The date must be 1 January 2000 or later")

WHERE: dict[tuple[str, ...], str] = {
    ("company", "name"): "company_name",
    ("company", "siren"): "siren",
    ("company", "size"): "size",
    ("company", "contact_name"): "contact_name",
    ("company", "contact_email"): "contact_email",
    ("platform",): "platform",
    ("description",): "description",
    ("occurred_on",): "effective_on",
    ("measure", "measure"): "measure",
    ("measure", "effective_on"): "effective_on",
    ("measure", "statement_of_reasons"): "statement_of_reasons",
    ("category_hint",): "category_hint",
    ("language",): "language",
}
"""The form's field behind each place of the API's report body."""

_DATE_FORMS = (
    re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"),
    re.compile(r"(?P<d>[0-9]{1,2})[/.\- ](?P<m>[0-9]{1,2})[/.\- ](?P<y>[0-9]{4})"),
)


def typed_date(text: str) -> date | None:
    """A date as a browser sends it (2026-01-15) or as a person types it (15/01/2026)."""
    for form in _DATE_FORMS:
        match = form.fullmatch(text.strip())
        if match:
            try:
                return date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return None
    return None


class ReportFormErrors(Exception):
    """What is wrong with the form: each field's message, untranslated, with its values."""

    def __init__(self, errors: Mapping[str, tuple[str, dict[str, Any]]]) -> None:
        super().__init__(", ".join(errors))
        self.errors = {name: errors[name] for name in FIELDS if name in errors}

    def said_in(self, language: str) -> dict[str, str]:
        """Each field's message in `language`, in the form's order."""
        say = wording(language)
        return {name: say(text, **values) for name, (text, values) in self.errors.items()}


@dataclass(frozen=True)
class ReportForm:
    """What was typed in the report form, field by field (missing ones empty)."""

    values: dict[str, str]

    @classmethod
    def of(cls, form: Mapping[str, Any]) -> ReportForm:
        return cls({name: str(form.get(name) or "") for name in FIELDS})

    def report(self, platforms: PlatformDirectory, today: date) -> ReportRequest:
        """The report the form describes, or ReportFormErrors naming every field at fault."""
        errors: dict[str, tuple[str, dict[str, Any]]] = {}
        effective_on = typed_date(self.values["effective_on"])
        occurred_on = self._occurred_on(effective_on, today, errors)
        try:
            body = ReportCaseRequest.model_validate(self._body(effective_on, occurred_on))
        except ValidationError as invalid:
            for error in invalid.errors():
                place = tuple(str(p) for p in error["loc"])
                name = WHERE.get(place[:2]) or WHERE.get(place[:1])
                if name is not None and name not in errors:
                    errors[name] = self._message(name)
            body = None
        for name in ("statement_of_reasons", "category_hint"):
            # Optional in the API; the form asks them, with "I don't know" for the category.
            if not self.values[name] and name not in errors:
                errors[name] = (MISSING[name], {})
        if errors or body is None:
            raise ReportFormErrors(errors)
        return body.to_report(platforms)

    def _occurred_on(
        self, effective_on: date | None, today: date, errors: dict[str, tuple[str, dict[str, Any]]]
    ) -> date | None:
        """The day the trouble began: the day the measure took effect, or today for a
        termination announced to take effect later. A date the domain refuses is an error."""
        if effective_on is None:
            return None
        announced = self.values["measure"] == Measure.TERMINATION.value and effective_on > today
        occurred_on = today if announced else effective_on
        try:
            # The rules `Case.report` applies: to the day it occurred, and to the measure's
            # day (which `checked` judges whatever the measure, chosen or not yet).
            check_past_date("occurred_on", occurred_on, today)
            MeasureFacts(Measure.OTHER, effective_on=effective_on).checked(today)
        except InvalidValue:
            if effective_on < EARLIEST_DATE:
                errors["effective_on"] = (EARLY_DATE, {})
            else:
                errors["effective_on"] = (FAR_DATE if announced else FUTURE_DATE, {})
        return occurred_on

    def _body(self, effective_on: date | None, occurred_on: date | None) -> dict[str, Any]:
        """The form as the body of `POST /cases` (an empty choice sent as none)."""
        values = self.values

        def chosen(name: str) -> str | None:
            return values[name] or None

        category = chosen("category_hint")
        return {
            "company": {
                "name": values["company_name"],
                "siren": values["siren"],
                "size": chosen("size"),
                "contact_name": values["contact_name"],
                "contact_email": values["contact_email"],
            },
            "platform": values["platform"],
            "description": values["description"],
            "occurred_on": occurred_on,
            "category_hint": None if category == DONT_KNOW else category,
            "channel": Channel.WEB.value,
            "measure": {
                "measure": chosen("measure"),
                "effective_on": effective_on,
                "statement_of_reasons": chosen("statement_of_reasons"),
            },
            "language": chosen("language"),
        }

    def _message(self, name: str) -> tuple[str, dict[str, Any]]:
        """The words for a field the API's rules refuse: empty, or not as its rule says."""
        typed = self.values[name]
        if not typed.strip() or name not in INVALID:
            return MISSING[name], {}
        if name == "siren" and re.fullmatch(r"[0-9]{9}", re.sub(r"[\s.\-]", "", typed)):
            return SIREN_CHECKSUM, {}
        return INVALID[name], {"max": LONGEST.get(name, 0)}
