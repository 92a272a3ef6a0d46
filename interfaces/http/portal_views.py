"""What a platform reads of a case sent to it: what it needs to act, and nothing else (no
contact name or e-mail, no internal notes, no assignee)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AliasPath
from pydantic import BaseModel
from pydantic import Field
from pydantic import field_validator

from domain.case import ACKNOWLEDGE
from domain.case import RECORD_PLATFORM_RESPONSE
from domain.case import Case
from domain.values import Category
from domain.values import CompanySize
from domain.values import Stance
from domain.values import Status
from interfaces.http.schemas import FROM_STATE
from interfaces.http.schemas import MeasureFactsView
from interfaces.http.schemas import Shown

PORTAL_PATHS = {ACKNOWLEDGE: "acknowledge", RECORD_PLATFORM_RESPONSE: "response"}
"""The platform's commands by their path under /platform/cases/{id}/."""


class PortalCompanyView(BaseModel):
    """The business, as the platform may know it: its name, SIREN and size."""

    model_config = FROM_STATE

    name: Shown
    siren: Shown
    size: CompanySize


class PortalCaseView(BaseModel):
    """A case sent to the platform, read from the case's state by name."""

    model_config = FROM_STATE

    id: UUID
    version: int = Field(description="send it back as If-Match with the response")
    status: Status
    allowed_commands: list[str] = Field(
        description="what the platform may do now: `acknowledge`, `response`",
        validation_alias="platform_commands",
    )
    reported_at: datetime
    company: PortalCompanyView
    platform: str = Field(
        description="the platform's key", validation_alias=AliasPath("platform", "key")
    )
    category: Category | None = Field(description="as the caseworker established it")
    measure: MeasureFactsView | None = Field(
        description="what the platform did, as established (or else as the business stated it)"
    )
    description: Shown = Field(description="what happened, in the business's words")
    occurred_on: date
    message: Shown | None = Field(description="the caseworker's message to the platform")
    first_sent_on: date | None
    last_sent_on: date | None
    response_due: date | None
    acknowledged_on: date | None
    reminders: int = Field(description="reminders sent in this round")
    stance: Stance | None
    responded_on: date | None

    @field_validator("allowed_commands", mode="before")
    @classmethod
    def _portal_paths(cls, value: Any) -> Any:
        """The state offers them as a method: the platform's commands now, by their path."""
        return [PORTAL_PATHS[c] for c in value()] if callable(value) else value

    @classmethod
    def of(cls, case: Case) -> PortalCaseView:
        view = cls.model_validate(case)
        if view.measure is None and case.reported_measure is not None:
            view.measure = MeasureFactsView.model_validate(case.reported_measure)
        return view
