"""GET /statistics…: the ministry's figures, from the statistics read model.

The routes are `async def` so that a `min_position` wait holds no thread (deps.read_model_at);
the figures themselves are read and computed in the thread pool."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from application.case_statistics import CaseStatistics, annual, statistics
from domain.case import utc_today
from domain.errors import InvalidValue
from domain.platforms import platform_key
from interfaces.http.auth import AuthorizedRoute
from interfaces.http.deps import Analyst, MediationDep, MinPosition, read_model_at
from interfaces.http.problems import ProblemError
from interfaces.http.schemas import IsoDate
from interfaces.http.statistics_views import (
    AnnualStatisticsView,
    PlatformStatisticsView,
    StatisticsView,
)

router = APIRouter(prefix="/statistics", tags=["statistics"], route_class=AuthorizedRoute)

From = Annotated[IsoDate | None, Query(alias="from", description="first day reported (UTC)")]
To = Annotated[IsoDate | None, Query(description="last day reported (UTC), inclusive")]
AsOf = Annotated[IsoDate | None, Query(description="decides what is silent; default today")]


OUTCOMES = ("resolved", "partially_resolved", "not_resolved", "withdrawn", "inadmissible")
COLUMNS: dict[str, tuple[str, str]] = {
    # key in the platform entry: (English header, French header)
    "platform": ("platform", "plateforme"),
    "cases": ("cases", "dossiers"),
    "sent": ("sent_to_platform", "saisies_de_la_plateforme"),
    "answered": ("answered", "réponses"),
    "answered_on_time": ("answered_on_time", "réponses_dans_les_délais"),
    "silent": ("silent", "silences"),
    "escalated": ("escalated", "transmis_au_médiateur"),
    "answer_rate": ("answer_rate", "taux_de_réponse"),
    "on_time_rate": ("on_time_rate", "taux_de_réponse_dans_les_délais"),
    "silence_rate": ("silence_rate", "taux_de_silence"),
    "escalation_rate": ("escalation_rate", "taux_de_transmission_au_médiateur"),
    "median_days_to_first_answer": ("median_days_to_first_answer", "délai_médian_de_réponse_jours"),
    "p90_days_to_first_answer": ("p90_days_to_first_answer", "délai_p90_de_réponse_jours"),
    "median_days_to_resolution": ("median_days_to_resolution", "délai_médian_de_résolution_jours"),
    "resolved": ("outcome_resolved", "issue_résolu"),
    "partially_resolved": ("outcome_partially_resolved", "issue_partiellement_résolu"),
    "not_resolved": ("outcome_not_resolved", "issue_non_résolu"),
    "withdrawn": ("outcome_withdrawn", "issue_retiré"),
    "inadmissible": ("outcome_inadmissible", "issue_irrecevable"),
}


def _period(first: date | None, last: date | None) -> None:
    if first and last and first > last:
        raise InvalidValue("from", "from is after to", where="query")


async def _figures(request: Request, mediation: Any, first: date | None, last: date | None,
                   as_of: date | None, min_position: int | None) -> StatisticsView:  # fmt: skip
    _period(first, last)
    await read_model_at(request, min_position)
    view: CaseStatistics = request.app.state.runner.view(CaseStatistics.name)
    day = as_of or utc_today(mediation.clock.now())
    return await run_in_threadpool(_read_figures, view, first, last, day)


def _read_figures(view: CaseStatistics, first: date | None, last: date | None,
                  day: date) -> StatisticsView:  # fmt: skip
    counters, position = view.counters(first, last, day)
    return StatisticsView.model_validate({"position": position, **statistics(counters, day)})


@router.get("")
async def all_figures(
    request: Request, mediation: MediationDep, _: Analyst,
    first: From = None, to: To = None, as_of: AsOf = None, min_position: MinPosition = None,
) -> StatisticsView:  # fmt: skip
    """Counts by status, platform and category; per platform how (and whether) it answers."""
    return await _figures(request, mediation, first, to, as_of, min_position)


@router.get("/platforms/{platform}")
async def one_platform(
    platform: str, request: Request, mediation: MediationDep, _: Analyst,
    first: From = None, to: To = None, as_of: AsOf = None, min_position: MinPosition = None,
) -> PlatformStatisticsView:  # fmt: skip
    """One platform's entry, by its key (`amazon`, `fnac_darty`) or any name of it (`Amazon`)."""
    figures = await _figures(request, mediation, first, to, as_of, min_position)
    try:
        key = platform_key(platform)
    except InvalidValue:
        key = platform
    for entry in figures.platforms:
        if entry.platform in (platform, key):
            return PlatformStatisticsView(
                position=figures.position, as_of=figures.as_of, **entry.model_dump()
            )
    raise ProblemError("not-found", f"no case about the platform {platform!r} in this period")


@router.get("/annual/{year}")
async def annual_figures(
    year: int, request: Request, _: Analyst, min_position: MinPosition = None,
) -> AnnualStatisticsView:  # fmt: skip
    """P2B Art. 11(4)-style figures per platform for the cases reported in `year`."""
    if not 2000 <= year <= 2100:
        raise InvalidValue("year", "a year between 2000 and 2100", where="path")
    await read_model_at(request, min_position)
    view: CaseStatistics = request.app.state.runner.view(CaseStatistics.name)
    return await run_in_threadpool(_annual_figures, view, year)


def _annual_figures(view: CaseStatistics, year: int) -> AnnualStatisticsView:
    counters, position = view.counters(date(year, 1, 1), date(year, 12, 31), date.max)
    return AnnualStatisticsView.model_validate(
        {"position": position, "year": year, "platforms": annual(counters)}
    )


@router.get("/export.csv", response_class=Response)
async def export(
    request: Request, mediation: MediationDep, _: Analyst,
    first: From = None, to: To = None, as_of: AsOf = None, min_position: MinPosition = None,
    lang: Annotated[Literal["fr", "en"], Query(description="column headers")] = "en",
) -> Response:  # fmt: skip
    """One row per platform with its figures; headers in French or English."""
    figures = await _figures(request, mediation, first, to, as_of, min_position)
    out = io.StringIO()
    writer = csv.writer(out)
    index = 1 if lang == "fr" else 0
    writer.writerow([names[index] for names in COLUMNS.values()])
    for entry in figures.model_dump()["platforms"]:
        row = []
        for key in COLUMNS:
            value = entry["outcomes"].get(key, 0) if key in OUTCOMES else entry[key]
            if isinstance(value, dict):
                value = value["value"]
            row.append("" if value is None else value)
        writer.writerow(row)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="statistics.csv"',
            "X-Position": str(figures.position),
        },
    )
