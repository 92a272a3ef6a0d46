"""Request and response bodies of the HTTP API, named by role.

Requests validate with the domain's own parsers, so a bad SIREN or an unknown platform spelling
is refused with the same words everywhere; unknown fields are refused, not ignored.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Self
from uuid import UUID

from pydantic import AfterValidator
from pydantic import AliasPath
from pydantic import BaseModel
from pydantic import BeforeValidator
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StringConstraints
from pydantic import field_validator

from application.audit import Checkpoint
from application.audit import IntegrityReport
from application.history import HistoryEntry
from application.mediation import CommandResult
from application.mediation import ReportRequest
from domain.case import Case
from domain.measures import Measure
from domain.measures import MeasureFacts
from domain.measures import StatementOfReasons
from domain.measures import UrgencyRule
from domain.platforms import Platform
from domain.platforms import PlatformDirectory
from domain.values import MAX_ACTOR_LENGTH
from domain.values import MAX_EMAIL_LENGTH
from domain.values import MAX_NAME_LENGTH
from domain.values import MAX_REASON_LENGTH
from domain.values import MAX_TEXT_LENGTH
from domain.values import AllowedCommand
from domain.values import Category
from domain.values import Channel
from domain.values import Company
from domain.values import CompanySize
from domain.values import EscalationReason
from domain.values import Language
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Siren
from domain.values import Stance
from domain.values import Status
from domain.values import TrackingCode
from domain.values import clean_text
from domain.values import parse_email
from domain.values import parse_p2b_article
from domain.values import personal_text


def rule(pattern: str, words: str) -> Any:
    """The rule a text follows, stated in the contract (a JSON Schema `pattern`, and in words)
    so that a client generated from it sends valid values; the value itself is checked by the
    domain's parser, which refuses whatever the pattern refuses, in its own words. Rules the
    pattern cannot state (a checksum, a date relative to today) are in the words."""
    return Field(description=words, json_schema_extra={"pattern": pattern})


# Not blank, and no control character but tab, line feed and carriage return.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*[^\s\x00-\x1f][^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
SIREN_PATTERN = r"^[\s.-]*([0-9][\s.-]*){9}$"
EMAIL_PATTERN = (
    r"^\s*[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\s*$"
)
ARTICLE_PATTERN = (
    r"^\s*([Aa][Rr][Tt]([Ii][Cc][Ll][Ee])?\.?\s*)?[0-9]{1,2}(\s*\(\s*[0-9A-Za-z]{1,2}\s*\))*\s*$"
)
TEXT_WORDS = "not blank; surrounding blanks are dropped; no control characters but tab and newline"

# Lengths are checked twice on purpose: here, before anything is parsed, and in the domain.
Name = Annotated[
    str,
    StringConstraints(max_length=MAX_NAME_LENGTH),
    AfterValidator(lambda v: clean_text("name", v, max_length=MAX_NAME_LENGTH)),
    rule(TEXT_PATTERN, TEXT_WORDS),
]
FreeText = Annotated[
    str,
    StringConstraints(max_length=MAX_TEXT_LENGTH),
    AfterValidator(lambda v: clean_text("text", v)),
    rule(TEXT_PATTERN, TEXT_WORDS),
]
ActorName = Annotated[
    str,
    StringConstraints(max_length=MAX_ACTOR_LENGTH),
    AfterValidator(lambda v: clean_text("assignee", v, max_length=MAX_ACTOR_LENGTH)),
    rule(TEXT_PATTERN, "who handles the case; " + TEXT_WORDS),
]
SirenText = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(lambda v: Siren.parse(v).value),
    rule(
        SIREN_PATTERN,
        "the company's SIREN number: 9 digits whose Luhn checksum is valid, written with or "
        "without spaces, dots or hyphens ('732 829 320')",
    ),
]
EmailText = Annotated[
    str,
    StringConstraints(max_length=MAX_EMAIL_LENGTH),
    AfterValidator(lambda v: parse_email(v).text),
    rule(
        EMAIL_PATTERN,
        "an e-mail address a reply can be sent to (at most 64 characters before the @, no '..')",
    ),
]
PlatformText = Annotated[
    str,
    StringConstraints(max_length=MAX_NAME_LENGTH),
    AfterValidator(
        lambda v: (
            Platform.parse(clean_text("platform", v, max_length=MAX_NAME_LENGTH)).reported_as.text
        )
    ),
    rule(
        TEXT_PATTERN,
        "the platform as the business writes it ('Amazon', 'amazon.fr'), with "
        "at least one letter or digit",
    ),
]
Article = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(parse_p2b_article),
    rule(ARTICLE_PATTERN, "an article of the P2B regulation, 1 to 19: 'Art. 4(1)', '4(1)'"),
]


def iso_date(value: object) -> object:
    """A date is written YYYY-MM-DD, nothing else: pydantic alone would also read `0` (as
    1970-01-01, a Unix time) or an instant at midnight."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(iso_date)]
"""Every date the API reads, in a body or a query."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def example(body: dict[str, Any]) -> ConfigDict:
    """A request body's configuration: unknown fields refused, and a valid body shown in the
    contract (what /docs offers to send, and where schemathesis starts its sequences)."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [body]})


class CompanyRequest(Strict):
    name: Name
    siren: SirenText
    size: CompanySize
    contact_name: Name
    contact_email: EmailText


class MeasureFactsRequest(Strict):
    """What the platform did and when, as P2B Art. 4 frames it."""

    measure: Measure
    effective_on: IsoDate | None = Field(
        default=None, description="when it took (for a notice of termination: takes) effect"
    )
    statement_of_reasons: StatementOfReasons | None = Field(
        default=None, description="whether the platform said why"
    )
    notice_received_on: IsoDate | None = Field(
        default=None, description="when the business received the platform's notice"
    )

    def to_facts(self) -> MeasureFacts:
        """The facts: this body's fields are theirs, one for one."""
        return MeasureFacts(**self.model_dump())


def _facts(request: MeasureFactsRequest | None) -> MeasureFacts | None:
    return None if request is None else request.to_facts()


class ReportCaseRequest(Strict):
    model_config = example(
        {
            "company": {
                "name": "Atelier Dupont",
                "siren": "732 829 320",
                "size": "micro",
                "contact_name": "Jeanne Dupont",
                "contact_email": "jeanne@atelier-dupont.fr",
            },
            "platform": "amazon.fr",
            "description": "All 40 of our offers were delisted overnight, unexplained.",
            "occurred_on": "2026-01-15",
            "category_hint": "delisting",
            "channel": "web",
        }
    )

    company: CompanyRequest
    platform: PlatformText
    description: FreeText
    occurred_on: IsoDate = Field(
        description="when the platform's measure took effect: not after today (UTC), not "
        "before 2000-01-01"
    )
    category_hint: Category | None = None
    channel: Channel = Channel.WEB
    measure: MeasureFactsRequest | None = Field(
        default=None, description="what the platform did, as the business states it"
    )
    language: Language = Field(
        default=Language.FR, description="the language of the messages to the business"
    )

    def to_report(self, platforms: PlatformDirectory) -> ReportRequest:
        """The report, its platform read by the platforms the service knows."""
        company = self.company
        return ReportRequest(
            company=Company(
                name=PersonalText(company.name),
                siren=Siren(company.siren),
                size=company.size,
                contact_name=PersonalText(company.contact_name),
                contact_email=PersonalText(company.contact_email),
            ),
            platform=Platform.parse(self.platform, platforms),
            description=PersonalText(self.description),
            occurred_on=self.occurred_on,
            category_hint=self.category_hint,
            channel=self.channel,
            measure=_facts(self.measure),
            language=self.language,
        )


ERASED_TEXT = (
    "required while the case holds personal data; left out once it was erased (the case then "
    "records no free text)"
)


def _personal(text: str | None) -> PersonalText | None:
    return None if text is None else PersonalText(text)


class QualifyCaseRequest(Strict):
    model_config = example(
        {
            "category": "delisting",
            "priority": "urgent",
            "summary": "Whole shop delisted without a statement of reasons.",
            "p2b_articles": ["Art. 4(1)", "Art. 4(5)"],
            "assignee": "alice",
        }
    )

    category: Category
    priority: Priority | None = Field(
        default=None,
        description="left out, the measure facts decide: urgent when an urgency rule applies "
        "(a termination within 30 days, funds withheld), else normal",
    )
    measure: MeasureFactsRequest | None = Field(
        default=None, description="the measure as established; left out, the one reported"
    )
    summary: FreeText | None = Field(default=None, description=ERASED_TEXT)
    p2b_articles: list[Article] = Field(default_factory=list, max_length=19)
    assignee: ActorName | None = None

    def to_command(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "priority": self.priority,
            "measure": _facts(self.measure),
            "summary": _personal(self.summary),
            "p2b_articles": list(self.p2b_articles),
            "assignee": self.assignee,
        }


class SendToPlatformRequest(Strict):
    model_config = example(
        {"message": "Please state the reasons for the delisting (P2B Art. 4(1))."}
    )

    message: FreeText | None = Field(default=None, description=ERASED_TEXT)
    response_due: IsoDate | None = Field(
        default=None,
        description="after today (UTC) and within a year; defaults to 15 days from today (5 "
        "when urgent)",
    )

    def to_command(self) -> dict[str, Any]:
        return {"message": _personal(self.message), "response_due": self.response_due}


class PlatformResponseRequest(Strict):
    model_config = example(
        {"stance": "partially_accepted", "response": "Half of the offers are back online."}
    )

    stance: Stance
    response: FreeText | None = Field(default=None, description=ERASED_TEXT)
    responded_on: IsoDate | None = Field(
        default=None,
        description="not before the case was last sent, not after today (UTC); defaults to today",
    )

    def to_command(self) -> dict[str, Any]:
        return {
            "stance": self.stance,
            "response": _personal(self.response),
            "responded_on": self.responded_on,
        }


class EscalateCaseRequest(Strict):
    model_config = example({"reason": "complexity", "note": "Needs the mediator's expertise."})

    reason: EscalationReason
    note: FreeText | None = None

    def to_command(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "note": None if self.note is None else personal_text("note", self.note),
        }


class ResolveCaseRequest(Strict):
    model_config = example({"outcome": "resolved", "summary": "Offers restored."})

    outcome: Outcome
    summary: FreeText | None = Field(default=None, description=ERASED_TEXT)

    def to_command(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "summary": _personal(self.summary)}


class CommandResponse(BaseModel):
    id: UUID
    version: int
    status: Status
    position: int = Field(description="log position of the command's last event")

    @classmethod
    def of(cls, result: CommandResult) -> Self:
        """The answer to a command; subclasses add what their command made (a tracking code,
        a due date, a mediator reference), which the result then carries."""
        extra = {name: getattr(result, name) for name in cls.model_fields if name not in _BASE}
        return cls(
            id=result.case_id,
            version=result.version,
            status=result.status,
            position=result.position,
            **extra,
        )


_BASE = frozenset(CommandResponse.model_fields)


class ReportCaseResponse(CommandResponse):
    tracking_code: str

    @field_validator("tracking_code", mode="before")
    @classmethod
    def _written(cls, code: object) -> str:
        return str(code)


class SendToPlatformResponse(CommandResponse):
    response_due: date


class EscalateCaseResponse(CommandResponse):
    mediator_reference: str


def _shown(value: object) -> object:
    """A domain value as the text a view shows: a personal text's clear text (or "[effacé]"),
    a SIREN's digits, a tracking code's groups."""
    if isinstance(value, PersonalText):
        return value.text
    if isinstance(value, Siren):
        return value.value
    if isinstance(value, TrackingCode):
        return str(value)
    return value


Shown = Annotated[str, BeforeValidator(_shown)]
"""A field read from a domain value (PersonalText, Siren, TrackingCode) as its text."""

FROM_STATE = ConfigDict(from_attributes=True)
"""Views built from the domain's state by reading its attributes of the same names."""


class CompanyView(BaseModel):
    """The business, as the case's state holds it."""

    model_config = FROM_STATE

    name: Shown
    siren: Shown
    size: CompanySize
    contact_name: Shown
    contact_email: Shown


class MeasureFactsView(BaseModel):
    """What the platform did and when, as P2B Art. 4 frames it."""

    model_config = FROM_STATE

    measure: Measure
    effective_on: date | None
    statement_of_reasons: StatementOfReasons | None
    notice_received_on: date | None


class AllowedCommandView(BaseModel):
    """A command the case accepts in its status."""

    model_config = FROM_STATE

    command: str = Field(description="the command's path segment, e.g. `qualify`")
    outcomes: list[Outcome] | None = Field(
        default=None,
        exclude_if=lambda outcomes: outcomes is None,
        description="for `resolve` only: the outcomes it may record",
    )

    @classmethod
    def of(cls, allowed: AllowedCommand) -> AllowedCommandView:
        outcomes = None if allowed.outcomes is None else list(allowed.outcomes)
        return cls(command=allowed.command, outcomes=outcomes)


class CaseView(BaseModel):
    """A case as caseworkers and auditors read it: every field its events set, read from the
    case's state by name (a state field without a view field fails tests/test_case_view.py)."""

    model_config = FROM_STATE

    id: UUID
    version: int
    status: Status
    allowed_commands: list[AllowedCommandView]
    tracking_code: Shown
    reported_at: datetime
    updated_at: datetime
    company: CompanyView
    platform: str = Field(
        description="canonical key", validation_alias=AliasPath("platform", "key")
    )
    platform_name: Shown = Field(
        description="the platform as the business wrote it",
        validation_alias=AliasPath("platform", "reported_as"),
    )
    description: Shown
    occurred_on: date
    category_hint: Category | None
    channel: Channel
    language: Language
    reported_measure: MeasureFactsView | None = Field(description="as the business stated it")
    category: Category | None
    priority: Priority | None
    summary: Shown | None
    measure: MeasureFactsView | None = Field(description="as the caseworker established it")
    urgency_rule: UrgencyRule | None = Field(description="the rule that made the case urgent")
    p2b_articles: list[str]
    assignee: str | None
    message: Shown | None
    first_sent_on: date | None
    last_sent_on: date | None
    response_due: date | None
    platform_rounds: int
    acknowledged_on: date | None
    reminders: int
    stance: Stance | None
    platform_response: Shown | None
    responded_on: date | None
    escalation_reason: EscalationReason | None
    escalation_note: Shown | None
    mediator_reference: str | None
    outcome: Outcome | None
    resolution_summary: Shown | None
    personal_data_erased: bool

    @field_validator("allowed_commands", mode="before")
    @classmethod
    def _allowed_now(cls, value: Any) -> Any:
        """The state offers them as a method: the commands its status allows now."""
        return value() if callable(value) else value

    @classmethod
    def of(cls, case: Case) -> CaseView:
        return cls.model_validate(case)


class HistoryEventView(BaseModel):
    model_config = FROM_STATE

    version: int
    type: str
    recorded_at: datetime
    actor: str
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEventView:
        return cls.model_validate(entry)


class HistoryView(BaseModel):
    case_id: UUID
    events: list[HistoryEventView]


class TrackingView(BaseModel):
    """What a business sees of its case: nothing internal."""

    status: Status
    reported_at: datetime
    updated_at: datetime


class EraseRequest(Strict):
    model_config = example({"reason": "GDPR request 2026-117"})

    reason: Annotated[
        str,
        StringConstraints(max_length=MAX_REASON_LENGTH),
        AfterValidator(lambda v: clean_text("reason", v, max_length=MAX_REASON_LENGTH)),
        rule(TEXT_PATTERN, TEXT_WORDS),
    ] = Field(description="why, for the record: a request reference, the retention rule…")


class ProblemView(BaseModel):
    version: int | None
    problem: str


class CheckpointRef(BaseModel):
    log_position: int
    created_at: datetime


class IntegrityView(BaseModel):
    case_id: UUID
    verified: bool
    events: int
    head_version: int
    head_hash: str
    snapshots: int
    problems: list[ProblemView]
    checkpoint: CheckpointRef | None = Field(
        description="the latest signed checkpoint the history was checked against"
    )

    @classmethod
    def of(cls, report: IntegrityReport, checkpoint: Checkpoint | None) -> IntegrityView:
        return cls(
            case_id=report.case_id,
            verified=report.verified,
            events=report.events,
            head_version=report.head_version,
            head_hash=report.head_hash.hex(),
            snapshots=report.snapshots,
            problems=[ProblemView(version=p.version, problem=p.problem) for p in report.problems],
            checkpoint=None
            if checkpoint is None
            else CheckpointRef(
                log_position=checkpoint.log_position, created_at=checkpoint.created_at
            ),
        )
