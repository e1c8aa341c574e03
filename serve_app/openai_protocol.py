"""Request parsing and response shapes of the OpenAI-compatible API (`/v1`).

The shapes follow OpenAI's audio API as the official `openai` SDK parses them. Values that only
Whisper computes are filled with neutral constants (see `TranscriptionSegment`), never invented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from deployments.protocol import ASR_MODELS
from serve_app.errors import bad_request, echo
from serve_app.languages import primary_language
from serve_app.services.subtitles import MEDIA_TYPES, Segment, compression_ratio
from serve_app.settings import Settings

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
STREAM_FORMATS = ("json", "text")
TIMED_FORMATS = ("srt", "vtt", "verbose_json")
GRANULARITIES = ("word", "segment")
CONTENT_TYPES = {"text": "text/plain; charset=utf-8", **MEDIA_TYPES}
MODEL_OWNER = "qwen"
# Our parameter names -> the OpenAI form fields they come from (for error `param`).
OPENAI_PARAMS = {"context": "prompt"}


# ---- errors -----------------------------------------------------------------------------------
class OpenAIErrorDetail(BaseModel):
    message: str = Field(description="What went wrong and what to do (the SDK puts it in the exception).")
    type: str = Field(description="`invalid_request_error`, `authentication_error`, `server_error`, ...")
    param: str | None = Field(None, description="The form field at fault, when there is one.")
    code: str | None = Field(None, description="Our stable error code, e.g. `unsupported_language`.")


class OpenAIErrorResponse(BaseModel):
    error: OpenAIErrorDetail


ERROR_RESPONSES = {
    400: {"model": OpenAIErrorResponse, "description": "Bad parameter or missing/empty file (`BadRequestError`)."},
    401: {"model": OpenAIErrorResponse, "description": "API key missing or wrong (`AuthenticationError`)."},
    413: {"model": OpenAIErrorResponse, "description": "Upload larger than the limit."},
    415: {"model": OpenAIErrorResponse, "description": "Not an audio file."},
    422: {"model": OpenAIErrorResponse,
          "description": "Audio corrupt, too short, too long, silent, or untimable (`UnprocessableEntityError`)."},
    503: {"model": OpenAIErrorResponse, "description": "Overloaded; retry after `Retry-After` seconds."},
}


# ---- responses --------------------------------------------------------------------------------
class UsageDuration(BaseModel):
    type: Literal["duration"] = "duration"
    seconds: float = Field(description="Duration of the input audio, in seconds.")


class TranscriptionJson(BaseModel):
    """`response_format=json` (the default)."""

    text: str
    usage: UsageDuration


class TranscriptionWord(BaseModel):
    word: str = Field(description="A word, or a character for CJK text, as the ForcedAligner times it.")
    start: float
    end: float


class TranscriptionSegment(BaseModel):
    id: int
    seek: int = Field(0, description="Always 0: there is no 30 s decoding window to seek in.")
    start: float
    end: float
    text: str
    tokens: list[int] = Field(default_factory=list, description="Always empty: token ids are not exposed.")
    temperature: float = Field(0.0, description="Always 0.0: decoding is greedy.")
    avg_logprob: float = Field(0.0, description="Always 0.0: not computed (0 keeps Whisper-style filters happy).")
    compression_ratio: float = Field(description="UTF-8 length / zlib-compressed length of `text` (computed).")
    no_speech_prob: float = Field(0.0, description="Always 0.0: not computed.")


class TranscriptionVerboseJson(BaseModel):
    """`response_format=verbose_json`."""

    task: Literal["transcribe"] = "transcribe"
    language: str = Field(description="Lower-case English name, e.g. `english`, `chinese` (OpenAI's convention).")
    duration: float = Field(description="Audio duration, in seconds.")
    text: str
    words: list[TranscriptionWord] | None = Field(None, description="With `timestamp_granularities[]=word`.")
    segments: list[TranscriptionSegment] | None = Field(
        None, description="With `timestamp_granularities[]=segment` (the default for verbose_json).")
    usage: UsageDuration


class ModelObject(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(0, description="Always 0: unknown.")
    owned_by: str = MODEL_OWNER


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]


class TextDeltaEvent(BaseModel):
    type: Literal["transcript.text.delta"] = "transcript.text.delta"
    delta: str


class TextDoneEvent(BaseModel):
    type: Literal["transcript.text.done"] = "transcript.text.done"
    text: str


def sse(payload: BaseModel | dict) -> bytes:
    """One server-sent event: a `data:` line with JSON (what the SDK's stream decoder reads)."""
    data = payload.model_dump() if isinstance(payload, BaseModel) else payload
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def usage(duration: float) -> UsageDuration:
    return UsageDuration(seconds=round(duration, 3))


def openai_language(model_language: str) -> str:
    """`English` -> `english`; a merged `Chinese,English` reports its first language."""
    return primary_language(model_language).lower()


def segment_bodies(segments: list[Segment]) -> list[TranscriptionSegment]:
    return [
        TranscriptionSegment(id=i, start=s.start, end=s.end, text=s.text, compression_ratio=compression_ratio(s.text))
        for i, s in enumerate(segments)
    ]


# ---- requests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenAIRequest:
    model: str  # one of ASR_MODELS
    response_format: str
    granularities: tuple[str, ...]  # only for verbose_json; () otherwise
    stream: bool

    @property
    def timed(self) -> bool:
        return self.response_format in TIMED_FORMATS

    @property
    def words(self) -> bool:
        """Word times were asked for explicitly: they are required (errors like /api/transcribe)."""
        return "word" in self.granularities


def resolve_model(name: str | None, settings: Settings) -> str:
    """Our ids as they are; configured aliases; other names (`whisper-1`...) -> the default model,
    unless `openai_strict_models` is on."""
    key = (name or "").strip().lower()
    if not key:
        return settings.default_model
    if key in ASR_MODELS:
        return key
    if key in settings.openai_model_aliases:  # names checked against our models at startup (Settings)
        return settings.openai_model_aliases[key]
    if settings.openai_strict_models:
        raise bad_request("unknown_model", f"Unknown model {echo(name)}; choose one of {', '.join(ASR_MODELS)}.", "model")
    return settings.default_model


def parse_request(settings: Settings, *, model: str | None, response_format: str | None,
                  granularities: list[str] | None, stream: bool, temperature: float | None) -> OpenAIRequest:
    response_format = (response_format or "json").strip().lower()
    if response_format not in RESPONSE_FORMATS:
        raise bad_request("invalid_response_format",
                          f"Unsupported response_format {echo(response_format)}; choose one of "
                          f"{', '.join(RESPONSE_FORMATS)}.", "response_format")
    if temperature is not None and not 0.0 <= temperature <= 1.0:
        raise bad_request("invalid_temperature",
                          f"temperature must lie between 0 and 1 (got {temperature:g}); decoding is greedy either way.",
                          "temperature")
    asked = [g.strip().lower() for g in granularities or [] if g and g.strip()]
    unknown = [g for g in asked if g not in GRANULARITIES]
    if unknown:
        raise bad_request("invalid_timestamp_granularity",
                          f"Unknown timestamp granularity {echo(unknown[0])}; use 'word' and/or 'segment'.",
                          "timestamp_granularities")
    if stream and response_format not in STREAM_FORMATS:
        raise bad_request("stream_unsupported_format",
                          f"stream=true streams text; use response_format json or text, not {echo(response_format)}.",
                          "stream")
    chosen: tuple[str, ...] = ()
    if response_format == "verbose_json":
        chosen = tuple(g for g in GRANULARITIES if g in asked) or ("segment",)
    return OpenAIRequest(resolve_model(model, settings), response_format, chosen, stream)
