"""The interactive documentation, /docs (Swagger UI) and /redoc (ReDoc), served offline.

Their scripts and styles are the bundles the fastapi-offline package installs, served by this
app: no CDN, so the pages work on a network without outbound access, and their
Content-Security-Policy admits nothing from another origin.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi import FastAPI
from fastapi import Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/assets"

router = APIRouter(include_in_schema=False)


def install_docs(app: FastAPI) -> None:
    """Serves /docs, /redoc and their assets; `app` is made with docs_url=redoc_url=None."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")
    app.include_router(router)


def inline_script_hashes(page: str) -> str:
    """The CSP sources admitting the page's inline scripts by their SHA-256, and no other."""
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
        for text in re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    )


def with_policy(page: HTMLResponse, styles: str) -> HTMLResponse:
    """The page with a CSP admitting this origin, the page's own inline script and `styles`."""
    scripts = inline_script_hashes(bytes(page.body).decode())
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {scripts}; {styles}; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return page


def in_english(page: HTMLResponse) -> HTMLResponse:
    """The page saying its language, as FastAPI's pages do not: the API is described in English,
    and a screen reader reads a page in the language it declares."""
    return HTMLResponse(bytes(page.body).decode().replace("<html>", '<html lang="en">', 1))


def addresses(request: Request) -> tuple[str, str]:
    """The contract's address and the assets' folder, under the app's root path."""
    root = request.scope.get("root_path", "")
    return f"{root}{request.app.openapi_url}", f"{root}{ASSETS_PATH}"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    contract, assets = addresses(request)
    page = get_swagger_ui_html(
        openapi_url=contract,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        # No validator badge: it would send the contract's address to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return with_policy(in_english(page), "style-src 'self'")


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    contract, assets = addresses(request)
    page = get_redoc_html(
        openapi_url=contract,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon.png",
        with_google_fonts=False,
    )
    # ReDoc writes <style> elements as it runs (styled-components: no nonce, no fixed hash),
    # and builds its search index in a worker made from a blob.
    return with_policy(in_english(page), "style-src 'self' 'unsafe-inline'; worker-src blob:")
