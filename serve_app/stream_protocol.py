"""Messages of the streaming protocol (`WebSocket /api/transcribe/stream`), and its close codes.

Client -> server: one JSON `start`, then binary PCM frames of any size, then a JSON `stop`.
Server -> client: `loading` (only while a cold model loads), `ready`, `partial`* and (with the
VAD on) `speech_started` / `speech_stopped`, one `final`, or an `error` followed by a close. docs/STREAMING.md is the full description.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from serve_app.protocol import WordTimestamp

PCM_FORMATS = ("pcm_s16le", "f32le")
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 96_000

# WebSocket close codes (RFC 6455 section 7.4.1) and when the server uses them.
CLOSE_NORMAL = 1000          # after `final`
CLOSE_UNSUPPORTED = 1003     # data the server cannot take: not JSON, unknown message, bad sample rate/format
CLOSE_POLICY = 1008          # protocol order, bad parameters, API key, timeouts
CLOSE_TOO_BIG = 1009         # a frame or the whole session is too large
CLOSE_INTERNAL = 1011        # the server failed
CLOSE_TRY_AGAIN = 1013       # session limit reached or the model is overloaded: retry later

MAX_JSON_DEPTH = 32          # a control message nested deeper than this is `invalid_json`


def json_depth(value: Any, limit: int) -> int:
    """How deeply `value` nests lists/objects, counting no further than `limit + 1` (iterative)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json_message(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` with a bounded nesting depth: ValueError (never RecursionError) for anything refused.

    The C parser stops at the interpreter's recursion limit (RecursionError, which used to end the
    session as `internal_error`); anything it does parse is then held to `max_depth` levels."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc.msg} at position {exc.pos}" if isinstance(exc, json.JSONDecodeError)
                         else "not JSON") from None
    if json_depth(data, max_depth) > max_depth:
        raise ValueError(f"nested deeper than {max_depth} levels")
    return data


class StartMessage(BaseModel):
    """`{"type": "start", ...}`: opens the session; every field but `type` is optional."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["start"]
    model: str | None = Field(None, description="`qwen3-asr-1.7b` (default) or `qwen3-asr-0.6b`.")
    language: str | None = Field("auto", description="`auto`, a code (`en`, `zh`, ...) or a language name.")
    context: str | None = Field("", description="Names and terms that bias recognition.")
    sample_rate: int = Field(16_000, description=f"Rate of the PCM that follows, {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz.")
    format: str = Field("pcm_s16le", description="`pcm_s16le` (16-bit little-endian) or `f32le` (float32 LE).")
    return_timestamps: bool = Field(False, description="Word/character times in the `final` message.")
    dtype: str | None = Field(None, description="`bfloat16`, `float16` or `float32`; empty = what is loaded.")


class LoadingMessage(BaseModel):
    type: Literal["loading"] = "loading"
    model: str
    message: str = "The model is loading; audio sent meanwhile is kept."


class ReadyMessage(BaseModel):
    type: Literal["ready"] = "ready"
    model: str
    sample_rate: int
    format: str
    chunk_seconds: float = Field(description="A partial follows about every this much new audio.")
    max_seconds: float = Field(description="Longest session, in audio seconds.")


class PartialMessage(BaseModel):
    type: Literal["partial"] = "partial"
    text: str = Field(description="Everything recognised so far: `stable_text + unstable_text`.")
    stable_text: str = Field(description="Committed text: it never changes again; the next partial starts with it.")
    unstable_text: str = Field(description="The newest hypothesis for the open window; it may still change.")
    duration_seconds: float = Field(description="Seconds of audio (from the start of the stream) this partial covers.")


class SpeechStartedMessage(BaseModel):
    """Silero VAD heard speech begin (only with vad_enabled)."""

    type: Literal["speech_started"] = "speech_started"
    start_seconds: float = Field(description="Where the speech starts (with its padding), in seconds from the stream's start.")


class SpeechStoppedMessage(BaseModel):
    """The speech ended: a pause of vad_min_silence_ms followed it (only with vad_enabled)."""

    type: Literal["speech_stopped"] = "speech_stopped"
    end_seconds: float = Field(description="Where the speech ends (with its padding), in seconds from the stream's start.")


class FinalMessage(BaseModel):
    type: Literal["final"] = "final"
    text: str
    language: str
    model: str
    dtype: str
    duration_seconds: float = Field(description="Audio received, in seconds (at 16 kHz).")
    process_time_seconds: float = Field(description="Time the session spent waiting for the model (loads excluded).")
    rtf: float = Field(description="process_time_seconds / duration_seconds.")
    load_time_seconds: float = Field(0.0, description="Time spent waiting for a cold model.")
    finalize_seconds: float = Field(0.0, description="From `stop` to this message.")
    compute_seconds: float = Field(0.0, description="Model time attributed to this session (batch time / batch size).")
    segments: int = Field(0, description="How many committed windows the stream was cut into.")
    timestamps: list[WordTimestamp] | None = None
    timestamps_error: dict | None = Field(None, description="Why timestamps are missing when they were asked for.")


class ErrorMessage(BaseModel):
    type: Literal["error"] = "error"
    code: str
    message: str
    text: str | None = Field(None, description="The transcript so far, when a limit ends a running session.")
    request_id: str | None = Field(None, description="The id of this WebSocket's request (its upgrade's X-Request-Id).")


def dump(message: BaseModel) -> dict:
    """The JSON object sent on the wire (optional fields left out when empty)."""
    data = message.model_dump(exclude_none=True)
    if isinstance(message, FinalMessage):
        data.setdefault("timestamps", None)
    return data
