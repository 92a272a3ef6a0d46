"""How the domain's value types are written into stored events and snapshots.

Every transcoding has an explicit, stable name: stored events must keep decoding after a class
is renamed or moved. PersonalText is not here: it is encrypted under its case's own key
(application.personal_data).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder
from eventsourcing.persistence import Transcoding

from domain.measures import Measure
from domain.measures import MeasureFacts
from domain.measures import StatementOfReasons
from domain.measures import UrgencyRule
from domain.platforms import Platform
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


class EnumAsValue(Transcoding):
    """An enum member stored as its value."""

    def __init__(self, enum_type: type[Enum], name: str) -> None:
        self.type = enum_type
        self.name = name

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        member: Enum = self.type(data)
        return member


class DateAsISO(Transcoding):
    """A date stored as YYYY-MM-DD."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class TextValue(Transcoding):
    """A value of one text field stored as that text: a SIREN as its nine digits, a tracking
    code without its dashes."""

    def __init__(self, value_type: type[Siren | TrackingCode], name: str) -> None:
        self.type = value_type
        self.name = name

    def encode(self, obj: Siren | TrackingCode) -> str:
        return obj.value

    def decode(self, data: str) -> Siren | TrackingCode:
        value: Siren | TrackingCode = self.type(data)
        return value


class PlatformAsDict(Transcoding):
    """A platform stored as its key and the name as written (personal text)."""

    type = Platform
    name = "platform"

    def encode(self, obj: Platform) -> dict[str, Any]:
        return {"key": obj.key, "reported_as": obj.reported_as}

    def decode(self, data: dict[str, Any]) -> Platform:
        return Platform(key=data["key"], reported_as=_personal(data["reported_as"]))


class MeasureFactsAsDict(Transcoding):
    """The P2B measure facts stored field by field."""

    type = MeasureFacts
    name = "measure_facts"

    def encode(self, obj: MeasureFacts) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    def decode(self, data: dict[str, Any]) -> MeasureFacts:
        return MeasureFacts(**data)


class CompanyAsDict(Transcoding):
    """A company stored field by field (its personal texts encrypted)."""

    type = Company
    name = "company"

    def encode(self, obj: Company) -> dict[str, Any]:
        return {
            "name": obj.name,
            "siren": obj.siren,
            "size": obj.size,
            "contact_name": obj.contact_name,
            "contact_email": obj.contact_email,
        }

    def decode(self, data: dict[str, Any]) -> Company:
        return Company(**{**data, "name": _personal(data["name"])})


def _personal(value: PersonalText | str) -> PersonalText:
    """Stores written before the company's name and the platform as written were encrypted
    kept them as bare text (sealed, so never rewritten): they still read, as personal text."""
    return PersonalText(value) if isinstance(value, str) else value


ENUM_NAMES: dict[type[Enum], str] = {
    Status: "status",
    CompanySize: "company_size",
    Channel: "channel",
    Category: "category",
    Priority: "priority",
    Stance: "stance",
    EscalationReason: "escalation_reason",
    Outcome: "outcome",
    Language: "language",
    Measure: "measure",
    StatementOfReasons: "statement_of_reasons",
    UrgencyRule: "urgency_rule",
}


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    for enum_type, name in ENUM_NAMES.items():
        transcoder.register(EnumAsValue(enum_type, name))
    for transcoding in (
        DateAsISO(),
        TextValue(Siren, "siren"),
        TextValue(TrackingCode, "tracking_code"),
        PlatformAsDict(),
        CompanyAsDict(),
        MeasureFactsAsDict(),
    ):
        transcoder.register(transcoding)
