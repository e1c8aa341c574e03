"""The request id without Serve: what is accepted, what error bodies and log records carry.

The app here stacks the middlewares as `create_app()` does (request id outermost), so an
error raised anywhere below it, the upload limit's 413 included, names the request.
"""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serve_app.request_id import (
    RequestIdMiddleware,
    current_request_id,
    install_log_tagging,
    request_id_from,
)
from serve_app.upload_limit import UploadLimitMiddleware
from tests.test_errors_unit import build_app

HEX_ID = re.compile(r"[0-9a-f]{32}")


def scope_with(value: bytes | None) -> dict:
    return {"type": "http", "headers": [] if value is None else [(b"x-request-id", value)]}


# --- which ids are taken -------------------------------------------------------------------------
@pytest.mark.parametrize("value", [b"abc-123", b"req_1.2:3", b"A" * 128])
def test_a_safe_client_id_is_kept(value):
    assert request_id_from(scope_with(value)) == value.decode()


@pytest.mark.parametrize("value", [b"", b"A" * 129, b"has space", b"100%", b"new\nline", b"quote\"d", "\u00e9".encode()])
def test_an_unsafe_client_id_is_replaced(value):
    replaced = request_id_from(scope_with(value))
    assert HEX_ID.fullmatch(replaced), replaced


def test_a_missing_id_is_new_each_time():
    first, second = request_id_from(scope_with(None)), request_id_from(scope_with(None))
    assert HEX_ID.fullmatch(first) and first != second


def test_the_header_name_is_case_insensitive():
    assert request_id_from({"headers": [(b"X-Request-ID", b"mixed-case")]}) == "mixed-case"


# --- error bodies ----------------------------------------------------------------------------------
def small_app() -> FastAPI:
    """test_errors_unit's app (the same failing routes) under create_app()'s middleware order."""
    app = build_app()

    @app.post("/api/upload")
    async def upload():
        return {}

    @app.get("/api/thread")
    async def in_a_thread():
        return {"seen": await asyncio.to_thread(current_request_id.get)}

    app.add_middleware(UploadLimitMiddleware, limit_bytes=10)
    app.add_middleware(RequestIdMiddleware)
    return app


@pytest.fixture(scope="module")
def client():
    with TestClient(small_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("path,status", [("/api/fail", 422), ("/v1/fail", 404), ("/api/crash", 500),
                                         ("/v1/crash", 500), ("/api/teapot", 418), ("/api/nope", 404)])
def test_error_bodies_carry_the_request_id(client, path, status):
    response = client.get(path, headers={"X-Request-Id": "trace-42"})
    assert response.status_code == status
    assert response.json()["error"]["request_id"] == "trace-42"


def test_the_413_of_the_upload_limit_carries_it_too(client):
    response = client.post("/api/upload", content=b"x" * 100, headers={"X-Request-Id": "big-1"})
    assert response.status_code == 413 and response.json()["error"]["request_id"] == "big-1"


def test_a_request_without_an_id_gets_a_fresh_one_in_its_error(client):
    ids = {client.get("/api/fail").json()["error"]["request_id"] for _ in range(3)}
    assert len(ids) == 3 and all(HEX_ID.fullmatch(i) for i in ids)


def test_the_id_reaches_threads_the_request_starts(client):
    assert client.get("/api/thread", headers={"X-Request-Id": "t-1"}).json() == {"seen": "t-1"}


def test_no_id_outside_a_request():
    assert current_request_id.get() is None


# --- log records ---------------------------------------------------------------------------------
class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def capture():
    install_log_tagging()
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_our_log_lines_during_a_request_end_with_its_id(capture):
    token = current_request_id.set("log-7")
    try:
        logging.getLogger("serve_app.services.lifecycle").warning("release of %s took %.1fs", ["m"], 2.0)
        logging.getLogger("deployments.asr").info("plain 100% message")
        logging.getLogger("some.library").info("not ours")
    finally:
        current_request_id.reset(token)
    logging.getLogger("serve_app.x").info("after the request")
    assert capture.lines == ["release of ['m'] took 2.0s [request_id=log-7]",
                             "plain 100% message [request_id=log-7]",
                             "not ours", "after the request"]


def test_installing_twice_tags_once(capture):
    install_log_tagging()
    token = current_request_id.set("once")
    try:
        logging.getLogger("serve_app.y").warning("hello")
    finally:
        current_request_id.reset(token)
    assert capture.lines == ["hello [request_id=once]"]
