"""The MCP server `qwen3-asr`: speech recognition tools for AI agents.

It holds no model. Every tool calls the running service's HTTP API (`mcp_backend`), so the
models, dynamic batching, lazy loading and idle unload of the Serve graph are shared with the
web UI and the REST API, and the same code serves two transports:

    python -m serve_app.mcp_server                     # streamable HTTP on 127.0.0.1:8201/mcp
    qwen3-asr-mcp --stdio --api-url http://gpu-box:8200  # stdio, for a desktop agent elsewhere

Local files are read only inside the configured roots (`mcp_paths`); agents on other hosts send
`audio_base64`. When `QWEN_ASR_API_KEY` is set, the HTTP transport requires it as a Bearer token,
and the server sends it on to the service.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hmac
import logging
import math
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.auth import AccessToken, TokenVerifier
from fastmcp.server.http import StreamableHTTPASGIApp
from fastmcp.server.lifespan import lifespan
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from serve_app.mcp_backend import ServiceClient
from serve_app.mcp_paths import PathRefused, open_regular_file, resolve_audio_path
from serve_app.protocol import TranscriptionResponse
from serve_app.settings import DEFAULT_MAX_CONTEXT_CHARS, Settings, get_settings
from serve_app.version import __version__

logger = logging.getLogger("qwen3-asr.mcp")

SERVER_NAME = "qwen3-asr"
MCP_PATH = "/mcp"
BASE64_FILENAME = "audio"
ENVELOPE_BYTES = 1024 * 1024   # JSON-RPC envelope, the other arguments (context), JSON escapes


def http_body_limit(max_upload_bytes: int) -> int:
    """Largest streamable-HTTP request body: a `transcribe` call carrying `max_upload_bytes` of audio.

    The MCP SDK refuses bodies over 4 MiB with a bare 413 (about 95 s of 16 kHz wav as base64),
    and FastMCP does not pass its `max_request_body_size` on; `McpServer.http_app` raises it to
    this: base64 (x 4/3), 1/16 more for line breaks (MIME base64 wraps every 76 characters, and
    JSON escapes each break), plus the envelope. Never below the SDK's default."""
    base64_chars = 4 * math.ceil(max_upload_bytes / 3)
    return max(DEFAULT_MAX_REQUEST_BODY_SIZE, base64_chars + base64_chars // 16 + ENVELOPE_BYTES)


def _session_managers(app) -> list:
    """The streamable-HTTP session managers behind `app`'s routes (the endpoint may sit inside auth)."""
    found = []
    for route in getattr(app, "routes", []):
        endpoint, hops = getattr(route, "endpoint", None), 0
        while endpoint is not None and hops < 8:
            if isinstance(endpoint, StreamableHTTPASGIApp):
                if endpoint.session_manager is not None:
                    found.append(endpoint.session_manager)
                break
            endpoint, hops = getattr(endpoint, "app", None), hops + 1
    return found


class McpServer(FastMCP):
    """FastMCP whose HTTP transport takes request bodies up to `max_body_bytes` (see http_body_limit)."""

    def __init__(self, *args: Any, max_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_body_bytes = max_body_bytes

    def http_app(self, *args: Any, **kwargs: Any):
        app = super().http_app(*args, **kwargs)
        inner = app.router.lifespan_context  # creates the session manager (with the SDK's 4 MiB limit)
        limit = self.max_body_bytes

        @asynccontextmanager
        async def raised_body_limit(starlette_app):
            async with inner(starlette_app) as state:
                managers = _session_managers(starlette_app)
                for manager in managers:
                    manager.max_request_body_size = limit
                    body_guard = getattr(manager, "asgi_app", None)  # mcp's RequestBodyLimitMiddleware
                    if hasattr(body_guard, "max_body_size"):
                        body_guard.max_body_size = limit
                if not managers:
                    logger.warning("could not raise the MCP request body limit: audio_base64 stops at %.0f MiB",
                                   DEFAULT_MAX_REQUEST_BODY_SIZE / (1024 * 1024))
                yield state

        app.router.lifespan_context = raised_body_limit
        return app

INSTRUCTIONS = """\
Speech recognition with Qwen3-ASR (52 languages and Chinese dialects, plus auto-detection).
Call `transcribe` with either `audio_path` (a file inside the server's audio folders) or
`audio_base64` (the file's bytes, base64-encoded, for audio that lives elsewhere); any common
format works (wav, flac, mp3, ogg/opus, m4a/aac, webm). `get_languages` lists the accepted
`language` values, `get_status` shows GPU memory and which models are loaded, and `gpu_offload`
frees GPU memory now (the next transcription reloads the model automatically)."""


class ApiKeyVerifier(TokenVerifier):
    """Accepts exactly one shared token (the service's API key), compared in constant time."""

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self._key = api_key.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if token and hmac.compare_digest(token.encode(), self._key):
            return AccessToken(token=token, client_id="api-key", scopes=[])
        return None


def decode_audio_base64(data: str, max_bytes: int) -> bytes:
    """The bytes of `audio_base64` (plain, URL-safe or a `data:` URL), refused past `max_bytes`."""
    text = data.strip()
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or ";base64" not in header:
            raise ToolError("audio_base64 is a data: URL that is not base64-encoded (expected 'data:...;base64,...').")
    text = "".join(text.split())
    if not text:
        raise ToolError("audio_base64 is empty: give the audio file's bytes, base64-encoded.")
    if len(text) > 4 * math.ceil(max_bytes / 3) + 4:
        raise ToolError(f"audio_base64 holds {len(text) * 3 // 4 / (1024 * 1024):.1f} MB of audio, more than the "
                        f"{max_bytes / (1024 * 1024):g} MB upload limit (QWEN_ASR_MAX_UPLOAD_MB).")
    text += "=" * (-len(text) % 4)
    try:
        altchars = b"-_" if ("-" in text or "_" in text) else None
        payload = base64.b64decode(text, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise ToolError("audio_base64 is not valid base64.") from None
    if not payload:
        raise ToolError("audio_base64 decodes to no bytes at all.")
    if len(payload) > max_bytes:
        raise ToolError(f"The decoded audio is {len(payload) / (1024 * 1024):.1f} MB; "
                        f"the limit is {max_bytes / (1024 * 1024):g} MB.")
    return payload


def build_server(settings: Settings | None = None, api_url: str | None = None,
                 http_auth: bool = True) -> FastMCP:
    """The FastMCP server with its four tools, talking to the service at `api_url`."""
    settings = settings or get_settings()
    backend = ServiceClient(api_url or settings.mcp_api_url, settings.api_key_value, settings.mcp_timeout_s)
    roots = settings.mcp_root_paths()
    max_bytes = settings.max_upload_bytes

    @lifespan
    async def close_backend(_server: FastMCP) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await backend.aclose()

    mcp = McpServer(
        SERVER_NAME,
        max_body_bytes=http_body_limit(max_bytes),
        instructions=INSTRUCTIONS,
        version=__version__,
        auth=ApiKeyVerifier(settings.api_key_value) if (http_auth and settings.api_key_value) else None,
        lifespan=close_backend,
        mask_error_details=True,
    )

    @mcp.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "server": SERVER_NAME, "version": __version__})

    @mcp.tool
    async def transcribe(
        audio_path: Annotated[str | None, Field(
            description="Path of an audio file inside the server's audio folders: relative to such a folder, "
                        "or absolute. Give this or audio_base64, not both.")] = None,
        language: Annotated[str, Field(
            description="'auto' (detect), a code such as 'en', 'zh', 'ja', 'zh-sichuan', or an English "
                        "name such as 'Japanese'; see get_languages.")] = "auto",
        model: Annotated[str, Field(
            description="'qwen3-asr-1.7b' (best quality) or 'qwen3-asr-0.6b' (faster, less memory).")]
            = "qwen3-asr-1.7b",
        return_timestamps: Annotated[bool, Field(
            description="Also return word (or, for Chinese/Japanese, character) start/end times in seconds, "
                        "from the forced aligner (11 languages).")] = False,
        audio_base64: Annotated[str | None, Field(
            description="The audio file's bytes, base64-encoded (a data: URL also works), for audio that is "
                        "not on the server. Give this or audio_path, not both.")] = None,
        context: Annotated[str | None, Field(
            description="Optional text that biases recognition: names, terms, topic "
                        f"(at most {DEFAULT_MAX_CONTEXT_CHARS} characters by default).")]
            = None,
    ) -> TranscriptionResponse:
        """Transcribe speech in an audio file to text.

        Exactly one of `audio_path` (a file inside the server's audio folders) or `audio_base64`
        (the file itself, base64-encoded) must be given. Returns the text, the language the
        model reports (or the one forced), the model and dtype used, word timestamps when asked
        for (else null), the audio duration, processing and model-loading times in seconds, and
        the real-time factor. A model that is not loaded is loaded first (load_time_seconds > 0).
        """
        has_path = audio_path not in (None, "")
        has_b64 = audio_base64 not in (None, "")
        if has_path == has_b64:
            raise ToolError("Give exactly one of audio_path (a file inside the server's audio folders) "
                            "or audio_base64 (the audio file, base64-encoded)"
                            + (", not both." if has_path else "."))
        if has_path:
            try:
                path = resolve_audio_path(audio_path, roots)
                handle = open_regular_file(path, max_bytes)
            except PathRefused as refused:
                raise ToolError(f"Cannot read audio_path: {refused.message}") from None
            with handle:
                body = await backend.transcribe(path.name, handle, language=language, model=model,
                                                return_timestamps=return_timestamps, context=context)
        else:
            payload = await asyncio.to_thread(decode_audio_base64, audio_base64, max_bytes)
            body = await backend.transcribe(BASE64_FILENAME, payload, language=language, model=model,
                                            return_timestamps=return_timestamps, context=context)
        try:
            return TranscriptionResponse.model_validate(body)
        except ValidationError:
            logger.exception("unexpected /api/transcribe answer")
            raise ToolError("The ASR service answered /api/transcribe with an unexpected document.") from None

    @mcp.tool
    async def get_status() -> dict[str, Any]:
        """The service's status, as GET /api/status: version; GPU (name, memory total/used/free,
        utilisation, the service's own memory); each model's state (not_loaded, loading, loaded,
        releasing), replicas, load time, idle time and seconds until idle unload; the request
        queue; the configuration (idle timeout, batching, limits, default model); and the
        language list."""
        return await backend.status()

    @mcp.tool
    async def get_languages() -> list[dict[str, Any]]:
        """The languages `transcribe` accepts, as GET /api/languages: 'auto' first, then 52 entries
        (30 languages and 22 Chinese dialects), each with its code, English and native name, group
        (auto, common, dialect, other), whether the forced aligner can time it (timestamps), and
        the language name the model is given."""
        body = await backend.languages()
        languages = body.get("languages") if isinstance(body, dict) else None
        if not isinstance(languages, list):
            raise ToolError("The ASR service answered /api/languages with an unexpected document.")
        return languages

    @mcp.tool
    async def gpu_offload(
        models: Annotated[list[str] | None, Field(
            description="Models to release: any of 'qwen3-asr-1.7b', 'qwen3-asr-0.6b', "
                        "'qwen3-forced-aligner-0.6b'. Omitted or empty: all of them.")] = None,
    ) -> dict[str, Any]:
        """Release GPU memory now, as POST /api/gpu-offload: the chosen models are unloaded (their
        processes exit). Returns `released`, `already_unloaded`, GPU memory before and after,
        the seconds it took and every model's state. The next transcription reloads its model
        automatically."""
        return await backend.offload(models)

    return mcp


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="qwen3-asr-mcp",
        description="MCP server 'qwen3-asr': speech recognition tools that call the running Qwen3-ASR service.")
    parser.add_argument("--stdio", action="store_true",
                        help="talk MCP over stdin/stdout (desktop agents) instead of streamable HTTP")
    parser.add_argument("--host", default=settings.mcp_host, help=f"HTTP bind address (default {settings.mcp_host})")
    parser.add_argument("--port", type=int, default=settings.mcp_port, help=f"HTTP port (default {settings.mcp_port})")
    parser.add_argument("--api-url", default=settings.mcp_api_url,
                        help=f"the service's base URL (default {settings.mcp_api_url}, QWEN_ASR_MCP_API_URL)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    server = build_server(settings, api_url=args.api_url, http_auth=not args.stdio)
    roots = ", ".join(str(r) for r in settings.mcp_root_paths()) or "(none)"
    if args.stdio:
        logger.info("MCP %s on stdio; service %s; audio folders %s", SERVER_NAME, args.api_url, roots)
        server.run(transport="stdio", show_banner=False, log_level=args.log_level)
    else:
        logger.info("MCP %s on http://%s:%s%s; service %s; audio folders %s; token %s", SERVER_NAME, args.host,
                    args.port, MCP_PATH, args.api_url, roots, "required" if settings.api_key_value else "not required")
        server.run(transport="http", host=args.host, port=args.port, path=MCP_PATH, show_banner=False,
                   log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
