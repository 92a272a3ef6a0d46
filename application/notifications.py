"""Which e-mails a case's events call for, to whom, and the facts each one states.

A message is named by the event that calls for it and its template: its id (and so its
Message-ID) is the same however often it is derived or delivered. Its recipients and facts are
read when it is sent, from the case as it stood right after that event: the outbox itself keeps
no personal data, and a business whose personal data was erased meanwhile has no address left
to be written to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID
from uuid import uuid5

from application.mail import Audience
from application.mail import MailTemplate
from domain.case import Case
from domain.case import utc_today
from domain.platforms import PlatformDirectory
from domain.values import ERASED
from domain.values import Language

TEMPLATES: dict[type[Case.Event], tuple[MailTemplate, ...]] = {
    Case.Reported: (MailTemplate.ACKNOWLEDGEMENT,),
    Case.SentToPlatform: (MailTemplate.SENT_TO_PLATFORM, MailTemplate.CASE_SENT),
    Case.PlatformReminded: (MailTemplate.REMINDER,),
    Case.PlatformResponded: (MailTemplate.PLATFORM_ANSWERED,),
    Case.EscalatedToMediator: (MailTemplate.ESCALATED,),
    Case.Resolved: (MailTemplate.OUTCOME,),
}
"""The messages each event calls for; the other events call for none."""

PLATFORM_LANGUAGE = Language.FR
"""Platforms are written to in French, whatever the language of the report."""

TRACKING_PAGES = {Language.FR: "/suivi/{code}", Language.EN: "/en/track/{code}"}
"""The web page a business follows its case on, in the language of its messages (the site's
`track` page: tests/web/test_public.py checks they agree)."""

_NOTICE_NAMESPACE = UUID("5f0c1d7e-2b8a-4c3e-9a6d-8e7f1b2c3d4a")


@dataclass(frozen=True)
class Notice:
    """A message an event of a case calls for: what the outbox keeps of it."""

    id: UUID
    case_id: UUID
    case_version: int
    template: MailTemplate


def notices_for(event: Case.Event) -> list[Notice]:
    """The messages `event` calls for, each with its stable id."""
    case_id, version = event.originator_id, event.originator_version
    return [
        Notice(uuid5(_NOTICE_NAMESPACE, f"{case_id}/{version}/{t.value}"), case_id, version, t)
        for t in TEMPLATES.get(type(event), ())
    ]


@dataclass(frozen=True)
class Addressed:
    """A message ready to be worded: its recipients, its language and its facts."""

    to: tuple[str, ...]
    language: Language
    context: dict[str, Any]


def addressed(
    notice: Notice, case: Case, platforms: PlatformDirectory, public_url: str
) -> Addressed | None:
    """The message `notice` names, from `case` as it stood right after the notice's event;
    None when there is no one to write to (the business's personal data was erased, or the
    platform has no contact address)."""
    assert case.version == notice.case_version, "the case as it stood after the event"
    platform = platforms.get(case.platform.key)
    platform_name = platforms.display_name(case.platform.key)
    to: tuple[str, ...]
    if notice.template.audience is Audience.BUSINESS:
        if case.company.contact_email == ERASED:  # at any version, once the key is gone
            return None
        facts: dict[str, Any] = {
            "contact_name": case.company.contact_name,
            "company_name": case.company.name,
            "platform_name": platform_name,
            "tracking_url": public_url
            + TRACKING_PAGES[case.language].format(code=case.tracking_code),
        }
        to, language = (case.company.contact_email.text,), case.language
    else:
        if platform is None or not platform.contacts:
            return None
        facts = {
            "platform_name": platform_name,
            "case_id": case.id,
            "company_name": case.company.name,
            "siren": case.company.siren,
            "response_due": case.response_due,
            "portal_url": f"{public_url}/platform/cases/{case.id}" if platform.portal else None,
        }
        to, language = platform.contacts, PLATFORM_LANGUAGE
    return Addressed(to, language, facts | _event_facts(notice.template, case))


def _event_facts(template: MailTemplate, case: Case) -> dict[str, Any]:
    """What the event behind the message changed, as the case holds it right after it."""
    on = utc_today(case.updated_at)
    match template:
        case MailTemplate.ACKNOWLEDGEMENT:
            return {"tracking_code": case.tracking_code, "reported_on": on}
        case MailTemplate.SENT_TO_PLATFORM:
            return {"sent_on": case.last_sent_on, "response_due": case.response_due}
        case MailTemplate.CASE_SENT:
            return {
                "category": case.category,
                "measure": case.measure or case.reported_measure,
                "message": case.message,
            }
        case MailTemplate.REMINDER:
            return {"number": case.reminders, "sent_on": case.last_sent_on}
        case MailTemplate.PLATFORM_ANSWERED:
            return {"stance": case.stance, "responded_on": case.responded_on}
        case MailTemplate.ESCALATED:
            return {
                "reason": case.escalation_reason,
                "mediator_reference": case.mediator_reference,
                "escalated_on": on,
            }
        case MailTemplate.OUTCOME:
            return {"outcome": case.outcome, "resolved_on": on}
