"""WebSocket /api/transcribe/stream: live recognition (the logic is in services/streaming/)."""

from __future__ import annotations

import inspect

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse

from serve_app.auth import key_matches, presented_key
from serve_app.errors import error_body

router = APIRouter()

STREAM_PATH = "/api/transcribe/stream"


def _authorized(websocket: WebSocket) -> bool:
    expected = websocket.app.state.settings.api_key_value
    if not expected:
        return True
    presented = presented_key(websocket) or websocket.query_params.get("api_key", "").strip()
    return key_matches(expected, presented)


@router.websocket(STREAM_PATH)
async def transcribe_stream(websocket: WebSocket) -> None:
    """Live recognition over WebSocket.

    **WebSocket** `ws://host:8200/api/transcribe/stream` (this GET only documents it and answers 426).

    With an API key configured, add `?api_key=<key>` to the URL or send `Authorization: Bearer <key>`.

    Client → server:
    1. `{"type": "start", "model": "qwen3-asr-1.7b", "language": "auto", "context": "",
       "sample_rate": 16000, "format": "pcm_s16le", "return_timestamps": false}` — every field but `type`
       is optional; `format` is `pcm_s16le` or `f32le` (mono, little-endian); `sample_rate` 8000–96000
       (16000 avoids resampling).
    2. Binary frames of raw PCM, any size (≤ 8 MiB each).
    3. `{"type": "stop"}`.

    Server → client:
    * `{"type": "loading", "model"}` — only while a cold model loads; audio sent meanwhile is kept.
    * `{"type": "ready", ...}` — the model can work.
    * `{"type": "partial", "text", "stable_text", "unstable_text", "duration_seconds"}` — about every
      `stream_chunk_seconds` of new audio. `text == stable_text + unstable_text`; `stable_text` never changes
      again (each partial and the final start with it); `unstable_text` is the open window's newest hypothesis.
    * `{"type": "final", "text", "language", "duration_seconds", "process_time_seconds", "rtf", "timestamps", ...}`,
      then the server closes with 1000.
    * `{"type": "error", "code", "message"}`, then a close: 1003 data it cannot take (`invalid_json`,
      `invalid_message`, `unsupported_format`, `unsupported_sample_rate`, `invalid_audio`); 1008 protocol or
      parameter errors (`audio_before_start`, `audio_after_stop`, `message_after_stop`, `duplicate_start`,
      `stop_before_start`, `unknown_model`, `unsupported_language`, `context_too_long`, `unauthorized`,
      `start_timeout`, `idle_timeout`); 1009 `frame_too_large`, `session_too_long`; 1013 `too_many_sessions`,
      `overloaded` (retry later); 1011 `model_error`, `internal_error`.

    Limits: `stream_max_sessions` concurrent sessions (at most half the ingress's `max_ongoing_requests`,
    so open sockets never starve HTTP), `stream_max_seconds` of audio per session. See docs/STREAMING.md.
    """
    await websocket.app.state.services.streaming.serve(websocket, authorized=_authorized(websocket))


PROTOCOL = inspect.cleandoc(transcribe_stream.__doc__).split("\n", 1)[1].strip()


@router.get(STREAM_PATH, tags=["transcription"], summary="Live recognition (WebSocket): protocol",
            description=PROTOCOL, status_code=426,
            responses={426: {"description": "Plain HTTP: connect with a WebSocket client instead."}})
async def transcribe_stream_http() -> JSONResponse:
    message = f"{STREAM_PATH} is a WebSocket endpoint; connect with ws:// or wss:// (see /docs)."
    return JSONResponse(error_body(426, "upgrade_required", message), 426,
                        headers={"Upgrade": "websocket"})
