"""GET /statistics…: the ministry's figures, from the statistics read model.

The routes are `async def` so that a `min_position` wait holds no thread (deps.read_model_at);
the figures themselves are read and computed in the thread pool."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated
from typing import Any

from fastapi import APIRouter
from fastapi import Path
from fastapi import Query
from fastapi import Request
from fastapi import Response
from fastapi.types import DecoratedCallable
from starlette.concurrency import run_in_threadpool

from application.case_statistics import CaseStatistics
from application.case_statistics import annual
from application.case_statistics import every_platform
from application.case_statistics import statistics
from domain.case import utc_today
from domain.errors import InvalidValue
from domain.platforms import platform_key
from interfaces.http.auth import AuthorizedRoute
from interfaces.http.deps import Analyst
from interfaces.http.deps import MediationDep
from interfaces.http.deps import MinPosition
from interfaces.http.deps import read_model_at
from interfaces.http.problems import READ_MODEL
from interfaces.http.problems import ProblemError
from interfaces.http.problems import answers
from interfaces.http.problems import header_docs
from interfaces.http.schemas import IsoDate
from interfaces.http.statistics_export import Language
from interfaces.http.statistics_export import Table
from interfaces.http.statistics_export import csv_text
from interfaces.http.statistics_export import file_name
from interfaces.http.statistics_views import AnnualStatisticsView
from interfaces.http.statistics_views import PlatformFiguresView
from interfaces.http.statistics_views import PlatformStatisticsView
from interfaces.http.statistics_views import StatisticsView

router = APIRouter(prefix="/statistics", tags=["statistics"], route_class=AuthorizedRoute)

From = Annotated[IsoDate | None, Query(alias="from", description="first day reported (UTC)")]
To = Annotated[IsoDate | None, Query(description="last day reported (UTC), inclusive")]
AsOf = Annotated[IsoDate | None, Query(description="decides what is silent; default today")]


def figures_route(
    path: str, *, summary: str, answer: str, problems: tuple[str, ...] = ()
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The GET of figures at `path`: it answers `answer` and the log position they reflect, or
    a read model's problems (READ_MODEL) and `problems`."""
    return router.get(
        path,
        summary=summary,
        response_description=f"{answer}, and the log position they reflect",
        responses=answers(*READ_MODEL, *problems),
    )


def _period(first: date | None, last: date | None) -> None:
    if first and last and first > last:
        raise InvalidValue("from", "from is after to", where="query")


async def period_figures(request: Request, mediation: Any, first: date | None,
                         last: date | None, as_of: date | None,
                         min_position: int | None) -> StatisticsView:  # fmt: skip
    """What GET /statistics answers for the period: the API and the dashboard read it here."""
    _period(first, last)
    await read_model_at(request, min_position)
    day = as_of or utc_today(mediation.clock.now())
    return await run_in_threadpool(read_figures, statistics_view(request), first, last, day)


def statistics_view(request: Request) -> CaseStatistics:
    """The statistics read model this process reads."""
    view: CaseStatistics = request.app.state.runner.view(CaseStatistics.name)
    return view


def read_figures(view: CaseStatistics, first: date | None, last: date | None,
                 day: date) -> StatisticsView:  # fmt: skip
    """The figures of the cases reported between the days, silence decided as of `day`."""
    counters, position = view.counters(first, last, day)
    return _view(counters, position, day)


def read_figures_and_whole(view: CaseStatistics, first: date | None, last: date | None,
                           day: date) -> tuple[StatisticsView, PlatformFiguresView]:  # fmt: skip
    """`read_figures`, and from the same counters every platform's taken together."""
    counters, position = view.counters(first, last, day)
    whole = PlatformFiguresView.model_validate(every_platform(counters, day))
    return _view(counters, position, day), whole


def _view(counters: list[tuple[str, str, int]], position: int, day: date) -> StatisticsView:
    return StatisticsView.model_validate({"position": position, **statistics(counters, day)})


@figures_route("", summary="Read the figures of a period", answer="The figures")
async def read_statistics(
    request: Request, mediation: MediationDep, _: Analyst,
    first: From = None, to: To = None, as_of: AsOf = None, min_position: MinPosition = None,
) -> StatisticsView:  # fmt: skip
    """The cases reported in the period (`from`, `to`; every case when left out): counts by
    status, platform and category, and per platform how (and whether) it answers: the share
    answered, answered on time, silent, escalated, and how long it takes."""
    return await period_figures(request, mediation, first, to, as_of, min_position)


@figures_route(
    "/platforms/{platform}",
    summary="Read one platform's figures",
    answer="The platform's figures",
    problems=("not-found",),
)
async def read_platform_statistics(
    platform: str, request: Request, mediation: MediationDep, _: Analyst,
    first: From = None, to: To = None, as_of: AsOf = None, min_position: MinPosition = None,
) -> PlatformStatisticsView:  # fmt: skip
    """One platform's figures for the period, the platform named by its key (`amazon`,
    `fnac_darty`) or any name of it (`Amazon`); 404 when no case of the period is about it."""
    figures = await period_figures(request, mediation, first, to, as_of, min_position)
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


@figures_route(
    "/annual/{year}",
    summary="Read a year's figures per platform",
    answer="The year's figures per platform",
)
async def read_annual_statistics(
    year: Annotated[int, Path(ge=2000, le=2100)], request: Request, _: Analyst,
    min_position: MinPosition = None,
) -> AnnualStatisticsView:  # fmt: skip
    """P2B Art. 11(4)-style figures per platform for the cases reported in `year`: how many,
    their three main categories, the average days to an outcome, and the outcomes."""
    await read_model_at(request, min_position)
    return await run_in_threadpool(annual_figures, statistics_view(request), year)


def annual_figures(view: CaseStatistics, year: int) -> AnnualStatisticsView:
    """The P2B Art. 11(4)-style figures per platform of the cases reported in `year`."""
    counters, position = view.counters(date(year, 1, 1), date(year, 12, 31), date.max)
    return AnnualStatisticsView.model_validate(
        {"position": position, "year": year, "platforms": annual(counters)}
    )


@router.get(
    "/export.csv",
    response_class=Response,
    summary="Download the figures as CSV",
    responses={
        200: {
            "description": "The figures as a CSV file",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            **header_docs(
                {
                    "Content-Disposition": "the file's name, with the table and the period",
                    "X-Position": "the event log position the figures reflect",
                }
            ),
        },
        **answers(*READ_MODEL),
    },
)
async def export_statistics(
    request: Request, mediation: MediationDep, _: Analyst,
    first: From = None, to: To = None, as_of: AsOf = None, min_position: MinPosition = None,
    lang: Annotated[Language, Query(description="`fr`: `;`, decimal comma, BOM")] = "en",
    table: Annotated[Table, Query(description="one row per platform, or cases per platform "
                                              "and category")] = Table.PLATFORMS,
) -> Response:  # fmt: skip
    """The figures of `GET /statistics` as a CSV file, one file per table (a row per platform,
    or the cases per platform and category); `lang=fr` writes it for a French spreadsheet
    (`;`, decimal comma, a byte order mark, French headers)."""
    figures = await period_figures(request, mediation, first, to, as_of, min_position)
    return await csv_download(request, mediation, figures, first, to, lang, table)


async def csv_download(request: Request, mediation: Any, figures: StatisticsView,
                       first: date | None, to: date | None, lang: Language, table: Table,
                       platforms: list[PlatformFiguresView] | None = None) -> Response:  # fmt: skip
    """The CSV file of `figures` (of the period `first`..`to`), of their `platforms` if given:
    the API's export and the dashboard's download."""
    today = utc_today(mediation.clock.now())
    last = to or today
    if first is None:
        reported: date | None = await run_in_threadpool(statistics_view(request).first_reported_on)
        first = min(reported or last, last)
    rows = figures.platforms if platforms is None else platforms
    return Response(
        csv_text(table, lang, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{file_name(table, lang, first, last)}"',
            "X-Position": str(figures.position),
        },
    )
