"""Request and response models of the REST API (they also shape /docs)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. `unsupported_language`.")
    message: str = Field(description="What went wrong and what to do, for people.")
    status: int = Field(description="The HTTP status code.")
    param: str | None = Field(None, description="The request field at fault, when there is one.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class WordTimestamp(BaseModel):
    text: str = Field(description="A word, or a character for CJK text.")
    start: float = Field(description="Start, in seconds from the beginning of the audio.")
    end: float = Field(description="End, in seconds.")


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
