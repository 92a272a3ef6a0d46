"""What the platform did to the business, as P2B Art. 4 frames it, and when that makes a case
urgent.

The business states these facts when it reports; the caseworker establishes them when
qualifying. A termination taking effect within 30 days, or funds withheld, make a case urgent
(its platform then has the short deadlines) unless the caseworker sets another priority; the
rule that applied is kept in the event that applied it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from enum import Enum

from domain.errors import InvalidValue
from domain.values import EARLIEST_DATE
from domain.values import LONGEST_RESPONSE_DELAY
from domain.values import check_past_date


class Measure(Enum):
    """What the platform did."""

    DELISTING = "delisting"  # offers delisted or restricted
    SUSPENSION = "suspension"
    TERMINATION = "termination"
    TERMS_CHANGE = "terms_change"
    FUNDS_WITHHELD = "funds_withheld"
    OTHER = "other"


class StatementOfReasons(Enum):
    """Whether the platform said why (P2B Art. 4 requires it)."""

    GIVEN = "given"
    PARTLY = "partly"
    NOT_GIVEN = "not_given"


class UrgencyRule(Enum):
    """The rules that make a case urgent from its facts."""

    TERMINATION_WITHIN_30_DAYS = "termination_within_30_days"
    FUNDS_WITHHELD = "funds_withheld"


URGENT_TERMINATION_DAYS = 30
"""P2B Art. 4(2) gives 30 days' notice of a termination: one due sooner is urgent."""


@dataclass(frozen=True)
class MeasureFacts:
    """The measure, when it took (or, for a notice of termination, takes) effect, whether a
    statement of reasons was given, and when notice was received."""

    measure: Measure
    effective_on: date | None = None
    statement_of_reasons: StatementOfReasons | None = None
    notice_received_on: date | None = None

    def checked(self, today: date) -> MeasureFacts:
        """The facts, if their dates can be: notice received in the past, a measure taking
        effect not before 2000 nor more than a year ahead (a notice of termination)."""
        if self.notice_received_on is not None:
            check_past_date("notice_received_on", self.notice_received_on, today)
        if self.effective_on is not None and not (
            EARLIEST_DATE <= self.effective_on <= today + LONGEST_RESPONSE_DELAY
        ):
            raise InvalidValue(
                "effective_on",
                f"effective_on {self.effective_on} is not between {EARLIEST_DATE} and a year "
                "from today",
            )
        return self


def urgency_rule(facts: MeasureFacts | None, today: date) -> UrgencyRule | None:
    """The rule by which these facts make a case urgent, if one does."""
    if facts is None:
        return None
    if facts.measure is Measure.FUNDS_WITHHELD:
        return UrgencyRule.FUNDS_WITHHELD
    soon = today + timedelta(days=URGENT_TERMINATION_DAYS)
    if (
        facts.measure is Measure.TERMINATION
        and facts.effective_on is not None
        and facts.effective_on <= soon
    ):
        return UrgencyRule.TERMINATION_WITHIN_30_DAYS
    return None
