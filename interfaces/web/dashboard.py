"""The ministry's dashboard: the figures of GET /statistics as pages, charts and tables.

Every figure is read through the statistics routes' own functions (interfaces.http.statistics:
the same read model, the same computation, the same period), so the page and the API cannot
disagree. The filters are a GET form, so that a view is a link to share. The read model keeps
its counters by platform or by category, not by both with every figure (docs/domain.md): a
category chosen narrows the cases reported, the cases per month and the categories' tables;
how the platforms answer stays the figure of every category, and the page says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from typing import Annotated

from babel.dates import format_date
from fastapi import APIRouter
from fastapi import Depends
from fastapi import Request
from fastapi import Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from application.access import Role
from application.case_statistics import UNQUALIFIED
from application.case_statistics import CaseStatistics
from domain.case import utc_today
from domain.platforms import display_name
from domain.values import CATEGORY_LABELS
from domain.values import Category
from domain.values import Outcome
from interfaces.http.statistics import annual_figures
from interfaces.http.statistics import csv_download
from interfaces.http.statistics import read_figures
from interfaces.http.statistics import read_figures_and_whole
from interfaces.http.statistics import statistics_view
from interfaces.http.statistics_export import Table
from interfaces.http.statistics_views import AnnualStatisticsView
from interfaces.http.statistics_views import CategoryFiguresView
from interfaces.http.statistics_views import PlatformFiguresView
from interfaces.http.statistics_views import StatisticsView
from interfaces.web import charts
from interfaces.web.console_pages import HOMES
from interfaces.web.console_pages import Home
from interfaces.web.console_pages import console_page
from interfaces.web.page_errors import PageRoute
from interfaces.web.pages import language
from interfaces.web.pages import page
from interfaces.web.staff import StaffMember
from interfaces.web.staff import require_staff

router = APIRouter(route_class=PageRoute)

FEW_CASES = 10
"""A rate over fewer cases than this is shown as its counts, with a note."""
MONTHS = 12
SERIES_SHOWN = 5
"""The categories a stacked bar shows one by one; the others are shown together."""


READERS = require_staff(Role.ANALYST, Role.CASEWORKER)
"""Who reads the dashboard: the ministry's analysts and the caseworkers."""
Reader = Annotated[StaffMember, Depends(READERS)]


@dataclass(frozen=True)
class Filters:
    """What the filter bar asks for: the days reported, a platform, a category."""

    first: date | None = None
    last: date | None = None
    platform: str = ""
    category: str = ""

    def query(self) -> dict[str, str]:
        """The filters as the form sends them (and as the API reads the period)."""
        found = {
            "from": self.first.isoformat() if self.first else "",
            "to": self.last.isoformat() if self.last else "",
            "platform": self.platform,
            "category": self.category,
        }
        return {name: value for name, value in found.items() if value}

    def shows(self, entry: PlatformFiguresView) -> bool:
        """Whether the platform of `entry` is among those shown."""
        return not self.platform or entry.platform == self.platform


CATEGORY_KEYS = [c.value for c in Category] + [UNQUALIFIED]


def category_name(key: str, lang: str) -> str:
    """A category's words in the page's language (the domain's labels)."""
    try:
        french, english = CATEGORY_LABELS[Category(key)]
    except ValueError:
        french, english = "Non qualifié", "Not qualified yet"
    return french if lang == "fr" else english


def _day(request: Request, name: str, errors: dict[str, str]) -> date | None:
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    errors[name] = "date"
    return None


def read_filters(request: Request) -> tuple[Filters, dict[str, str]]:
    """The filters of the query, and what is wrong with them (field → kind of error)."""
    errors: dict[str, str] = {}
    first, last = _day(request, "from", errors), _day(request, "to", errors)
    if first and last and first > last:
        errors["to"] = "order"
    category = request.query_params.get("category", "")
    if category and category not in CATEGORY_KEYS:
        errors["category"] = "unknown"
        category = ""
    platform = request.query_params.get("platform", "").strip()
    return Filters(first, last, platform, category), errors


@dataclass
class Selection:
    """The figures the filters select, read from one reading of the read model."""

    filters: Filters
    figures: StatisticsView  # of the period, every platform and category
    whole: PlatformFiguresView | None  # the headline's: the platform chosen or every one
    platforms: list[PlatformFiguresView]  # the platforms shown
    categories: list[CategoryFiguresView]  # the categories shown
    months: list[tuple[date, int]] = field(default_factory=list)

    def cases_of(self, figures: StatisticsView) -> int:
        """The cases of `figures` the filters select (a category and a platform at once are
        in the read model: categories by platform)."""
        platform, category = self.filters.platform, self.filters.category
        if category:
            entry = next((c for c in figures.categories if c.category == category), None)
            if entry is None:
                return 0
            return entry.by_platform.get(platform, 0) if platform else entry.cases
        if platform:
            return next((p.cases for p in figures.platforms if p.platform == platform), 0)
        return figures.totals.reported

    @property
    def reported(self) -> int:
        return self.cases_of(self.figures)

    @property
    def resolved(self) -> int:
        return self.whole.by_status.get("resolved", 0) if self.whole else 0

    @property
    def silence(self) -> list[PlatformFiguresView]:
        """The platforms with cases sent, the highest silence rate first (the rates over too
        few cases after the others)."""
        sent = [p for p in self.platforms if p.sent]
        return sorted(
            sent,
            key=lambda p: (p.sent < FEW_CASES, -(p.silence_rate.value or 0), p.platform),
        )

    def series(self) -> list[str]:
        """The categories the stacked bars show one by one, the largest first."""
        return [c.category for c in self.categories[:SERIES_SHOWN]]

    def stacks(self) -> list[tuple[PlatformFiguresView, list[int]]]:
        """Per platform shown, its cases in each series, then in the other categories."""
        series = self.series()
        rows = []
        for entry in self.platforms:
            counts = [entry.by_category.get(c, 0) for c in series]
            if self.more_categories:
                counts.append(entry.cases - sum(counts))
            rows.append((entry, counts))
        return rows

    @property
    def more_categories(self) -> bool:
        return not self.filters.category and len(self.categories) > SERIES_SHOWN

    def outcomes(self) -> list[tuple[str, int]]:
        counts = self.whole.outcomes if self.whole else {}
        return [(o.value, counts.get(o.value, 0)) for o in Outcome]


def _months_before(last: date) -> list[tuple[date, date]]:
    """The last MONTHS months up to `last`'s, as (first day, last day), oldest first."""
    spans = []
    start = last.replace(day=1)
    for _ in range(MONTHS):
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        spans.append((start, end))
        start = (start - timedelta(days=1)).replace(day=1)
    return spans[::-1]


def select(view: CaseStatistics, filters: Filters, today: date) -> Selection:
    """Read the figures of the filters' period as GET /statistics does, and each month's."""
    figures, every = read_figures_and_whole(view, filters.first, filters.last, today)
    platforms = [p for p in figures.platforms if filters.shows(p)]
    whole = (platforms[0] if platforms else None) if filters.platform else every
    categories = [
        c for c in figures.categories if c.category == filters.category or not filters.category
    ]
    chosen = Selection(filters, figures, whole, platforms, categories)
    for first, last in _months_before(filters.last or today):
        chosen.months.append((first, chosen.cases_of(read_figures(view, first, last, today))))
    return chosen


def _home_elsewhere(member: StaffMember) -> Home | None:
    """The member's home for the menu of a dashboard's page, which names the dashboard's pages
    itself: only a home elsewhere (a caseworker's queues)."""
    home = HOMES.get(member.role)
    return home if home is not None and home.page != "dashboard" else None


def _today(request: Request) -> date:
    return utc_today(request.app.state.mediation.clock.now())


@page(router, "dashboard")
async def dashboard(request: Request, member: Reader) -> HTMLResponse:
    """The figures of the filters' view: headline, charts and their tables."""
    filters, errors = read_filters(request)
    today = _today(request)
    choices = await run_in_threadpool(read_figures, statistics_view(request), None, None, today)
    chosen = None
    if not errors:
        chosen = await run_in_threadpool(select, statistics_view(request), filters, today)
    lang = language(request)
    return console_page(
        request,
        "dashboard.html",
        member,
        {
            "home": _home_elsewhere(member),
            "filters": filters,
            "errors": errors,
            "chosen": chosen,
            "platform_choices": [(p.platform, display_name(p.platform)) for p in choices.platforms],
            "category_choices": [(key, category_name(key, lang)) for key in CATEGORY_KEYS],
            "category_name": lambda key: category_name(key, lang),
            "platform_name": display_name,
            "charts": charts,
            "month_name": lambda month, pattern="MMM yy": format_date(month, pattern, locale=lang),
            "few_cases": FEW_CASES,
        },
        status_code=422 if errors else 200,
    )


@page(router, "dashboard_csv")
async def dashboard_csv(request: Request, member: Reader) -> Response:
    """The API's CSV export of the filters' period (and platform), for a signed-in member."""
    filters, errors = read_filters(request)
    if errors:
        page: Response = await dashboard(request, member)
        return page
    table = (
        Table.PLATFORM_CATEGORY
        if request.query_params.get("table") == "platform-category"
        else Table.PLATFORMS
    )
    figures = await run_in_threadpool(
        read_figures, statistics_view(request), filters.first, filters.last, _today(request)
    )
    shown = [p for p in figures.platforms if filters.shows(p)]
    lang = language(request)
    return await csv_download(
        request, request.app.state.mediation, figures, filters.first, filters.last,
        "fr" if lang == "fr" else "en", table, shown,
    )  # fmt: skip


def _years(view: CaseStatistics, today: date) -> list[int]:
    """The years a case was reported in, at most: from the first one's to this one, latest
    first."""
    first = view.first_reported_on()
    return list(range(today.year, (first or today).year - 1, -1))


@page(router, "annual_report")
async def annual_report(request: Request, member: Reader) -> HTMLResponse:
    """The P2B Art. 11(4)-style table of a year (`year`, this year by default), per platform."""
    today = _today(request)
    view = statistics_view(request)
    years = await run_in_threadpool(_years, view, today)
    asked = request.query_params.get("year", "")
    year = int(asked) if asked.isdigit() and 2000 <= int(asked) <= 2100 else years[0]
    years = sorted({*years, year}, reverse=True)  # a year asked for is always in the selector
    report: AnnualStatisticsView = await run_in_threadpool(annual_figures, view, year)
    lang = language(request)
    return console_page(
        request,
        "annual_report.html",
        member,
        {
            "home": _home_elsewhere(member),
            "year": year,
            "years": years,
            "report": report,
            "outcome_keys": [o.value for o in Outcome],
            "category_name": lambda key: category_name(key, lang),
            "platform_name": display_name,
        },
    )
