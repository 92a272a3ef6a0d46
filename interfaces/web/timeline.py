"""What a business is told of its case: its status in words, its dated steps, the next step.

Only what the public tracking may show: statuses, dates, the platform's due date, the
mediator's file reference and the outcome. Never a note, a message, an answer or the name of
whoever acted: each step is built from an event's type and its dates alone, and an event not
listed here is not shown.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from application.history import HistoryEntry
from domain.case import Case
from domain.deadlines import Deadlines
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import Priority
from domain.values import Status
from interfaces.web.pages import SHOWN_IN
from interfaces.web.wording import N_

Say = Callable[..., str]

OUTCOMES = {
    Outcome.RESOLVED: N_("resolved"),
    Outcome.PARTIALLY_RESOLVED: N_("partly resolved"),
    Outcome.NOT_RESOLVED: N_("not resolved"),
    Outcome.WITHDRAWN: N_("withdrawn at your request"),
    Outcome.INADMISSIBLE: N_("outside the scheme"),
}

STATUSES = {
    Status.REPORTED: N_("Report received — awaiting review"),
    Status.QUALIFIED: N_("Being reviewed"),
    Status.AWAITING_PLATFORM: N_("Sent to the platform — answer due by %(due)s"),
    Status.PLATFORM_RESPONDED: N_("The platform has answered"),
    Status.WITH_MEDIATOR: N_("With the business mediator (file %(reference)s)"),
    Status.RESOLVED: N_("Closed: %(outcome)s"),
}

NEXT_STEPS = {
    Status.REPORTED: N_("A caseworker will review your report, then write to you."),
    Status.QUALIFIED: N_("Your case will be sent to the platform."),
    Status.AWAITING_PLATFORM: N_(
        "The platform must answer by %(due)s. If it does not, the business mediator takes up "
        "your case from %(escalation)s."
    ),
    Status.PLATFORM_RESPONDED: N_(
        "A caseworker is reviewing the platform's answer, then will write to you."
    ),
    Status.WITH_MEDIATOR: N_("The business mediator is handling your case and will contact you."),
}


@dataclass(frozen=True)
class Step:
    """A dated step of the case, said in the page's language."""

    on: date
    what: str


def escalation_from(deadlines: Deadlines, due: date, priority: Priority | None) -> date:
    """The first day a platform silent since its answer fell due on `due` sees the case go
    to the mediator."""
    return deadlines.grace_ends(due, priority) + timedelta(days=1)


def status_words(case: Case, say: Say) -> str:
    """The case's status, as the business reads it."""
    return say(
        STATUSES[case.status],
        due=case.response_due,
        reference=case.mediator_reference,
        outcome=say(OUTCOMES[case.outcome]) if case.outcome else "",
    )


def next_step(case: Case, deadlines: Deadlines, say: Say) -> str | None:
    """What happens next, with its date where there is one; None once the case is closed."""
    if case.status not in NEXT_STEPS:
        return None
    due = case.response_due
    escalation = None if due is None else escalation_from(deadlines, due, case.priority)
    return say(NEXT_STEPS[case.status], due=due, escalation=escalation)


def steps(history: Sequence[HistoryEntry], say: Say) -> list[Step]:
    """The case's steps, oldest first: one per event a business is told of."""
    told: list[Step] = []
    rounds = 0
    qualified = False
    for entry in history:
        data = entry.data
        recorded_on = entry.recorded_at.astimezone(SHOWN_IN).date()
        match entry.type:
            case Case.Reported.__name__:
                told.append(Step(recorded_on, say(N_("Report received"))))
            case Case.Qualified.__name__ if not qualified:
                qualified = True
                told.append(Step(recorded_on, say(N_("Report reviewed by a caseworker"))))
            case Case.SentToPlatform.__name__:
                rounds += 1
                words = (
                    N_("Sent to the platform, which must answer by %(due)s")
                    if rounds == 1
                    else N_("Sent to the platform again, which must answer by %(due)s")
                )
                due = date.fromisoformat(data["response_due"])
                told.append(Step(date.fromisoformat(data["sent_on"]), say(words, due=due)))
            case Case.PlatformAcknowledged.__name__:
                on = date.fromisoformat(data["acknowledged_on"])
                told.append(Step(on, say(N_("The platform confirmed it has received your case"))))
            case Case.PlatformReminded.__name__:
                told.append(Step(recorded_on, say(N_("The platform was reminded to answer"))))
            case Case.PlatformResponded.__name__:
                on = date.fromisoformat(data["responded_on"])
                told.append(Step(on, say(N_("The platform answered"))))
            case Case.EscalatedToMediator.__name__:
                words = (
                    N_("The platform did not answer in time: handed to the business mediator")
                    if data["reason"] == EscalationReason.NO_RESPONSE.value
                    else N_("Handed to the business mediator")
                )
                reference = say(N_("(file %(reference)s)"), reference=data["mediator_reference"])
                told.append(Step(recorded_on, f"{say(words)} {reference}"))
            case Case.Resolved.__name__:
                outcome = say(OUTCOMES[Outcome(data["outcome"])])
                told.append(Step(recorded_on, say(N_("Case closed: %(outcome)s"), outcome=outcome)))
            case Case.PersonalDataErased.__name__:
                told.append(Step(recorded_on, say(N_("Your personal data was erased"))))
    return told
