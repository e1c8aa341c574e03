"""Request and response models of the REST API (they also shape /docs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Bounds of a time and a word on the wire (what POST /api/subtitles accepts; answers stay far inside).
MAX_TIME_SECONDS = 100 * 3600.0  # no time past 100 hours
MAX_WORD_CHARS = 1_000


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. `unsupported_language`.")
    message: str = Field(description="What went wrong and what to do, for people.")
    status: int = Field(description="The HTTP status code.")
    param: str | None = Field(None, description="The request field at fault, when there is one.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class WordTimestamp(BaseModel):
    """One timed word (a character for CJK text) on the wire: `/api/transcribe`'s `timestamps`, the
    streaming `final` message's, and what `/api/subtitles` reads back. Built from the services'
    `deployments.protocol.WordTime` (attributes) as well as from JSON."""

    model_config = ConfigDict(from_attributes=True)

    text: str = Field(max_length=MAX_WORD_CHARS, description="A word, or a character for CJK text.")
    start: float = Field(ge=0, le=MAX_TIME_SECONDS, allow_inf_nan=False,
                         description="Start, in seconds from the beginning of the audio.")
    end: float = Field(ge=0, le=MAX_TIME_SECONDS, allow_inf_nan=False, description="End, in seconds (≥ start).")


class TranscriptionResponse(BaseModel):
    text: str
    language: str = Field(description="Language the model reports (or the one forced), e.g. `English`.")
    model: str
    dtype: str = Field(description="The dtype the model ran in.")
    timestamps: list[WordTimestamp] | None = Field(None, description="Word/character times when asked for.")
    duration_seconds: float
    process_time_seconds: float
    load_time_seconds: float = Field(description="Time spent waiting for a model to load (0 when warm).")
    rtf: float = Field(description="Real-time factor: process time / audio duration.")
    skipped_seconds: float = Field(
        0.0, description="Audio the voice-activity detector found no speech in, so never sent to the model "
                         "(long non-speech stretches of files longer than one piece, or all of such a file without speech).")


class OffloadRequest(BaseModel):
    models: list[str] | None = Field(None, description="Models to release; omitted or empty = all.")
    wait: bool = Field(True, description="Wait until the replicas have exited (bounded).")


ERROR_RESPONSES = {
    400: {"model": ErrorResponse, "description": "Bad parameter or missing/empty file."},
    401: {"model": ErrorResponse, "description": "API key missing or wrong (when one is configured)."},
    413: {"model": ErrorResponse, "description": "Upload larger than the limit."},
    415: {"model": ErrorResponse, "description": "Not an audio file."},
    422: {"model": ErrorResponse, "description": "Audio corrupt, too short, too long, silent, or untimable."},
    503: {"model": ErrorResponse, "description": "Overloaded; retry after `Retry-After` seconds."},
}
