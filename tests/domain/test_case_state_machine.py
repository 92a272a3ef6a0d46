"""Random command sequences against a tiny model of the transition table (Hypothesis).

The model is DOMAIN.md's table in a few lines; the machine checks after every step that the
aggregate agrees with it, records exactly one event per accepted command and none per refused
one, and that replaying the recorded events rebuilds the very same state.
"""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any

from hypothesis import event as observe
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import rule

from domain.case import Case
from domain.errors import CommandNotAllowed
from domain.errors import InvalidCaseCommand
from domain.errors import PersonalDataErasedError
from domain.values import Category
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Stance
from tests.domain.factories import DEADLINES
from tests.domain.factories import NOW
from tests.domain.factories import reported_case

ANY_BUT_INADMISSIBLE = {o.value for o in Outcome} - {"inadmissible"}
MODEL: dict[str, dict[str, str]] = {
    # status -> command -> next status
    "reported": {"qualify": "qualified", "resolve": "resolved"},
    "qualified": {"qualify": "qualified", "send": "awaiting_platform", "resolve": "resolved"},
    "awaiting_platform": {
        "respond": "platform_responded",
        "escalate": "with_mediator",
        "resolve": "resolved",
    },
    "platform_responded": {
        "send": "awaiting_platform",
        "escalate": "with_mediator",
        "resolve": "resolved",
    },
    "with_mediator": {"resolve": "resolved"},
    "resolved": {},
}
# The domain's deadlines, by priority: days to answer, days of grace, days of the reminders.
RESPONSE_DAYS = {"urgent": 5, "other": 15}
GRACE_DAYS = {"urgent": 2, "other": 6}
REMINDER_DAYS = {"urgent": (2, 4), "other": (7, 14)}
RESOLVABLE = {
    "reported": {"withdrawn", "inadmissible"},
    "qualified": {"withdrawn", "inadmissible"},
    "awaiting_platform": {"withdrawn"},
    "platform_responded": ANY_BUT_INADMISSIBLE,
    "with_mediator": ANY_BUT_INADMISSIBLE,
    "resolved": set(),
}

texts = st.text(alphabet="abc xyz", min_size=1, max_size=12).filter(str.strip).map(PersonalText)


class CaseWorkflow(RuleBasedStateMachine):
    @initialize()
    def report(self) -> None:
        self.now = NOW
        self.case = reported_case(self.now)
        self.events: list[Any] = list(self.case.collect_events())
        self.status = "reported"
        self.erased = False
        self.rule = "other"  # which deadlines apply: "urgent" or "other"
        self.due: date | None = None
        self.sent_on: date | None = None
        self.acknowledged = False  # in the current round with the platform
        self.reminded = 0

    def attempt(
        self, command: str, allowed: bool, act: Any, adds_personal_data: bool = True
    ) -> None:
        before = self.case.version
        if allowed and adds_personal_data and self.erased:
            # The status allows it, but the case takes no new personal data after an erasure.
            try:
                act()
            except PersonalDataErasedError:
                pass
            else:
                raise AssertionError(f"{command} added personal data to an erased case")
            assert self.case.collect_events() == []
            assert self.case.version == before
        elif allowed:
            act()
            new = self.case.collect_events()
            assert len(new) == 1
            self.events.extend(new)
            self.status = MODEL[self.status][command]
        else:
            try:
                act()
            except CommandNotAllowed as refused:
                assert refused.status == self.status
            else:
                raise AssertionError(f"{command} was accepted in {self.status}")
            assert self.case.collect_events() == []
            assert self.case.version == before

    @rule(days=st.integers(min_value=0, max_value=30))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days, minutes=1)

    @rule(category=st.sampled_from(Category), priority=st.sampled_from(Priority), summary=texts)
    def qualify(self, category: Category, priority: Priority, summary: PersonalText) -> None:
        recorded = len(self.events)
        self.attempt(
            "qualify",
            "qualify" in MODEL[self.status],
            lambda: self.case.qualify(
                category=category, priority=priority, summary=summary, actor="a", now=self.now
            ),
        )
        if len(self.events) > recorded:
            self.rule = "urgent" if priority is Priority.URGENT else "other"

    @rule(message=texts)
    def send(self, message: PersonalText) -> None:
        recorded = len(self.events)
        self.attempt(
            "send",
            "send" in MODEL[self.status],
            lambda: self.case.send_to_platform(
                message=message, deadlines=DEADLINES, actor="a", now=self.now
            ),
        )
        if len(self.events) > recorded:
            self.due = self.now.date() + timedelta(days=RESPONSE_DAYS[self.rule])
            self.sent_on = self.now.date()
            self.acknowledged, self.reminded = False, 0

    @rule(days=st.integers(min_value=0, max_value=30))
    def deadlines_are_checked(self, days: int) -> None:
        """Some days later, the deadline process's command: accepted exactly when the platform
        is awaited and the day after the due date plus grace has come."""
        self.now += timedelta(days=days)
        today = self.now.date()
        expected = (
            self.status == "awaiting_platform"
            and self.due is not None
            and today > self.due + timedelta(days=GRACE_DAYS[self.rule])
        )
        before = self.case.version
        try:
            self.case.escalate_for_silence(
                deadlines=DEADLINES, as_of=today, actor="system:deadlines", now=self.now
            )
        except (CommandNotAllowed, InvalidCaseCommand):
            assert not expected
            observe("silence not yet expired" if self.status == "awaiting_platform" else "refused")
            assert self.case.collect_events() == []
            assert self.case.version == before
            return
        assert expected, f"escalated for silence on {today}, due {self.due}"
        observe("escalated for silence")
        [event] = self.case.collect_events()
        assert isinstance(event, Case.EscalatedToMediator)
        assert event.reason is EscalationReason.NO_RESPONSE
        assert (event.response_due, event.grace_days) == (self.due, GRACE_DAYS[self.rule])
        self.events.append(event)
        self.status = "with_mediator"

    @rule()
    def acknowledge(self) -> None:
        """The platform acknowledges: once a round, only while it is awaited; no status moves."""
        awaited = self.status == "awaiting_platform"
        before = self.case.version
        try:
            recorded = self.case.acknowledge(actor="platform:amazon", now=self.now)
        except CommandNotAllowed:
            assert not awaited
            assert self.case.collect_events() == []
            return
        assert awaited
        assert recorded is not self.acknowledged
        new = self.case.collect_events()
        assert len(new) == (1 if recorded else 0)
        self.events.extend(new)
        self.acknowledged = True
        assert self.case.version == before + len(new)

    @rule(days=st.integers(min_value=0, max_value=20))
    def reminders_are_checked(self, days: int) -> None:
        """Some days later, the deadline process reminds a platform still awaited: each
        reminder due since the case was sent (the rule's days) is recorded once."""
        self.now += timedelta(days=days)
        today = self.now.date()
        try:
            self.case.remind(
                deadlines=DEADLINES, as_of=today, actor="system:deadlines", now=self.now
            )
        except CommandNotAllowed:
            assert self.status != "awaiting_platform"
            assert self.case.collect_events() == []
            return
        assert self.status == "awaiting_platform"
        assert self.sent_on is not None
        due = sum(self.sent_on + timedelta(d) <= today for d in REMINDER_DAYS[self.rule])
        new = self.case.collect_events()
        assert [e.number for e in new] == list(range(self.reminded + 1, due + 1))
        observe(f"{len(new)} reminder(s) at once")
        self.events.extend(new)
        self.reminded = max(self.reminded, due)

    @rule(stance=st.sampled_from(Stance), response=texts)
    def respond(self, stance: Stance, response: PersonalText) -> None:
        self.attempt(
            "respond",
            "respond" in MODEL[self.status],
            lambda: self.case.record_platform_response(
                stance=stance, response=response, actor="a", now=self.now
            ),
        )

    @rule(reason=st.sampled_from(EscalationReason), note=st.none() | texts)
    def escalate(self, reason: EscalationReason, note: PersonalText | None) -> None:
        self.attempt(
            "escalate",
            "escalate" in MODEL[self.status],
            lambda: self.case.escalate(reason=reason, note=note, actor="a", now=self.now),
            adds_personal_data=note is not None,
        )

    @rule()
    def erase(self) -> None:
        if self.erased:
            try:
                self.case.erase_personal_data(reason="again", actor="dpo", now=self.now)
            except PersonalDataErasedError:
                assert self.case.collect_events() == []
                return
            raise AssertionError("erased twice")
        self.case.erase_personal_data(reason="request", actor="dpo", now=self.now)
        self.events.extend(self.case.collect_events())
        self.erased = True

    @rule(outcome=st.sampled_from(Outcome), summary=texts)
    def resolve(self, outcome: Outcome, summary: PersonalText) -> None:
        self.attempt(
            "resolve",
            outcome.value in RESOLVABLE[self.status],
            lambda: self.case.resolve(outcome=outcome, summary=summary, actor="a", now=self.now),
        )

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.case.status.value == self.status
        assert self.case.personal_data_erased == self.erased
        assert self.case.version == len(self.events)
        assert [e.originator_version for e in self.events] == list(range(1, len(self.events) + 1))

    @invariant()
    def replaying_the_events_rebuilds_the_same_state(self) -> None:
        replayed: Case | None = None
        for event in self.events:
            replayed = event.mutate(replayed)
        assert replayed is not None
        state = {k: v for k, v in vars(self.case).items() if k != "_pending_events"}
        assert {k: v for k, v in vars(replayed).items() if k != "_pending_events"} == state


TestCaseWorkflow = CaseWorkflow.TestCase
TestCaseWorkflow.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
