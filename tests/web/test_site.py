"""What every page shares: two languages, the layout's landmarks, the CSP, the CSRF check."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi import Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from infrastructure.settings import Settings
from interfaces.http.app import create_app
from interfaces.web.catalogues import LANGUAGES
from interfaces.web.catalogues import SOURCE_LANGUAGE
from interfaces.web.catalogues import untranslated
from interfaces.web.forms import CSRF_COOKIE
from interfaces.web.forms import checked_form
from interfaces.web.pages import SITE


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_every_message_of_the_pages_is_translated(language: str) -> None:
    missing = untranslated(language)
    assert not missing, (
        f"{len(missing)} messages lack their {language} translation: "
        "`python -m interfaces.web.catalogues` prints them as entries to fill in"
    )


def test_every_page_has_a_french_and_an_english_address() -> None:
    for name, addresses in SITE.items():
        assert addresses.en == "/en" or addresses.en.startswith("/en/"), name
        assert not addresses.fr.startswith("/en"), name
        assert re.findall(r"{\w+}", addresses.fr) == re.findall(r"{\w+}", addresses.en), name
    assert len({a.fr for a in SITE.values()}) == len(SITE)
    assert len({a.en for a in SITE.values()}) == len(SITE)


@pytest.mark.parametrize(
    ("path", "language", "heading"),
    [
        ("/", "fr", "Un problème avec une plateforme de vente en ligne\u00a0?"),
        ("/en", "en", "A problem with an online sales platform?"),
    ],
)
def test_the_home_page_speaks_its_language_with_the_layout_of_every_page(
    http: TestClient, path: str, language: str, heading: str
) -> None:
    page = http.get(path)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert f'<html lang="{language}">' in html
    assert re.findall(r"<h1>(.*?)</h1>", html) == [heading]
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in html
    assert 'class="skip-link" href="#main"' in html
    other = "/en" if language == "fr" else "/"
    assert f'href="{other}"' in html, "the language switch leads to the same page"


def test_pages_load_nothing_from_another_host(http: TestClient) -> None:
    page = http.get("/")
    policy = page.headers["content-security-policy"]

    assert "default-src 'none'" in policy
    assert "form-action 'self'" in policy
    assert "http" not in policy, "no other host is admitted"
    assert page.headers["referrer-policy"] == "same-origin", "else forms post with Origin: null"
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    stylesheet = http.get("/static/site.css")
    assert stylesheet.status_code == 200
    assert "url(" not in stylesheet.text


@pytest.fixture
def form_app(durable_settings: Settings) -> TestClient:
    """The real app with one more route that records what reaches it through `checked_form`."""
    app: FastAPI = create_app(durable_settings)
    received: list[str] = []

    async def post(request: Request) -> PlainTextResponse:
        form = await checked_form(request)
        received.append(str(form.get("what")))
        return PlainTextResponse("recorded")

    app.add_api_route("/test-form", post, methods=["POST"])
    app.state.received = received
    return TestClient(app, base_url="http://testserver")


def test_a_form_posted_with_its_token_passes(form_app: TestClient) -> None:
    with form_app as client:
        client.get("/")
        token = client.cookies[CSRF_COOKIE]
        answer = client.post("/test-form", data={"csrf": token, "what": "it"})

        assert answer.status_code == 200
        assert client.app.state.received == ["it"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "forgery",
    ["no token", "another token", "no cookie", "another origin"],
)
def test_a_forged_form_is_refused_and_records_nothing(form_app: TestClient, forgery: str) -> None:
    with form_app as client:
        client.get("/")
        token = client.cookies[CSRF_COOKIE]
        data = {"what": "it", "csrf": token}
        headers = {}
        if forgery == "no token":
            del data["csrf"]
        elif forgery == "another token":
            data["csrf"] = "x" * 43
        elif forgery == "no cookie":
            client.cookies.clear()
        else:
            headers["Origin"] = "https://attacker.example"
        answer = client.post("/test-form", data=data, headers=headers)

        assert answer.status_code == 403
        assert "Nothing was recorded" in answer.text or "Rien n'a été enregistré" in answer.text
        assert client.app.state.received == []  # type: ignore[attr-defined]


def test_the_csrf_cookie_is_http_only_and_strictly_same_site(http: TestClient) -> None:
    page = http.get("/")
    cookie = page.headers["set-cookie"]

    assert cookie.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie, "plain HTTP on loopback: a Secure cookie would never return"


def test_over_https_the_csrf_cookie_is_secure(durable_settings: Settings) -> None:
    with TestClient(create_app(durable_settings), base_url="https://testserver") as client:
        cookie = client.get("/").headers["set-cookie"]

    assert "Secure" in cookie


def test_french_puts_a_non_breaking_space_before_double_punctuation() -> None:
    """French typography: "ligne ?" never wraps its "?" onto a line of its own."""
    from babel.messages.pofile import read_po

    from interfaces.web.catalogues import catalogue_files

    wrong = []
    for path in catalogue_files("fr"):
        with path.open("rb") as po:
            for message in read_po(po, locale="fr"):
                texts = message.string if isinstance(message.string, tuple) else (message.string,)
                wrong += [f"{path.name}: {t!r}" for t in texts if re.search(r" [?!:;]", t or "")]
    assert not wrong, "use U+00A0 before ? ! : ; in French:\n" + "\n".join(wrong)
