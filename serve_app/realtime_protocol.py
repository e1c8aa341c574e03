"""Events of OpenAI's Realtime API in a transcription session (`WebSocket /v1/realtime?intent=transcription`),
as the official `openai` SDK sends and parses them (`openai.types.realtime`).

Client -> server: `session.update`, `input_audio_buffer.append` / `.commit` / `.clear`.
Server -> client: `session.created` / `.updated`, `input_audio_buffer.speech_started` / `speech_stopped` /
`committed` / `cleared`, `conversation.item.input_audio_transcription.delta` / `.completed` / `.failed`,
`error`, and one event of ours, `qwen.model_loading`, while a cold model loads. docs/OPENAI.md describes it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from serve_app.errors import cap_message
from serve_app.stream_protocol import parse_json_message

INPUT_RATES = (24_000, 16_000)        # OpenAI sends 24 kHz; 16 kHz is what the model hears (no resampling)
MIN_COMMIT_MS = 100                   # OpenAI refuses to commit less than this


def event_id() -> str:
    return f"event_{uuid.uuid4().hex[:20]}"


def item_id() -> str:
    return f"item_{uuid.uuid4().hex[:20]}"


# ---- the session ------------------------------------------------------------------------------
class Lenient(BaseModel):
    """Fields of OpenAI's that mean nothing here (noise_reduction, include, ...) are accepted and kept out."""

    model_config = ConfigDict(extra="ignore")


class AudioFormat(Lenient):
    type: Literal["audio/pcm"] = "audio/pcm"
    rate: int = Field(24_000, description="24000 (OpenAI's) or 16000.")


class Transcription(Lenient):
    model: str | None = Field(None, description="qwen3-asr-1.7b, qwen3-asr-0.6b; other names = the default model.")
    language: str | None = Field(None, description="ISO-639-1 (`en`) or our codes; empty = detect.")
    prompt: str | None = Field(None, description="Context: names and terms that bias recognition.")


class ServerVad(Lenient):
    type: Literal["server_vad"] = "server_vad"
    threshold: float = Field(0.5, gt=0, lt=1)
    prefix_padding_ms: int = Field(300, ge=0, le=5000)
    silence_duration_ms: int = Field(500, ge=32, le=10000)


class AudioInput(Lenient):
    format: AudioFormat = Field(default_factory=AudioFormat)
    transcription: Transcription | None = Field(default_factory=Transcription)
    turn_detection: ServerVad | None = Field(default_factory=ServerVad)


class SessionAudio(Lenient):
    input: AudioInput = Field(default_factory=AudioInput)


class TranscriptionSession(Lenient):
    type: Literal["transcription"] = "transcription"
    audio: SessionAudio = Field(default_factory=SessionAudio)


def merged(current: TranscriptionSession, update: dict) -> TranscriptionSession:
    """`session.update` semantics: the fields it names replace the current ones (null turns a part off)."""
    def merge(base: Any, change: Any) -> Any:
        if isinstance(base, dict) and isinstance(change, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in change.items()}}
        return change

    return TranscriptionSession.model_validate(merge(current.model_dump(), update))


# ---- client events -----------------------------------------------------------------------------
class ClientEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: str | None = None


class SessionUpdate(ClientEvent):
    type: Literal["session.update"]
    session: dict


class AudioAppend(ClientEvent):
    type: Literal["input_audio_buffer.append"]
    audio: str = Field(description="Base64 PCM16 little-endian mono at the session's rate.")


class AudioCommit(ClientEvent):
    type: Literal["input_audio_buffer.commit"]


class AudioClear(ClientEvent):
    type: Literal["input_audio_buffer.clear"]


CLIENT_EVENTS = ("session.update", "input_audio_buffer.append", "input_audio_buffer.commit",
                 "input_audio_buffer.clear")
_CLIENT = TypeAdapter(Annotated[SessionUpdate | AudioAppend | AudioCommit | AudioClear, Field(discriminator="type")])


class BadEvent(Exception):
    """A client event the session answers with an `error` event (and survives)."""

    def __init__(self, code: str, message: str, param: str | None = None, client_event_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.client_event_id = client_event_id


def validation_message(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ())) or "event"
    return where, f"Invalid value for '{where}': {first.get('msg', 'invalid')}."


def parse_client_event(text: str) -> SessionUpdate | AudioAppend | AudioCommit | AudioClear:
    try:
        data = parse_json_message(text)
    except ValueError as exc:
        raise BadEvent("invalid_json", f"Events must be JSON objects ({exc}).") from None
    if not isinstance(data, dict):
        raise BadEvent("invalid_event", "An event must be a JSON object with a 'type'.")
    client_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data.get("type")
    if kind not in CLIENT_EVENTS:
        raise BadEvent("unknown_event_type", f"Unknown or unsupported event type {str(kind)[:80]!r} in a transcription "
                       f"session; expected one of {', '.join(CLIENT_EVENTS)}.", "type", client_id)
    try:
        return _CLIENT.validate_python(data)
    except ValidationError as exc:
        where, message = validation_message(exc)
        raise BadEvent("invalid_value", message, where, client_id) from None


# ---- server events -----------------------------------------------------------------------------
class ServerEvent(BaseModel):
    event_id: str = Field(default_factory=event_id)


class SessionCreated(ServerEvent):
    type: Literal["session.created"] = "session.created"
    session: TranscriptionSession


class SessionUpdated(ServerEvent):
    type: Literal["session.updated"] = "session.updated"
    session: TranscriptionSession


class SpeechStarted(ServerEvent):
    type: Literal["input_audio_buffer.speech_started"] = "input_audio_buffer.speech_started"
    audio_start_ms: int
    item_id: str


class SpeechStopped(ServerEvent):
    type: Literal["input_audio_buffer.speech_stopped"] = "input_audio_buffer.speech_stopped"
    audio_end_ms: int
    item_id: str


class Committed(ServerEvent):
    type: Literal["input_audio_buffer.committed"] = "input_audio_buffer.committed"
    item_id: str
    previous_item_id: str | None = None


class Cleared(ServerEvent):
    type: Literal["input_audio_buffer.cleared"] = "input_audio_buffer.cleared"


class ItemTranscriptionEvent(ServerEvent):
    """An event about the transcription of one committed audio item."""

    item_id: str
    content_index: int = 0


class TranscriptDelta(ItemTranscriptionEvent):
    type: Literal["conversation.item.input_audio_transcription.delta"] = \
        "conversation.item.input_audio_transcription.delta"
    delta: str


class DurationUsage(BaseModel):
    type: Literal["duration"] = "duration"
    seconds: float


class TranscriptCompleted(ItemTranscriptionEvent):
    type: Literal["conversation.item.input_audio_transcription.completed"] = \
        "conversation.item.input_audio_transcription.completed"
    transcript: str
    usage: DurationUsage


class ErrorDetail(BaseModel):
    type: str = "invalid_request_error"
    code: str | None = None
    message: str
    param: str | None = None
    event_id: str | None = Field(None, description="The client event that caused it, when it had an id.")


class TranscriptFailed(ItemTranscriptionEvent):
    type: Literal["conversation.item.input_audio_transcription.failed"] = \
        "conversation.item.input_audio_transcription.failed"
    error: ErrorDetail


class ErrorEvent(ServerEvent):
    type: Literal["error"] = "error"
    error: ErrorDetail


class ModelLoading(ServerEvent):
    """Ours (the SDK parses it as an event of unknown type): a cold model is loading, the session waits."""

    type: Literal["qwen.model_loading"] = "qwen.model_loading"
    model: str
    message: str = "The model is loading; transcription starts when it is ready and audio sent meanwhile is kept."


def error_event(code: str, message: str, *, kind: str = "invalid_request_error", param: str | None = None,
                client_event_id: str | None = None) -> ErrorEvent:
    return ErrorEvent(error=ErrorDetail(type=kind, code=code, message=cap_message(message), param=param,
                                        event_id=client_event_id))
