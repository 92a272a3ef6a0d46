"""The e-mails a case's events call for: one set per event, each with an id that never
changes, addressed and worded from the case as it stood right after its event."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta

import pytest

from application.mail import Audience
from application.mail import MailTemplate
from application.notifications import Notice
from application.notifications import addressed
from application.notifications import notices_for
from domain.case import Case
from domain.platforms import BUILTIN_PLATFORMS
from domain.platforms import KnownPlatform
from domain.values import Language
from domain.values import Outcome
from domain.values import erased
from infrastructure.mail_rendering import render
from tests.domain.factories import DEADLINES
from tests.domain.factories import NOW
from tests.domain.factories import escalate
from tests.domain.factories import qualify
from tests.domain.factories import reported_case
from tests.domain.factories import resolve
from tests.domain.factories import send

URL = "https://mediation.example"
AMAZON = KnownPlatform.parse(
    key="amazon", name="Amazon", contacts=["p2b@amazon.example"], portal=True
)
PLATFORMS = BUILTIN_PLATFORMS.with_platform(AMAZON)


def remind(case: Case) -> None:
    week_later = NOW + timedelta(days=7)
    case.remind(deadlines=DEADLINES, as_of=week_later.date(), actor="system", now=week_later)


STEPS: list[tuple[Callable[[Case], None], list[MailTemplate]]] = [
    (qualify, []),
    (send, [MailTemplate.SENT_TO_PLATFORM, MailTemplate.CASE_SENT]),
    (lambda c: c.acknowledge(actor="platform:amazon", now=NOW), []),
    (remind, [MailTemplate.REMINDER]),
    (escalate, [MailTemplate.ESCALATED]),
    (lambda c: resolve(c, Outcome.RESOLVED), [MailTemplate.OUTCOME]),
]


def walked() -> list[tuple[Notice, Case]]:
    """Every message a case walked from report to outcome calls for, each with the case as it
    stood right after the event that called for it."""
    case = reported_case()
    found = [(n, copy.deepcopy(case)) for e in case.collect_events() for n in notices_for(e)]
    assert [n.template for n, _ in found] == [MailTemplate.ACKNOWLEDGEMENT]
    for step, templates in STEPS:
        step(case)
        events = case.collect_events()
        notices = [n for e in events for n in notices_for(e)]
        assert [n.template for n in notices] == templates
        found += [(n, copy.deepcopy(case)) for n in notices]
    return found


def test_a_message_keeps_its_id_and_each_has_its_own() -> None:
    first, second = walked(), walked()
    ids = [n.id for n, _ in first]
    assert len(set(ids)) == len(ids)
    case = reported_case()
    [event] = case.collect_events()
    assert notices_for(event) == notices_for(event)
    assert {n.id for n, _ in second}.isdisjoint(ids)  # another case, other messages


@pytest.mark.parametrize("language", list(Language))
def test_every_message_of_a_case_is_addressed_and_worded_from_the_case(
    language: Language,
) -> None:
    for notice, case in walked():
        case.language = language
        message = addressed(notice, case, PLATFORMS, URL)
        assert message is not None, notice.template
        if notice.template.audience is Audience.BUSINESS:
            assert message.to == (case.company.contact_email.text,)
            assert message.language is language
        else:
            assert message.to == AMAZON.contacts
            assert message.context["portal_url"] == f"{URL}/platform/cases/{case.id}"
        subject, text, _ = render(notice.template, message.language, message.context)
        assert subject
        if notice.template is MailTemplate.ACKNOWLEDGEMENT:
            assert str(case.tracking_code) in text


def test_no_one_is_written_to_without_an_address() -> None:
    for notice, case in walked():
        # Read after an erasure, any version of the case has its texts erased (the key is gone).
        for name, value in list(vars(case).items()):
            setattr(case, name, erased(value))
        message = addressed(notice, case, BUILTIN_PLATFORMS, URL)  # the built-in: no contacts
        assert message is None, notice.template
