"""Events stored by an earlier version of the code still read, upcast to today's shape."""

from __future__ import annotations

import json
from dataclasses import replace

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from application.transcodings import register_domain_transcodings
from domain.case import Case
from domain.values import EscalationReason, Status
from tests.domain.factories import NOW, case_in


def test_an_escalation_stored_before_deadlines_were_recorded_reads_without_one() -> None:
    transcoder = JSONTranscoder()
    for library_transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(library_transcoding)
    register_domain_transcodings(transcoder)
    mapper: Mapper[object] = Mapper(transcoder=transcoder)
    case = case_in(Status.AWAITING_PLATFORM)
    case.escalate(reason=EscalationReason.COMPLEXITY, actor="alice", now=NOW)
    [event] = case.collect_events()
    stored = mapper.to_stored_event(event)
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    del state["response_due"], state["grace_days"]  # what version 1 wrote
    version_1 = replace(stored, state=json.dumps(state).encode())

    read = mapper.to_domain_event(version_1)

    assert isinstance(read, Case.EscalatedToMediator)
    assert (read.reason, read.mediator_reference) == (event.reason, event.mediator_reference)
    assert (read.response_due, read.grace_days) == (None, None)
