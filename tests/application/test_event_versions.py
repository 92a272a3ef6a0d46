"""Events stored by an earlier version of the code still read, upcast to today's shape."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from eventsourcing.persistence import DatetimeAsISO
from eventsourcing.persistence import DecimalAsStr
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.persistence import Mapper
from eventsourcing.persistence import Transcoding
from eventsourcing.persistence import UUIDAsHex

from application.transcodings import register_domain_transcodings
from domain.case import Case
from domain.values import EscalationReason
from domain.values import Language
from domain.values import PersonalText
from domain.values import Status
from tests.domain.factories import NOW
from tests.domain.factories import case_in
from tests.domain.factories import qualify
from tests.domain.factories import reported_case


class PlainText(Transcoding):
    """Personal text in clear: these tests are about the shape of events, not encryption."""

    type = PersonalText
    name = "personal_text"

    def encode(self, obj: PersonalText) -> str:
        return obj.text

    def decode(self, data: str) -> PersonalText:
        return PersonalText(data)


def mapper() -> Mapper[object]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), PlainText()):
        transcoder.register(transcoding)
    register_domain_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def as_version_1(event: Any, *added_since: str) -> Any:
    """`event` stored as version 1 wrote it: without the fields version 2 added."""
    stored = mapper().to_stored_event(event)
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    for name in added_since:
        del state[name]
    return mapper().to_domain_event(replace(stored, state=json.dumps(state).encode()))


def test_an_escalation_stored_before_deadlines_were_recorded_reads_without_one() -> None:
    case = case_in(Status.AWAITING_PLATFORM)
    case.escalate(reason=EscalationReason.COMPLEXITY, actor="alice", now=NOW)
    [event] = case.collect_events()

    read = as_version_1(event, "response_due", "grace_days")

    assert isinstance(read, Case.EscalatedToMediator)
    assert (read.reason, read.mediator_reference) == (event.reason, event.mediator_reference)
    assert (read.response_due, read.grace_days) == (None, None)


def test_a_report_stored_before_measures_and_languages_reads_as_french_without_one() -> None:
    [event] = reported_case().collect_events()
    read = as_version_1(event, "measure", "language")
    assert isinstance(read, Case.Reported)
    assert (read.measure, read.language) == (None, Language.FR)
    assert read.company == event.company


def test_a_qualification_stored_before_measures_reads_without_one_or_a_rule() -> None:
    case = case_in(Status.REPORTED)
    qualify(case)
    [event] = case.collect_events()
    read = as_version_1(event, "measure", "urgency_rule")
    assert isinstance(read, Case.Qualified)
    assert (read.measure, read.urgency_rule) == (None, None)
    assert (read.category, read.priority) == (event.category, event.priority)
