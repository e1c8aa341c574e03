"""What a client may send, and until when: message checks and session deadlines (pure, no I/O).

Each check raises the `StreamError` the session closes with.
"""

from __future__ import annotations

from pydantic import ValidationError

from serve_app.errors import echo
from serve_app.services.streaming.channel import StreamError
from serve_app.services.streaming.config import StreamConfig
from serve_app.stream_protocol import (
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    PCM_FORMATS,
    StartMessage,
    parse_json_message,
)

MAX_FRAME_BYTES = 8 * 1024 * 1024    # one binary frame (~4 min of 16 kHz s16)
WALL_GRACE_S = 300.0                 # a session lasts at most stream_max_seconds + this in wall time


def first_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ())) or "message"
    return f"Invalid value for '{where}': {first.get('msg', 'invalid')}."


def parse_control(text: str, stopped: bool) -> tuple[str, dict]:
    """A text frame -> ("start" | "stop", the JSON object)."""
    try:
        data = parse_json_message(text)
    except ValueError as exc:
        raise StreamError("invalid_json", f"Text messages must be JSON objects, e.g. {{\"type\": \"start\"}} "
                          f"({exc}).", CLOSE_UNSUPPORTED) from None
    if not isinstance(data, dict):
        raise StreamError("invalid_message", "A message must be a JSON object with a 'type'.", CLOSE_UNSUPPORTED)
    kind = data.get("type")
    if stopped:
        raise StreamError("message_after_stop", f"Message {echo(kind)} after stop: the session is finishing.",
                          CLOSE_POLICY)
    if kind not in ("start", "stop"):
        raise StreamError("invalid_message", f"Unknown message type {echo(kind)}; expected 'start' or 'stop'.",
                          CLOSE_UNSUPPORTED)
    return kind, data


def parse_start(data: dict) -> StartMessage:
    try:
        start = StartMessage.model_validate(data)
    except ValidationError as exc:
        raise StreamError("invalid_message", first_validation_error(exc), CLOSE_UNSUPPORTED) from None
    if start.format not in PCM_FORMATS:
        raise StreamError("unsupported_format", f"Unknown format {echo(start.format)}; use pcm_s16le or f32le.",
                          CLOSE_UNSUPPORTED)
    if not MIN_SAMPLE_RATE <= start.sample_rate <= MAX_SAMPLE_RATE:
        raise StreamError("unsupported_sample_rate",
                          f"sample_rate {start.sample_rate} is not supported; send {MIN_SAMPLE_RATE}-"
                          f"{MAX_SAMPLE_RATE} Hz PCM (16000 is best: no resampling).", CLOSE_UNSUPPORTED)
    return start


def check_frame(payload: bytes, *, started: bool, stopped: bool) -> None:
    if not started:
        raise StreamError("audio_before_start", "Binary audio arrived before the start message.", CLOSE_POLICY)
    if stopped:
        raise StreamError("audio_after_stop", "Binary audio arrived after stop.", CLOSE_POLICY)
    if len(payload) > MAX_FRAME_BYTES:
        raise StreamError("frame_too_large", f"A frame holds {len(payload)} bytes; the limit is "
                          f"{MAX_FRAME_BYTES}. Send smaller frames.", CLOSE_TOO_BIG)


def deadline(config: StreamConfig, *, opened_at: float, started: bool, stopped: bool, ready_at: float | None,
             last_heard: float) -> float | None:
    """When the session is closed if nothing more arrives (time.monotonic()); None = not yet known.

    * before `start`: `start_timeout_s` after connecting, whatever else arrives;
    * while a cold model loads (start sent, no `ready` yet): not known; the client may wait in silence;
    * once `ready`: `idle_timeout_s` after the later of `ready` and the latest message's arrival
      (audio buffered before `ready` counts from when it arrived, not from when it is handled);
    * after `stop`: only the wall-clock limit (the server is finishing);
    * always: `stream_max_seconds + WALL_GRACE_S` after connecting.
    """
    wall = opened_at + config.max_seconds + WALL_GRACE_S
    if not started:
        return min(wall, opened_at + config.start_timeout_s)
    if stopped:
        return wall
    if ready_at is None:
        return None
    return min(wall, max(last_heard, ready_at) + config.idle_timeout_s)


def timeout_error(config: StreamConfig, *, elapsed: float, started: bool, text: str) -> StreamError:
    """The error of a passed deadline; `elapsed` is the time since connecting, `text` what was recognised."""
    if elapsed >= config.max_seconds + WALL_GRACE_S:
        return StreamError("session_too_long", "The session lasted longer than the limit.", CLOSE_TOO_BIG, text=text)
    if not started:
        return StreamError("start_timeout", f"No start message within {config.start_timeout_s:g} s "
                           "of connecting.", CLOSE_POLICY)
    return StreamError("idle_timeout", f"No audio or message for {config.idle_timeout_s:g} s.", CLOSE_POLICY)
