"""When a platform is late, and when its silence sends a case to the mediator.

The one definition of the deadline rules (DOMAIN.md, "Deadlines"): the `overdue` queue, the
statistics' silence figures and the deadline process all ask these functions, so they cannot
disagree about a day.

- A platform's answer is due a number of calendar days after sending (standard 15, urgent 5);
  the due day itself is still on time, the day after it the case is *overdue*.
- Past the due date plus a grace period (standard 6 days, urgent 2), its silence has lasted
  long enough: the case is escalated to the mediator for `no_response`. With the defaults, a
  standard case sent on day 0 is due on day 15, overdue from day 16, and its grace ends on
  day 21: it is escalated from day 22 on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from domain.errors import InvalidValue
from domain.values import Priority

LONGEST_DELAY_DAYS = 365


def is_overdue(due: date, as_of: date) -> bool:
    """Whether a platform whose answer was due on `due` is late as of `as_of`: the due day
    itself is on time, the day after it is not."""
    return due < overdue_cutoff(as_of)


def overdue_cutoff(as_of: date) -> date:
    """The due dates before this one are overdue as of `as_of` (how a store asks for them)."""
    return as_of


@dataclass(frozen=True)
class Deadlines:
    """How long a platform has to answer, and how long its silence is tolerated past that,
    in calendar days, by priority (every priority but urgent follows the standard rule)."""

    standard_days: int = 15
    urgent_days: int = 5
    standard_grace_days: int = 6
    urgent_grace_days: int = 2
    standard_reminders: tuple[int, ...] = (7, 14)
    urgent_reminders: tuple[int, ...] = (2, 4)
    """The days after sending on which a silent platform is reminded."""

    def __post_init__(self) -> None:
        if not 1 <= self.urgent_days <= self.standard_days <= LONGEST_DELAY_DAYS:
            raise InvalidValue(
                "response_days",
                f"response deadlines need 1 <= urgent days <= standard days <= "
                f"{LONGEST_DELAY_DAYS}",
            )
        for name in ("standard_grace_days", "urgent_grace_days"):
            if not 0 <= getattr(self, name) <= LONGEST_DELAY_DAYS:
                raise InvalidValue(name, f"a grace period is 0 to {LONGEST_DELAY_DAYS} days")
        for name in ("standard_reminders", "urgent_reminders"):
            days = getattr(self, name)
            if list(days) != sorted(set(days)) or not all(
                1 <= d <= LONGEST_DELAY_DAYS for d in days
            ):
                raise InvalidValue(
                    name, f"reminders are days after sending, increasing, 1 to {LONGEST_DELAY_DAYS}"
                )

    def response_days(self, priority: Priority | None) -> int:
        return self.urgent_days if priority is Priority.URGENT else self.standard_days

    def reminder_days(self, priority: Priority | None) -> tuple[int, ...]:
        """The days after sending on which a silent platform is reminded."""
        return self.urgent_reminders if priority is Priority.URGENT else self.standard_reminders

    def reminders_due(self, sent_on: date, priority: Priority | None, as_of: date) -> int:
        """How many reminders a platform silent since `sent_on` has had coming by `as_of`."""
        return sum(sent_on + timedelta(days=d) <= as_of for d in self.reminder_days(priority))

    def grace_days(self, priority: Priority | None) -> int:
        return self.urgent_grace_days if priority is Priority.URGENT else self.standard_grace_days

    def due(self, sent_on: date, priority: Priority | None) -> date:
        """The date a platform's answer is due, for a case sent on `sent_on`."""
        return sent_on + timedelta(days=self.response_days(priority))

    def grace_ends(self, due: date, priority: Priority | None) -> date:
        """The last day a silence past `due` is tolerated."""
        return due + timedelta(days=self.grace_days(priority))

    def silence_expired(self, due: date, priority: Priority | None, as_of: date) -> bool:
        """Whether a platform silent since its answer fell due on `due` has used up its grace
        as of `as_of`: the case goes to the mediator."""
        return is_overdue(self.grace_ends(due, priority), as_of)

    def overdue_as_of(self, as_of: date, priority: Priority | None) -> date:
        """The day as of which the overdue cases of `priority` are exactly those whose grace
        has run out by `as_of`: the deadline process reads the overdue queue as of it."""
        return as_of - timedelta(days=self.grace_days(priority))
