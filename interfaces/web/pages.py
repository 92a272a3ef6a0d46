"""What every page shares: its two addresses (French, English), its language, its rendering.

A page is registered with `page(router, name, fr=..., en=...)`: one function serves both
addresses, and reads its language from the address it was asked at (`language(request)`).
Templates name pages, never paths: `url("report")` is `/signaler` on a French page and
`/en/report` on an English one, and the language switch leads to the same page in the other.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.numbers import format_percent
from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import select_autoescape

from interfaces.web.catalogues import LANGUAGES
from interfaces.web.catalogues import translations
from interfaces.web.forms import csrf_token
from interfaces.web.forms import keep_csrf_cookie

TEMPLATES = Path(__file__).with_name("templates")
STATIC_PATH = "/static"
ENGLISH_PREFIX = "/en"
SHOWN_IN = ZoneInfo("Europe/Paris")
"""Instants are recorded in UTC and shown in the service's own time zone."""

# Nothing from another host, ever: styles, scripts and images come from this origin only, and
# forms post only to it.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Addresses:
    """A page's path in each language (FastAPI's path syntax: `/suivi/{code}`)."""

    fr: str
    en: str

    def in_language(self, language: str) -> str:
        return self.en if language == "en" else self.fr


SITE: dict[str, Addresses] = {
    # The public pages, for businesses.
    "home": Addresses("/", "/en"),
    "report": Addresses("/signaler", "/en/report"),
    "receipt": Addresses("/signaler/recu", "/en/report/receipt"),
    "track_form": Addresses("/suivi", "/en/track"),
    "track": Addresses("/suivi/{code}", "/en/track/{code}"),
    # The staff console.
    "console": Addresses("/console", "/en/console"),
    "sign_in": Addresses("/console/connexion", "/en/console/sign-in"),
    "sign_out": Addresses("/console/deconnexion", "/en/console/sign-out"),
    "case": Addresses("/console/dossiers/{case_id}", "/en/console/cases/{case_id}"),
    # The staff console: the auditor's, the platforms' and the data protection officer's pages.
    "audit_home": Addresses("/console/audit", "/en/console/audit"),
    "audit_accounts": Addresses("/console/audit/comptes", "/en/console/audit/accounts"),
    "audit_case": Addresses(
        "/console/audit/dossiers/{case_id}", "/en/console/audit/cases/{case_id}"
    ),
    "audit_dossier": Addresses(
        "/console/audit/dossiers/{case_id}/dossier.json",
        "/en/console/audit/cases/{case_id}/dossier.json",
    ),
    "audit_print": Addresses(
        "/console/audit/dossiers/{case_id}/imprimer", "/en/console/audit/cases/{case_id}/print"
    ),
    "platform_home": Addresses("/console/plateforme", "/en/console/platform"),
    "platform_case": Addresses(
        "/console/plateforme/dossiers/{case_id}", "/en/console/platform/cases/{case_id}"
    ),
    "dpo_home": Addresses("/console/donnees-personnelles", "/en/console/personal-data"),
    "erasure": Addresses(
        "/console/donnees-personnelles/dossiers/{case_id}",
        "/en/console/personal-data/cases/{case_id}",
    ),
    # The ministry's dashboard.
    "dashboard": Addresses("/tableau-de-bord", "/en/dashboard"),
    "annual_report": Addresses("/tableau-de-bord/rapport-annuel", "/en/dashboard/annual-report"),
    "dashboard_csv": Addresses("/tableau-de-bord/export.csv", "/en/dashboard/export.csv"),
}
"""Every page of the site by name: its French and English paths. Templates and redirects name
pages; only this table knows their paths."""


def page(
    router: APIRouter, name: str, *, methods: tuple[str, ...] = ("GET",)
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serves the decorated function at the French and English paths of the page `name`."""
    addresses = SITE[name]

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        for path in (addresses.fr, addresses.en):
            router.add_api_route(
                path,
                endpoint,
                methods=list(methods),
                name=name,
                response_class=HTMLResponse,
                include_in_schema=False,
            )
        return endpoint

    return register


def language(request: Request) -> str:
    """The page's language: English under /en/, French everywhere else."""
    path: str = request.scope["path"]
    return "en" if path == ENGLISH_PREFIX or path.startswith(ENGLISH_PREFIX + "/") else "fr"


def url(name: str, language: str, query: Mapping[str, str] | None = None, **params: Any) -> str:
    """The path of the page `name` in `language`, its parameters filled in."""
    path = SITE[name].in_language(language).format(**params)
    if query:
        path += "?" + urlencode(query)
    return path


def switched(request: Request) -> str:
    """The page being shown, in the other language (with its query): the language switch."""
    other = "fr" if language(request) == "en" else "en"
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    if name not in SITE:
        return url("home", other)
    path = url(name, other, **request.path_params)
    return f"{path}?{request.url.query}" if request.url.query else path


def _environment(language: str) -> Environment:
    """The templates in `language`: its catalogue installed, and its way of writing dates and
    numbers as filters (`day`, `moment`, `number`, `percent`)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "svg")),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language), newstyle=True
    )

    def day(when: date | None) -> str:
        return format_date(when, format="long", locale=language) if when else ""

    def moment(when: datetime | None) -> str:
        return (
            format_datetime(when, format="d MMM y, HH:mm", tzinfo=SHOWN_IN, locale=language)
            if when
            else ""
        )

    environment.filters["day"] = day
    environment.filters["moment"] = moment
    environment.filters["number"] = lambda n: format_decimal(n, locale=language)
    environment.filters["percent"] = lambda n: format_percent(n, locale=language)
    return environment


ENVIRONMENTS = {lang: _environment(lang) for lang in LANGUAGES}


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The page `template` in the request's language, with the site's CSP and a CSRF token for
    its forms (`csrf` in the template)."""
    lang = language(request)
    token, fresh = csrf_token(request)
    html = (
        ENVIRONMENTS[lang]
        .get_template(template)
        .render(
            request=request,
            lang=lang,
            url=lambda name, query=None, **params: url(name, lang, query, **params),
            switch_url=switched(request),
            static=lambda file: f"{STATIC_PATH}/{file}",
            csrf=token,
            **(context or {}),
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    # The API's no-referrer would make the browser post this page's forms with `Origin: null`,
    # which the CSRF check refuses; same-origin still gives no other host the page's address.
    response.headers["Referrer-Policy"] = "same-origin"
    if fresh:
        keep_csrf_cookie(request, response, token)
    return response
