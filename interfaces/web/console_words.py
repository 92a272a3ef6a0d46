"""The console's words for the domain's values: statuses, queues, categories, stances…

English here, French in the console's catalogue; categories keep the taxonomy's own two names
(domain.values.CATEGORY_LABELS). `words(language)` gives the templates a `label(value)`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from application.access import Role
from application.case_queues import UNQUALIFIED
from application.case_queues import Queue
from domain.measures import Measure
from domain.measures import StatementOfReasons
from domain.measures import UrgencyRule
from domain.values import CATEGORY_LABELS
from domain.values import Category
from domain.values import Channel
from domain.values import CompanySize
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import Priority
from domain.values import Stance
from domain.values import Status
from interfaces.web.catalogues import translations
from interfaces.web.wording import N_

QUEUE_NAMES: dict[Queue, str] = {
    Queue.TO_QUALIFY: N_("To qualify"),
    Queue.TO_SEND: N_("To send"),
    Queue.AWAITING_PLATFORM: N_("Awaiting the platform"),
    Queue.AWAITING_ACKNOWLEDGEMENT: N_("Not acknowledged by the platform"),
    Queue.OVERDUE: N_("Overdue"),
    Queue.TO_REVIEW: N_("To review"),
    Queue.WITH_MEDIATOR: N_("With the mediator"),
    Queue.RESOLVED: N_("Closed"),
}

WORDS: dict[Enum, str] = {
    Status.REPORTED: N_("Reported, to qualify"),
    Status.QUALIFIED: N_("Qualified, to send"),
    Status.AWAITING_PLATFORM: N_("Awaiting the platform"),
    Status.PLATFORM_RESPONDED: N_("The platform has answered"),
    Status.WITH_MEDIATOR: N_("With the mediator"),
    Status.RESOLVED: N_("Closed"),
    Priority.LOW: N_("Low"),
    Priority.NORMAL: N_("Normal"),
    Priority.HIGH: N_("High"),
    Priority.URGENT: N_("Urgent"),
    Stance.ACCEPTED: N_("Accepted the request"),
    Stance.PARTIALLY_ACCEPTED: N_("Partly accepted the request"),
    Stance.REFUSED: N_("Refused the request"),
    Stance.INFORMATION_REQUESTED: N_("Asked for more information"),
    EscalationReason.NO_RESPONSE: N_("No answer from the platform"),
    EscalationReason.UNSATISFACTORY_RESPONSE: N_("The answer does not settle the problem"),
    EscalationReason.COMPLEXITY: N_("The case is complex"),
    EscalationReason.BUSINESS_REQUEST: N_("The business asked for it"),
    Outcome.RESOLVED: N_("The problem was resolved"),
    Outcome.PARTIALLY_RESOLVED: N_("The problem was partly resolved"),
    Outcome.NOT_RESOLVED: N_("The problem was not resolved"),
    Outcome.WITHDRAWN: N_("The business withdrew its report"),
    Outcome.INADMISSIBLE: N_("Outside the scheme"),
    Measure.DELISTING: N_("Offers delisted or restricted"),
    Measure.SUSPENSION: N_("Account suspended"),
    Measure.TERMINATION: N_("Account terminated"),
    Measure.TERMS_CHANGE: N_("Terms changed"),
    Measure.FUNDS_WITHHELD: N_("Funds withheld"),
    Measure.OTHER: N_("Another measure"),
    StatementOfReasons.GIVEN: N_("Reasons given"),
    StatementOfReasons.PARTLY: N_("Reasons partly given"),
    StatementOfReasons.NOT_GIVEN: N_("No reasons given"),
    UrgencyRule.TERMINATION_WITHIN_30_DAYS: N_("termination within 30 days"),
    UrgencyRule.FUNDS_WITHHELD: N_("funds withheld"),
    Channel.WEB: N_("Web form"),
    Channel.EMAIL: N_("E-mail"),
    Channel.PHONE: N_("Telephone"),
    CompanySize.MICRO: N_("Micro-enterprise (under 10 people)"),
    CompanySize.SMALL: N_("Small (under 50 people)"),
    CompanySize.MEDIUM: N_("Medium (under 250 people)"),
    Role.REPORTER: N_("Intake"),
    Role.CASEWORKER: N_("Caseworker"),
    Role.AUDITOR: N_("Auditor"),
    Role.ANALYST: N_("Analyst"),
    Role.DPO: N_("Data protection officer"),
    Role.PLATFORM: N_("Platform"),
}
"""Each value the console names (categories excepted: they have their own two names)."""

UNQUALIFIED_WORD = N_("Not qualified yet")


def words(language: str) -> Callable[[object], str]:
    """`label(value)` in `language`: a status, a queue, a category (or `unqualified`, as the
    queues say), a stance…"""
    gettext = translations(language).gettext

    def label(value: object) -> str:
        if value == UNQUALIFIED:
            return gettext(UNQUALIFIED_WORD)
        if isinstance(value, Category):
            french, english = CATEGORY_LABELS[value]
            return french if language == "fr" else english
        if isinstance(value, Queue):
            return gettext(QUEUE_NAMES[value])
        if isinstance(value, Enum) and value in WORDS:
            return gettext(WORDS[value])
        return str(value)

    return label
