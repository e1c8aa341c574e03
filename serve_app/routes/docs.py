"""API docs that work offline: Swagger UI at /docs and ReDoc at /redoc, with every asset served here.

FastAPI's default pages load their JavaScript, CSS and favicon from a CDN and stay blank on a private
network. The assets come from the pinned `fastapi-offline` package (it ships swagger-ui-dist's bundle,
ReDoc's standalone bundle and a favicon): nothing is committed to this repository and nothing is fetched
at run time. `create_app` turns FastAPI's own pages off (`docs_url=None, redoc_url=None`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(str(files("fastapi_offline").joinpath("static")))
# Swagger UI's online validator badge would call validator.swagger.io: off, like every outside call.
SWAGGER_PARAMETERS = {"validatorUrl": None}
# Both pages may load only from this service: ReDoc's side menu shows Redocly's logo from
# cdn.redoc.ly, which the browser then never asks for. (The inline start-up scripts and styles, ReDoc's
# search worker from a blob: URL and data: images are part of the bundles.)
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' blob:; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")

router = APIRouter()


def _asset(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}{ASSETS_URL}/{name}"


def _openapi_url(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}{request.app.openapi_url}"


def _same_origin_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


@router.get(DOCS_URL, include_in_schema=False)
async def swagger_ui(request: Request) -> HTMLResponse:
    return _same_origin_only(get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        swagger_js_url=_asset(request, "swagger-ui-bundle.js"),
        swagger_css_url=_asset(request, "swagger-ui.css"),
        swagger_favicon_url=_asset(request, "favicon.png"),
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    ))


@router.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
async def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_URL, include_in_schema=False)
async def redoc(request: Request) -> HTMLResponse:
    return _same_origin_only(get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=_asset(request, "redoc.standalone.js"),
        redoc_favicon_url=_asset(request, "favicon.png"),
        with_google_fonts=False,
    ))


def mount_assets(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
