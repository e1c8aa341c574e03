"""/docs and /redoc work on a private network: every asset is served by the service itself.

FastAPI's default pages load Swagger UI / ReDoc and a favicon from a CDN, so they stay blank when
the network ends at the host. The unit tests read the pages' HTML; the browser test renders /docs
in Chromium with every request to another host aborted.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from serve_app.app import create_app
from serve_app.services.composition import build_services
from serve_app.settings import Settings
from tests.requirements_check import require_file, require_module
from tests.stack import AUTH_APP, MAIN_APP

CHROMIUM = "/usr/bin/chromium"
ASSET_REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(build_services(Settings(), None, None, None, None)))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_reference_only_local_assets(client, page):
    html = client.get(page).text
    references = ASSET_REFERENCE.findall(html)
    assert references, html
    assert all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    assert "cdn." not in html and "fonts.googleapis" not in html and "fastapi.tiangolo.com" not in html


def test_every_referenced_asset_is_served(client):
    for page in ("/docs", "/redoc"):
        for ref in ASSET_REFERENCE.findall(client.get(page).text):
            answer = client.get(ref)
            assert answer.status_code == 200, ref
            assert len(answer.content) > 1000, ref  # the real bundle, not an empty placeholder


def test_swagger_bundle_is_the_real_swagger_ui(client):
    bundle = client.get("/docs-assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
    assert "SwaggerUIBundle" in bundle.text


def test_the_online_validator_is_off(client):
    # Swagger UI would otherwise ask validator.swagger.io about the schema.
    assert '"validatorUrl": null' in client.get("/docs").text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_may_load_only_from_the_service(client, page):
    policy = client.get(page).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    for name in ("script-src", "style-src", "img-src", "connect-src"):
        assert "http" not in directives[name] and "*" not in directives[name], (name, directives[name])


def test_oauth2_redirect_page_is_served(client):
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_doc_pages_stay_out_of_the_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith(("/docs", "/redoc")) for p in paths)


# ----------------------------------------------------------------------------- Chromium, outside blocked
@pytest.fixture(scope="module")
def offline_browser():
    sync_api = require_module(
        "playwright.sync_api", "pip install -e '.[test]' (playwright is a test dependency in pyproject.toml)")
    require_file(CHROMIUM, "apt-get install chromium (Debian's package; `make apt` installs it)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def open_offline(browser, stack, path: str, app: str = MAIN_APP):
    """A page where any request to a host other than the service is aborted (and recorded)."""
    service = urlsplit(stack.base_url).netloc
    blocked: list[str] = []
    failed: list[str] = []
    context = browser.new_context()

    def gate(route):
        if urlsplit(route.request.url).netloc == service:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.goto(stack.url(path, app))
    return context, page, blocked, failed


@pytest.mark.parametrize("app", [MAIN_APP, AUTH_APP])  # AUTH_APP: under a route prefix and an API key
def test_swagger_ui_renders_operations_with_outside_hosts_blocked(offline_browser, stack, app):
    context, page, blocked, failed = open_offline(offline_browser, stack, "/docs", app)
    try:
        page.wait_for_selector(".opblock", timeout=60_000)
        paths = page.eval_on_selector_all(".opblock .opblock-summary-path", "els => els.map(e => e.dataset.path)")
        assert "/api/transcribe" in paths and "/health" in paths, paths
        assert page.title().endswith("Swagger UI")
        favicon = page.eval_on_selector("link[rel~='icon']", "l => l.href")
        assert urlsplit(favicon).netloc == urlsplit(stack.base_url).netloc
        assert blocked == [] and failed == [], (blocked, failed)
    finally:
        context.close()


def test_redoc_renders_operations_with_outside_hosts_blocked(offline_browser, stack):
    context, page, blocked, failed = open_offline(offline_browser, stack, "/redoc")
    try:
        page.wait_for_selector("[data-section-id^='tag/'], [data-section-id^='operation/']", timeout=60_000)
        assert "/api/transcribe" in page.inner_text("body")
        assert blocked == [], blocked
        # ReDoc's side menu points an <img> at cdn.redoc.ly: the page's policy refuses it in the browser,
        # so it is never sent (and the page does not wait for it)
        assert all(f.endswith(" csp") for f in failed), failed
    finally:
        context.close()
