"""WebSocket /v1/realtime?intent=transcription: OpenAI's Realtime transcription (services/realtime/)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse

from serve_app.auth import key_matches, presented_key
from serve_app.errors import openai_error_body

router = APIRouter()

REALTIME_PATH = "/v1/realtime"
PROTOCOL = """OpenAI's Realtime API for transcription, as the `openai` SDK speaks it: connect with
`client.realtime.connect(model=..., extra_query={"intent": "transcription"})` (a WebSocket;
`Authorization: Bearer <key>` when an API key is set). Events: `session.update` (a `transcription`
session: `audio.input.format` `audio/pcm` at 24000 or 16000 Hz, `transcription.model/language/prompt`,
`turn_detection` `server_vad` or null), `input_audio_buffer.append/commit/clear`; the server answers
`session.created/updated`, `input_audio_buffer.speech_started/speech_stopped/committed/cleared`,
`conversation.item.input_audio_transcription.delta/completed/failed` and `error`. See docs/OPENAI.md."""


def _authorized(websocket: WebSocket) -> bool:
    expected = websocket.app.state.settings.api_key_value
    return key_matches(expected, presented_key(websocket) or websocket.query_params.get("api_key", "").strip())


@router.websocket(REALTIME_PATH)
async def realtime(websocket: WebSocket) -> None:
    query = websocket.query_params
    await websocket.app.state.services.realtime.serve(
        websocket, authorized=_authorized(websocket), intent=query.get("intent"), model=query.get("model"))


@router.get(REALTIME_PATH, tags=["openai"], summary="Realtime transcription (WebSocket): protocol",
            description=PROTOCOL, status_code=426,
            responses={426: {"description": "Plain HTTP: connect with a WebSocket client instead."}})
async def realtime_http() -> JSONResponse:
    message = f"{REALTIME_PATH} is a WebSocket endpoint: connect with client.realtime.connect(...) (see /docs)."
    return JSONResponse(openai_error_body(426, "upgrade_required", message), 426, headers={"Upgrade": "websocket"})
