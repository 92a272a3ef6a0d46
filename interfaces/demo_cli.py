"""`mediation demo --cases N`: realistic synthetic cases over the past year, for a first look.

Each case follows one of the workflow's paths (some still to qualify, some awaiting a platform
that stays silent, answered, escalated, resolved), through the application's own commands,
with the clock set to each step's instant: the events carry that year's times. A platform that
stays silent is escalated as the deadline process would have done it, the day after its grace
ran out; the cases left awaiting a platform that never answers are escalated by the deadline
process as of today, once the read models are up to date. So the first look shows what the
service promises: no case silent past its grace.

It writes into an empty store only, unless told to add to the cases already there (twice in
one store would double every figure).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Annotated
from typing import Any

import typer
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import TextColumn
from rich.progress import TimeRemainingColumn

from application.case_queues import CaseQueues
from application.clock import SettableClock
from application.deadlines import SYSTEM_ACTOR
from application.deadlines import DeadlineProcess
from application.errors import ApplicationError
from application.mediation import MediationApplication
from application.mediation import ReportRequest
from domain.case import utc_today
from domain.errors import DomainError
from domain.platforms import Platform
from domain.values import Category
from domain.values import Channel
from domain.values import Company
from domain.values import CompanySize
from domain.values import EscalationReason
from domain.values import Outcome
from domain.values import PersonalText
from domain.values import Priority
from domain.values import Siren
from domain.values import Stance
from domain.values import luhn_is_valid
from interfaces.composition import projection_runner

# How often each platform and category comes up, roughly as in the 2018 reports.
PLATFORMS = {
    "Amazon": 30, "Cdiscount": 10, "eBay": 8, "Fnac Darty": 6, "ManoMano": 6, "Leboncoin": 6,
    "Rakuten": 4, "Etsy": 4, "Google Shopping": 3, "Apple App Store": 3, "Google Play": 3,
    "Booking.com": 5, "Airbnb": 4, "Uber Eats": 4, "Deliveroo": 4,
}  # fmt: skip
CATEGORIES = {
    Category.DELISTING: 22, Category.UNREACHABLE_SUPPORT: 16, Category.COUNTERFEIT_IP: 12,
    Category.ACCOUNT_SUSPENSION: 10, Category.FUNDS_WITHHELD: 9,
    Category.MISSING_STATEMENT_OF_REASONS: 7, Category.ACCOUNT_TERMINATION: 5,
    Category.RANKING: 5, Category.TERMS_CHANGE: 4, Category.UNFAIR_TERMS_FEES: 4,
    Category.TECHNICAL_FAILURE: 2, Category.SELF_PREFERENCING: 2, Category.DATA_ACCESS: 1,
    Category.OTHER: 1,
}  # fmt: skip
TRADES = ["Atelier", "Boutique", "Maison", "Comptoir", "Librairie", "Épicerie", "Fabrique"]
NAMES = ["Dupont", "Martin", "Bernard", "Lefèvre", "Moreau", "Garnier", "Roux", "Fontaine"]
GOODS = ["du Lin", "des Arts", "Bio", "du Jouet", "Céramique", "du Vélo", "Gourmande", "Vintage"]
FIRST = ["Jeanne", "Louis", "Camille", "Hugo", "Inès", "Paul", "Léa", "Karim", "Sophie", "Yanis"]


@dataclass(frozen=True)
class Path:
    """How far a case goes, and how the platform behaves."""

    steps: int  # 0 reported, 1 qualified, 2 sent, 3 answered, 4 escalated, 5 resolved
    silent: bool


def siren(rng: random.Random) -> Siren:
    while True:
        digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
        if luhn_is_valid(digits) and digits[0] != "0":
            return Siren(digits)


def pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def one_case(
    app: MediationApplication, clock: SettableClock, rng: random.Random, now: datetime
) -> None:
    started = now - timedelta(days=rng.uniform(1, 365))
    clock.set(started)
    category = pick(rng, CATEGORIES)
    first, last = rng.choice(FIRST), rng.choice(NAMES)
    company = f"{rng.choice(TRADES)} {rng.choice([last, rng.choice(GOODS)])}"
    report = ReportRequest(
        company=Company(
            name=PersonalText(company),
            siren=siren(rng),
            size=rng.choices(list(CompanySize), weights=[6, 3, 1])[0],
            contact_name=PersonalText(f"{first} {last}"),
            contact_email=PersonalText(f"{first.lower()}@{last.lower()}-demo.fr"),
        ),
        platform=Platform.parse(pick(rng, PLATFORMS)),
        description=PersonalText(
            f"{company}: {category.value.replace('_', ' ')} (données de démo)"
        ),
        occurred_on=(started - timedelta(days=rng.randint(0, 20))).date(),
        category_hint=category if rng.random() < 0.6 else None,
        channel=rng.choices(list(Channel), weights=[7, 2, 1])[0],
    )
    case_id = app.report_case(report, actor="demo-intake").case_id
    path = Path(
        steps=rng.choices(range(6), weights=[6, 5, 12, 10, 14, 53])[0], silent=rng.random() < 0.3
    )

    def later_than(moment: datetime) -> bool:
        if moment >= now:
            return False
        clock.set(moment)
        return True

    def later(low: float, high: float) -> bool:
        return later_than(clock.now() + timedelta(days=rng.uniform(low, high)))

    worker = rng.choice(["alice", "bruno", "chloé", "djamel"])
    if path.steps < 1 or not later(0.1, 4):
        return
    priority = rng.choices(list(Priority), weights=[2, 6, 3, 1])[0]
    app.qualify_case(
        case_id,
        category=category,
        priority=priority,
        summary=PersonalText("Qualifié (démo)"),
        assignee=worker,
        actor=worker,
    )
    if path.steps < 2 or not later(0.1, 3):
        return
    sent = app.send_to_platform(case_id, message=PersonalText("Saisine (démo)"), actor=worker)
    sent_on = utc_today(clock.now())
    if path.steps < 3:
        return

    def reminded_until(moment: datetime) -> bool:
        """The deadline process's hourly runs remind the platform on its days before `moment`;
        whether they all came before now (else the clock stops at now: today's run's)."""
        for after_days in app.deadlines.reminder_days(priority):
            due = datetime.combine(sent_on + timedelta(days=after_days), time(), UTC)
            at = due + timedelta(hours=rng.uniform(0, 1))
            if at >= moment:
                return True
            if not later_than(at):
                return False
            app.remind_platform(case_id, as_of=utc_today(clock.now()), actor=SYSTEM_ACTOR)
        return True

    if path.silent:
        assert sent.response_due is not None
        # The deadline process's hourly run on the first day past the grace.
        grace_ends = app.deadlines.grace_ends(sent.response_due, priority)
        escalated_at = datetime.combine(grace_ends + timedelta(days=1), time(), UTC)
        escalated_at += timedelta(hours=rng.uniform(0, 1))
        if not reminded_until(escalated_at) or not later_than(escalated_at):
            return
        app.escalate_for_silence(case_id, as_of=utc_today(clock.now()), actor=SYSTEM_ACTOR)
    else:
        answered_at = clock.now() + timedelta(days=rng.uniform(1, 19))
        if not reminded_until(answered_at) or not later_than(answered_at):
            return
        stance = rng.choices(list(Stance), weights=[4, 3, 4, 2])[0]
        app.record_platform_response(
            case_id, stance=stance, response=PersonalText("Réponse"), actor=worker
        )
        if path.steps < 4 or not later(0.5, 6):
            return
        if stance in (Stance.ACCEPTED, Stance.PARTIALLY_ACCEPTED) and rng.random() < 0.7:
            outcome = Outcome.RESOLVED if stance is Stance.ACCEPTED else Outcome.PARTIALLY_RESOLVED
            app.resolve_case(case_id, outcome=outcome, summary=PersonalText("Clos"), actor=worker)
            return
        reason = rng.choice([EscalationReason.UNSATISFACTORY_RESPONSE, EscalationReason.COMPLEXITY])
        app.escalate_case(case_id, reason=reason, actor=worker)
    if path.steps < 5 or not later(5, 60):
        return
    outcome = rng.choices(list(Outcome)[:4], weights=[5, 3, 3, 1])[0]
    app.resolve_case(
        case_id, outcome=outcome, summary=PersonalText("Médiation close"), actor=worker
    )


def demo(
    cases: Annotated[int, typer.Option(min=1, max=1_000_000, help="how many cases")] = 500,
    seed: Annotated[int | None, typer.Option(help="the same seed makes the same cases")] = None,
    append: Annotated[
        bool, typer.Option("--append", help="add to the cases the store already holds")
    ] = False,
) -> None:
    """Fill an empty store with realistic synthetic cases spread over the past year."""
    from interfaces.trust_cli import fail
    from interfaces.trust_cli import opened

    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    with opened() as (application, _):
        held = application.log_position()
        if held and not append:
            raise fail(
                f"the store already holds cases (its log is at position {held}): demo cases "
                "would mix with them; pass --append to add them all the same"
            )
        system_clock = application.clock
        now = system_clock.now()
        clock = SettableClock(now)
        application.clock = clock
        columns = (
            TextColumn("demo cases"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns) as bar:
            task = bar.add_task("cases", total=cases)
            for _ in range(cases):
                try:
                    one_case(application, clock, rng, now)
                except (DomainError, ApplicationError) as refused:  # a path the rules refuse
                    typer.echo(f"skipped a step: {refused}", err=True)
                bar.advance(task)
        application.clock = system_clock
        today = utc_today(system_clock.now())
        runner = projection_runner(application)
        runner.catch_up()  # the overdue queue the deadline process reads
        run = DeadlineProcess(application, runner.view(CaseQueues.name)).run(today)
        runner.catch_up()
        position = application.log_position()
    typer.echo(f"{cases} demo cases written, the log is at position {position}")
    typer.echo(
        f"deadlines as of {today}: {len(run.escalated)} case(s) silent past their grace "
        "escalated to the mediator for no_response"
        + (f", {len(run.skipped)} skipped" if run.skipped else "")
        + f"; {len(run.reminded)} reminder(s) recorded"
    )
    typer.echo("read models up to date: `mediation serve` shows them as they are")
