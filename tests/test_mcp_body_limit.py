"""MCP `audio_base64` up to the upload limit over streamable HTTP (the SDK alone stops at 4 MiB).

The real MCP server (`python -m serve_app.mcp_server`) with QWEN_ASR_MAX_UPLOAD_MB=5, in front of a
small stand-in for the service's /api/transcribe (the test stack's own upload limit is 2 MB); the
fastmcp `Client` sends ~5.3 MiB of base64 (a 130 s wav at 16 kHz), which the SDK's default refused.
"""

from __future__ import annotations

import base64
import io
import threading
import time
import wave
from typing import Self

import httpx
import pytest
import uvicorn
from fastmcp import Client
from fastmcp.exceptions import ToolError
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from serve_app.mcp_server import build_server, http_body_limit
from serve_app.settings import Settings
from tests.stack import free_port
from tests.test_mcp import McpProcess, mcp_env

UPLOAD_MB = 5
SR = 16_000


def wav_bytes(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(bytes(int(seconds * SR) * 2))
    return out.getvalue()


def test_body_limit_covers_the_upload_limit_as_base64():
    for mb in (0.5, 1, 5, 200):
        max_bytes = Settings(max_upload_mb=mb).max_upload_bytes
        limit = http_body_limit(max_bytes)
        assert limit >= DEFAULT_MAX_REQUEST_BODY_SIZE
        assert limit >= 4 * max_bytes / 3 * 1.05 + 64 * 1024  # base64 + line breaks + envelope
    assert http_body_limit(Settings().max_upload_bytes) < 2 * Settings().max_upload_bytes  # still bounded


async def test_the_http_app_takes_bodies_up_to_the_limit_in_process():
    settings = Settings(max_upload_mb=UPLOAD_MB, mcp_api_url="http://127.0.0.1:9", api_key="")
    app = build_server(settings).http_app(path="/mcp")
    async with app.router.lifespan_context(app):
        from serve_app.mcp_server import _session_managers

        managers = _session_managers(app)
        assert managers and all(m.max_request_body_size == http_body_limit(settings.max_upload_bytes)
                                for m in managers)
        assert all(m.asgi_app.max_body_size == http_body_limit(settings.max_upload_bytes) for m in managers)


class FakeService:
    """POST /api/transcribe that records the uploaded file's size and answers like the service."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.port = free_port()

        async def transcribe(request: Request) -> JSONResponse:
            form = await request.form()
            data = await form["file"].read()
            self.sizes.append(len(data))
            seconds = (len(data) - 44) / (2 * SR)
            return JSONResponse({"text": f"{len(data)} bytes", "language": "English", "model": "qwen3-asr-1.7b",
                                 "dtype": "float32", "timestamps": None, "duration_seconds": seconds,
                                 "process_time_seconds": 0.01, "load_time_seconds": 0.0, "rtf": 0.0})

        app = Starlette(routes=[Route("/api/transcribe", transcribe, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "fake service did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def mcp_big(tmp_path_factory):
    roots = tmp_path_factory.mktemp("mcp-big-roots")
    with FakeService() as service:
        env = mcp_env(roots, QWEN_ASR_MAX_UPLOAD_MB=str(UPLOAD_MB))
        server = McpProcess(f"http://127.0.0.1:{service.port}", env, tmp_path_factory.mktemp("log") / "mcp.log")
        try:
            yield server, service
        finally:
            server.stop()


async def test_five_mib_of_base64_goes_through(mcp_big):
    server, service = mcp_big
    audio = wav_bytes(130)
    encoded = base64.b64encode(audio).decode()
    assert len(encoded) > DEFAULT_MAX_REQUEST_BODY_SIZE * 1.25  # well past the SDK's 4 MiB
    async with Client(server.url, timeout=120) as client:
        result = await client.call_tool("transcribe", {"audio_base64": encoded})
    assert result.structured_content["text"] == f"{len(audio)} bytes"
    assert result.structured_content["duration_seconds"] == pytest.approx(130, abs=0.01)
    assert service.sizes[-1] == len(audio)


async def test_base64_with_line_breaks_near_the_limit_goes_through(mcp_big):
    server, _service = mcp_big
    audio = wav_bytes(UPLOAD_MB * 1024 * 1024 / (2 * SR) - 1)  # just under 5 MiB decoded
    encoded = base64.encodebytes(audio).decode()  # MIME: a line break every 76 characters
    async with Client(server.url, timeout=120) as client:
        result = await client.call_tool("transcribe", {"audio_base64": encoded})
    assert result.structured_content["text"] == f"{len(audio)} bytes"


async def test_over_the_upload_limit_is_a_clear_tool_error_not_a_413(mcp_big):
    server, service = mcp_big
    before = len(service.sizes)
    encoded = base64.b64encode(wav_bytes(170)).decode()  # 5.4 MB > 5 MiB
    async with Client(server.url, timeout=120) as client:
        with pytest.raises(ToolError) as refused:
            await client.call_tool("transcribe", {"audio_base64": encoded})
    message = str(refused.value)
    assert "upload limit" in message and f"{UPLOAD_MB} MB" in message and "QWEN_ASR_MAX_UPLOAD_MB" in message
    assert len(service.sizes) == before  # refused before anything was sent


def test_health_still_answers(mcp_big):
    server, _ = mcp_big
    assert httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=10).status_code == 200
