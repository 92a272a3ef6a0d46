"""Value types of the domain and the rules that make a value valid.

Each parser takes what a person typed and returns a clean value or raises InvalidValue naming
the field, so every edge (HTTP, CLI) validates the same way.
"""

from __future__ import annotations

import re
import secrets
from base64 import b32encode
from dataclasses import dataclass
from dataclasses import fields
from dataclasses import is_dataclass
from dataclasses import replace
from datetime import date
from datetime import timedelta
from enum import Enum
from typing import TypeVar

from domain.errors import InvalidValue

T = TypeVar("T")


class Status(Enum):
    """Where a case stands in its workflow (docs/domain.md)."""

    REPORTED = "reported"
    QUALIFIED = "qualified"
    AWAITING_PLATFORM = "awaiting_platform"
    PLATFORM_RESPONDED = "platform_responded"
    WITH_MEDIATOR = "with_mediator"
    RESOLVED = "resolved"


class CompanySize(Enum):
    """The business's size: micro (under 10 people), small (under 50), medium (under 250)."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"


class Channel(Enum):
    """How the report reached the service."""

    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"


class Category(Enum):
    """The problem taxonomy; the P2B article each one rests on is in CATEGORY_P2B_BASIS."""

    DELISTING = "delisting"
    ACCOUNT_SUSPENSION = "account_suspension"
    ACCOUNT_TERMINATION = "account_termination"
    MISSING_STATEMENT_OF_REASONS = "missing_statement_of_reasons"
    RANKING = "ranking"
    TERMS_CHANGE = "terms_change"
    FUNDS_WITHHELD = "funds_withheld"
    UNREACHABLE_SUPPORT = "unreachable_support"
    COUNTERFEIT_IP = "counterfeit_ip"
    SELF_PREFERENCING = "self_preferencing"
    DATA_ACCESS = "data_access"
    UNFAIR_TERMS_FEES = "unfair_terms_fees"
    TECHNICAL_FAILURE = "technical_failure"
    OTHER = "other"


CATEGORY_LABELS: dict[Category, tuple[str, str]] = {
    Category.DELISTING: ("Déréférencement d'offres", "Listing delisted or restricted"),
    Category.ACCOUNT_SUSPENSION: ("Suspension de compte", "Account suspension"),
    Category.ACCOUNT_TERMINATION: ("Résiliation de compte", "Account termination"),
    Category.MISSING_STATEMENT_OF_REASONS: (
        "Motivation absente ou insuffisante",
        "Missing or inadequate statement of reasons",
    ),
    Category.RANKING: ("Rétrogradation, classement", "Demotion, ranking"),
    Category.TERMS_CHANGE: ("Modification des CGU sans préavis", "Terms changed without notice"),
    Category.FUNDS_WITHHELD: ("Fonds bloqués", "Funds withheld"),
    Category.UNREACHABLE_SUPPORT: (
        "Service client injoignable",
        "Unreachable support, complaint ignored",
    ),
    Category.COUNTERFEIT_IP: (
        "Contrefaçon, propriété intellectuelle",
        "Counterfeit or IP accusations",
    ),
    Category.SELF_PREFERENCING: ("Traitement différencié", "Self-preferencing"),
    Category.DATA_ACCESS: ("Accès aux données", "Data access"),
    Category.UNFAIR_TERMS_FEES: (
        "Clauses et frais déséquilibrés",
        "Unfair terms, parity clauses, fees",
    ),
    Category.TECHNICAL_FAILURE: ("Problème technique", "Platform technical failure"),
    Category.OTHER: ("Autre", "Other"),
}


CATEGORY_P2B_BASIS: dict[Category, str | None] = {
    Category.DELISTING: "Art. 4(1)",
    Category.ACCOUNT_SUSPENSION: "Art. 4(1)",
    Category.ACCOUNT_TERMINATION: "Art. 4(2)",
    Category.MISSING_STATEMENT_OF_REASONS: "Art. 4",
    Category.RANKING: "Art. 5",
    Category.TERMS_CHANGE: "Art. 3",
    Category.FUNDS_WITHHELD: None,
    Category.UNREACHABLE_SUPPORT: "Art. 11",
    Category.COUNTERFEIT_IP: None,
    Category.SELF_PREFERENCING: "Art. 7",
    Category.DATA_ACCESS: "Art. 9",
    Category.UNFAIR_TERMS_FEES: "Arts. 6, 8, 10",
    Category.TECHNICAL_FAILURE: "Art. 11(1)(b)",
    Category.OTHER: None,
}
"""The article of Regulation (EU) 2019/1150 a category of problem rests on (None: no article
of its own)."""


class Language(Enum):
    """The language of the messages to the business: French unless it reported in English."""

    FR = "fr"
    EN = "en"


class Priority(Enum):
    """How urgent a qualified case is: urgent cases get the short deadlines."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Stance(Enum):
    """What the platform's answer says."""

    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially_accepted"
    REFUSED = "refused"
    INFORMATION_REQUESTED = "information_requested"


class EscalationReason(Enum):
    """Why a case went to the business mediator."""

    NO_RESPONSE = "no_response"
    UNSATISFACTORY_RESPONSE = "unsatisfactory_response"
    COMPLEXITY = "complexity"
    BUSINESS_REQUEST = "business_request"


class Outcome(Enum):
    """How a case ended."""

    RESOLVED = "resolved"
    PARTIALLY_RESOLVED = "partially_resolved"
    NOT_RESOLVED = "not_resolved"
    WITHDRAWN = "withdrawn"
    INADMISSIBLE = "inadmissible"


@dataclass(frozen=True)
class AllowedCommand:
    """A command a case accepts in its status; for `resolve`, the outcomes it may record."""

    command: str
    outcomes: tuple[Outcome, ...] | None = None

    def __str__(self) -> str:
        if self.outcomes is None:
            return self.command
        return f"{self.command} ({', '.join(o.value for o in self.outcomes)})"


# Lengths a person can reasonably type in each kind of field; longer input is refused, not cut.
MAX_NAME_LENGTH = 200
MAX_ACTOR_LENGTH = 100
MAX_TEXT_LENGTH = 10_000
MAX_EMAIL_LENGTH = 254
MAX_REASON_LENGTH = 1_000

# No online marketplace measure a business could report predates this day.
EARLIEST_DATE = date(2000, 1, 1)
# A response deadline set by hand further out than this is a typing error, not a deadline.
LONGEST_RESPONSE_DELAY = timedelta(days=366)


@dataclass(frozen=True)
class PersonalText:
    """Personal data or free text written by a person: erasable under the GDPR.

    Kept as its own type (never a bare string in events or state) so that per-case encryption
    can replace how it is stored without changing the shape of events. Its repr hides the
    text so that it never lands in a log by accident.
    """

    text: str

    def __repr__(self) -> str:
        return f"PersonalText(<{len(self.text)} characters>)"

    def __str__(self) -> str:
        return self.text

    @property
    def is_erased(self) -> bool:
        return self == ERASED


ERASED = PersonalText("[effacé]")
"""What every personal field reads once the case's personal data has been erased."""


def erased(value: T) -> T:
    """`value` with every PersonalText in it erased, however deep (a company's contact, a
    platform's name as written, a tuple of them); anything else unchanged."""
    if isinstance(value, PersonalText):
        return ERASED  # type: ignore[return-value]
    if isinstance(value, tuple):
        return type(value)(erased(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: erased(getattr(value, f.name)) for f in fields(value)})
    return value


def clean_text(field: str, value: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Strip surrounding blanks; refuse empty or over-long text."""
    if not isinstance(value, str):
        raise InvalidValue(field, f"{field} must be text")
    cleaned = value.strip()
    if not cleaned:
        raise InvalidValue(field, f"{field} must not be empty")
    if len(cleaned) > max_length:
        raise InvalidValue(field, f"{field} is longer than {max_length} characters")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in cleaned):
        raise InvalidValue(field, f"{field} contains control characters")
    return cleaned


def personal_text(field: str, value: str, *, max_length: int = MAX_TEXT_LENGTH) -> PersonalText:
    return PersonalText(clean_text(field, value, max_length=max_length))


@dataclass(frozen=True)
class Siren:
    """A French company number: 9 digits whose Luhn checksum is valid."""

    value: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9]{9}", self.value):
            raise InvalidValue("siren", "a SIREN number has exactly 9 digits")
        if not luhn_is_valid(self.value):
            raise InvalidValue("siren", f"{self.value} is not a valid SIREN number (checksum)")

    @classmethod
    def parse(cls, text: str) -> Siren:
        """Accept the usual written forms: '732 829 320', '732-829-320', '732829320'."""
        if not isinstance(text, str):
            raise InvalidValue("siren", "a SIREN number is text of 9 digits")
        return cls(re.sub(r"[\s.\-]", "", text))

    def __str__(self) -> str:
        return self.value


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def parse_email(text: str, field: str = "contact_email") -> PersonalText:
    """An e-mail address a reply could be sent to; the domain part is lower-cased."""
    cleaned = clean_text(field, text, max_length=MAX_EMAIL_LENGTH)
    if not _EMAIL.fullmatch(cleaned) or ".." in cleaned:
        raise InvalidValue(field, f"{field} is not a valid e-mail address")
    local, _, domain_part = cleaned.rpartition("@")
    if len(local) > 64:
        raise InvalidValue(field, f"{field} is not a valid e-mail address")
    return PersonalText(f"{local}@{domain_part.lower()}")


@dataclass(frozen=True)
class Company:
    """The business behind a report. Its name is personal data too: a sole trader's business
    bears the person's name."""

    name: PersonalText
    siren: Siren
    size: CompanySize
    contact_name: PersonalText
    contact_email: PersonalText


@dataclass(frozen=True)
class TrackingCode:
    """The business's receipt: 128 random bits, shown in groups so it can be read aloud.

    Written in lower-case base32 (no 0/1/8/9 to confuse with letters), 26 characters.
    """

    value: str

    LENGTH = 26

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z2-7]{26}", self.value):
            raise InvalidValue("tracking_code", "not a tracking code")

    @classmethod
    def new(cls) -> TrackingCode:
        raw = b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()
        return cls(raw)

    @classmethod
    def parse(cls, text: str) -> TrackingCode:
        """Accept the code with or without its dashes and spaces, in any case."""
        return cls(re.sub(r"[\s\-]", "", text).lower())

    def __str__(self) -> str:
        v = self.value
        return "-".join([v[0:5], v[5:10], v[10:15], v[15:20], v[20:26]])


_ARTICLE = re.compile(
    r"^(?:art(?:icle)?\.?\s*)?([0-9]{1,2})((?:\s*\(\s*[0-9a-z]{1,2}\s*\))*)$", re.I
)
P2B_ARTICLE_COUNT = 19  # Regulation (EU) 2019/1150 has 19 articles.


def parse_p2b_article(text: str) -> str:
    """Normalise a reference to an article of Regulation (EU) 2019/1150.

    'art 4(1)', 'Article 4 (1)' and '4(1)' all become 'Art. 4(1)'.
    """
    cleaned = clean_text("p2b_articles", text, max_length=40)
    match = _ARTICLE.fullmatch(cleaned)
    if not match or not 1 <= int(match.group(1)) <= P2B_ARTICLE_COUNT:
        raise InvalidValue(
            "p2b_articles",
            f"{cleaned!r} is not an article of the P2B regulation (Art. 1 to Art. 19)",
        )
    paragraphs = re.sub(r"\s", "", match.group(2)).lower()
    return f"Art. {int(match.group(1))}{paragraphs}"


def check_past_date(field: str, value: date, today: date) -> date:
    """A date that has happened: not in the future, not before EARLIEST_DATE."""
    if value > today:
        raise InvalidValue(field, f"{field} {value.isoformat()} is in the future")
    if value < EARLIEST_DATE:
        raise InvalidValue(field, f"{field} {value.isoformat()} is before {EARLIEST_DATE}")
    return value
