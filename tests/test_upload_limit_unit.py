"""serve_app/upload_limit.py: 413 as soon as a body passes the limit, before or while it streams in."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI, File, UploadFile
from fastapi.testclient import TestClient

from serve_app.errors import install_error_handlers
from serve_app.upload_limit import UploadLimitMiddleware, too_large_body

LIMIT = 1000


class RecordingApp:
    """An ASGI app that reads the whole body, then answers 200 with how many bytes it saw."""

    def __init__(self) -> None:
        self.calls = 0
        self.bytes_seen = 0
        self.finished_reading = False

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        if scope["type"] == "http":
            more = True
            while more:
                message = await receive()
                self.bytes_seen += len(message.get("body", b""))
                more = message.get("more_body", False)
            self.finished_reading = True
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": str(self.bytes_seen).encode()})


def scope(method: str = "POST", path: str = "/api/transcribe", headers=(), root_path: str = "") -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": root_path, "headers": list(headers)}


def run(middleware, scope_, chunks: list[bytes]) -> tuple[list[dict], int]:
    """Drive the middleware with `chunks` as the body; (messages sent, receive calls made)."""
    sent: list[dict] = []
    pending = list(chunks)
    received = 0

    async def receive():
        nonlocal received
        received += 1
        body = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message):
        sent.append(message)

    asyncio.run(middleware(scope_, receive, send))
    return sent, received


def status_and_body(sent: list[dict]) -> tuple[int, bytes]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


# --- Content-Length ----------------------------------------------------------------------------


def test_declared_length_over_the_limit_is_refused_without_calling_the_app():
    app = RecordingApp()
    sent, received = run(UploadLimitMiddleware(app, LIMIT), scope(headers=[(b"content-length", b"1001")]),
                         [bytes(1001)])
    status, body = status_and_body(sent)
    assert status == 413 and app.calls == 0 and received == 0
    assert json.loads(body)["error"]["code"] == "file_too_large"


def test_413_headers_close_the_connection_and_give_the_length():
    sent, _ = run(UploadLimitMiddleware(RecordingApp(), LIMIT), scope(headers=[(b"content-length", b"5000")]), [])
    headers = dict(sent[0]["headers"])
    assert headers[b"connection"] == b"close"
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(status_and_body(sent)[1])


def test_body_of_exactly_the_limit_passes():
    app = RecordingApp()
    sent, _ = run(UploadLimitMiddleware(app, LIMIT), scope(headers=[(b"content-length", b"1000")]),
                  [bytes(600), bytes(400)])
    assert status_and_body(sent) == (200, b"1000")
    assert app.finished_reading


def test_a_lying_content_length_is_still_counted():
    """A small declared length does not let a bigger body through."""
    app = RecordingApp()
    sent, _ = run(UploadLimitMiddleware(app, LIMIT), scope(headers=[(b"content-length", b"10")]),
                  [bytes(800), bytes(800)])
    assert status_and_body(sent)[0] == 413
    assert not app.finished_reading


@pytest.mark.parametrize("value", [b"abc", b"-5", b""])
def test_a_malformed_content_length_falls_back_to_counting(value):
    app = RecordingApp()
    sent, _ = run(UploadLimitMiddleware(app, LIMIT), scope(headers=[(b"content-length", value)]), [bytes(100)])
    assert status_and_body(sent) == (200, b"100")


# --- bodies without a length (chunked) ---------------------------------------------------------


def test_chunked_body_is_cut_off_at_the_chunk_that_passes_the_limit():
    app = RecordingApp()
    chunks = [bytes(300)] * 10  # 3000 bytes; the 4th chunk passes 1000
    sent, received = run(UploadLimitMiddleware(app, LIMIT), scope(), chunks)
    status, body = status_and_body(sent)
    assert status == 413 and received == 4
    assert not app.finished_reading
    assert b"MB limit" in body


def test_chunked_body_under_the_limit_reaches_the_app_whole():
    app = RecordingApp()
    sent, received = run(UploadLimitMiddleware(app, LIMIT), scope(), [bytes(250)] * 4)
    assert status_and_body(sent) == (200, b"1000")
    assert received == 4


def test_only_one_response_is_sent_when_the_limit_trips():
    """The app's own error for the broken body is dropped; the client sees one 413."""
    class ErrorOnDisconnectApp:
        async def __call__(self, scope_, receive, send):
            try:
                while (await receive()).get("more_body"):
                    pass
            finally:
                await send({"type": "http.response.start", "status": 400, "headers": []})
                await send({"type": "http.response.body", "body": b"broken body"})

    sent, _ = run(UploadLimitMiddleware(ErrorOnDisconnectApp(), LIMIT), scope(), [bytes(700)] * 3)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [413]
    assert b"broken body" not in status_and_body(sent)[1]


def test_errors_of_the_app_that_are_not_about_size_propagate():
    class Broken:
        async def __call__(self, scope_, receive, send):
            raise RuntimeError("app bug")

    with pytest.raises(RuntimeError, match="app bug"):
        run(UploadLimitMiddleware(Broken(), LIMIT), scope(), [b"x"])


# --- what is checked ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_other_body_methods_are_limited_too(method):
    sent, _ = run(UploadLimitMiddleware(RecordingApp(), LIMIT), scope(method=method), [bytes(2000)])
    assert status_and_body(sent)[0] == 413


@pytest.mark.parametrize("method", ["GET", "DELETE", "OPTIONS"])
def test_methods_without_upload_pass_through(method):
    app = RecordingApp()
    sent, _ = run(UploadLimitMiddleware(app, LIMIT),
                  scope(method=method, headers=[(b"content-length", b"5000")]), [bytes(5000)])
    assert status_and_body(sent) == (200, b"5000")


def test_websocket_and_lifespan_scopes_pass_through():
    seen = []

    async def app(scope_, receive, send):
        seen.append(scope_["type"])

    middleware = UploadLimitMiddleware(app, LIMIT)
    for kind in ("websocket", "lifespan"):
        asyncio.run(middleware({"type": kind}, None, None))
    assert seen == ["websocket", "lifespan"]


# --- the body of the 413 -----------------------------------------------------------------------


def test_413_body_is_our_shape_with_the_limit_in_mb():
    body = json.loads(too_large_body(2 * 1024 * 1024, scope()))
    assert body == {"error": {"code": "file_too_large", "message": "The upload exceeds the 2 MB limit.",
                              "status": 413}}
    assert "0.5 MB" in json.loads(too_large_body(512 * 1024))["error"]["message"]


def test_413_under_v1_is_openai_shaped_also_below_a_route_prefix():
    sent, _ = run(UploadLimitMiddleware(RecordingApp(), LIMIT),
                  scope(path="/lc/v1/audio/transcriptions", root_path="/lc"), [bytes(5000)])
    error = json.loads(status_and_body(sent)[1])["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "file_too_large"


def test_a_custom_renderer_is_used():
    middleware = UploadLimitMiddleware(RecordingApp(), LIMIT, render=lambda scope_: b'{"too": "big"}')
    sent, _ = run(middleware, scope(), [bytes(5000)])
    assert status_and_body(sent) == (413, b'{"too": "big"}')


# --- on a real FastAPI app (multipart parsing) -------------------------------------------------


@pytest.fixture(scope="module")
def upload_client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/upload")
    async def upload(file: UploadFile = File(...)):
        return {"size": len(await file.read())}

    app.add_middleware(UploadLimitMiddleware, limit_bytes=64 * 1024)
    return TestClient(app)


def test_multipart_upload_under_the_limit_is_parsed(upload_client):
    response = upload_client.post("/upload", files={"file": ("a.wav", bytes(10_000))})
    assert response.json() == {"size": 10_000}


def test_multipart_upload_over_the_limit_is_413(upload_client):
    response = upload_client.post("/upload", files={"file": ("a.wav", bytes(100_000))})
    assert response.status_code == 413
    assert response.json()["error"]["status"] == 413


def test_streamed_multipart_without_length_over_the_limit_is_413(upload_client):
    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        for _ in range(64):
            yield bytes(4096)
        yield b"\r\n--b--\r\n"

    response = upload_client.post("/upload", content=chunks(),
                                  headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
