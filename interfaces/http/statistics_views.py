"""The answers of GET /statistics…, typed: what the OpenAPI document shows, and where figures
are rounded as they are published.

application/case_statistics.py computes the figures exactly (plain data, no HTTP shape); these
views take them as they are (`model_validate`) and round them here, once, for the JSON answers
and the CSV export alike:
- a rate's `value` is the fraction numerator / denominator, from 0 to 1, to RATE_DECIMALS
  decimals (0.3333 is 33.33 %); its numerator and denominator stay exact integers;
- days (medians, 90th percentiles, averages) to DAYS_DECIMALS decimal.
A view refuses a field it does not know: a figure the application adds must be given a type
here before it is served.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

RATE_DECIMALS = 4
DAYS_DECIMALS = 1


def rounded(decimals: int) -> Callable[[float | None], float | None]:
    def to(value: float | None) -> float | None:
        return None if value is None else round(value, decimals)

    return to


Fraction = Annotated[
    float | None,
    AfterValidator(rounded(RATE_DECIMALS)),
    Field(
        description=f"numerator / denominator, from 0 to 1, rounded to {RATE_DECIMALS} "
        "decimals; null when the denominator is 0",
        examples=[0.3333],
    ),
]
Days = Annotated[
    float | None,
    AfterValidator(rounded(DAYS_DECIMALS)),
    Field(description=f"days, rounded to {DAYS_DECIMALS} decimal; null when nothing to measure"),
]
Counts = Annotated[
    dict[str, int], Field(description="a count per key; keys with a zero count are left out")
]


class View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateView(View):
    """A rate with its numerator and denominator (the cases sent to the platform, but for
    `after_reminder_rate`: the cases answered), never a bare percentage."""

    numerator: int
    denominator: int
    value: Fraction


class PlatformFiguresView(View):
    """How one platform's cases went, and how (and whether) it answers."""

    platform: str = Field(description="the platform's canonical key (`amazon`, `fnac_darty`)")
    cases: int
    by_category: Counts
    by_status: Counts
    sent: int = Field(description="cases sent to the platform")
    answered: int
    answered_on_time: int
    silent: int
    escalated: int
    outcomes: Counts
    answer_rate: RateView
    on_time_rate: RateView
    silence_rate: RateView
    escalation_rate: RateView
    median_days_to_first_answer: Days
    p90_days_to_first_answer: Days
    median_days_to_resolution: Days
    acknowledged: int = Field(description="cases sent that the platform acknowledged")
    acknowledgement_rate: RateView = Field(description="acknowledged over the cases sent")
    median_days_to_acknowledgement: Days = Field(
        description="median days from the sending of a round to the case's first "
        f"acknowledgement, {DAYS_DECIMALS} decimal"
    )
    answered_after_reminder: int = Field(
        description="cases whose first answer came on or after the day of their first reminder"
    )
    after_reminder_rate: RateView = Field(
        description="answered after a reminder over the cases answered"
    )
    reminders_sent: int = Field(description="reminders sent, every round of every case")
    by_measure: Counts = Field(
        description="cases by the measure established, else the one stated, else `unstated`"
    )
    statement_of_reasons_missing: int = Field(
        description="cases whose measure facts say no statement of reasons was given"
    )
    statement_of_reasons_partly: int = Field(
        description="cases whose measure facts say a statement of reasons was partly given "
        "(not counted as missing)"
    )


class PlatformStatisticsView(PlatformFiguresView):
    """GET /statistics/platforms/{platform}: one platform's figures."""

    position: int = Field(description="the event log position the figures reflect")
    as_of: date = Field(description="the day that decided what is silent")


class CategoryFiguresView(View):
    category: str = Field(description="a category key, or `unqualified`")
    cases: int
    by_platform: Counts
    outcomes: Counts
    median_days_to_resolution: Days


class TotalsView(View):
    reported: int
    by_status: Counts
    by_measure: Counts = Field(
        description="cases by the measure established, else the one stated, else `unstated`"
    )


class MediationFiguresView(View):
    """The cases escalated to the mediator."""

    escalated: int
    by_reason: Counts
    outcomes: Counts
    median_days: Days = Field(description="median days from escalation to resolution, 1 decimal")


class StatisticsView(View):
    """GET /statistics: the cases reported in the period, per platform and per category."""

    position: int = Field(description="the event log position the figures reflect")
    as_of: date = Field(description="the day that decided what is silent")
    totals: TotalsView
    platforms: list[PlatformFiguresView] = Field(description="the largest first")
    categories: list[CategoryFiguresView] = Field(description="the largest first")
    mediation: MediationFiguresView


class CategoryCountView(View):
    category: str
    cases: int


class AnnualPlatformView(View):
    """P2B Art. 11(4)-style figures of one platform for one year."""

    platform: str
    cases: int
    main_categories: list[CategoryCountView] = Field(description="the three largest")
    average_days_to_resolution: Days
    outcomes: Counts


class AnnualStatisticsView(View):
    """GET /statistics/annual/{year}: the cases reported that year, per platform."""

    position: int
    year: int
    platforms: list[AnnualPlatformView]
