"""POST /api/subtitles: an SRT or WebVTT file (or timed text) from a transcript and its word times.

The cues are cut by serve_app.services.subtitles, the same builder and settings as
`/v1/audio/transcriptions` with `response_format=srt|vtt`, so the UI's downloads and the
OpenAI-compatible route give the same file for the same words.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from serve_app.auth import require_api_key
from serve_app.protocol import ERROR_RESPONSES, MAX_TIME_SECONDS, WordTimestamp
from serve_app.routes.deps import Services, services
from serve_app.services.subtitles import CUE_MEDIA_TYPES, subtitle_file

router = APIRouter()

MAX_WORDS = 200_000           # ~14 hours of speech at 4 words a second
MAX_TEXT_CHARS = 2_000_000


class SubtitleRequest(BaseModel):
    """`/api/transcribe`'s answer (or a streaming `final` message) plus the `format` wanted;
    other fields of that answer are accepted and ignored."""

    text: str = Field("", max_length=MAX_TEXT_CHARS,
                      description="The transcript: cue text is cut from it, keeping its punctuation. "
                                  "Empty or not matching the words: cues are built from the words.")
    timestamps: list[WordTimestamp] | None = Field(
        None, max_length=MAX_WORDS, description=f"The word times, in order (at most {MAX_WORDS:,}).")
    format: Literal["srt", "vtt", "txt"] = Field(
        description="`srt` (SubRip), `vtt` (WebVTT) or `txt`: the same cues as lines `[0:01.2 – 0:03.4] text`.")
    duration_seconds: float | None = Field(
        None, gt=0, le=MAX_TIME_SECONDS, allow_inf_nan=False,
        description="The audio's length: no cue ends after it (as `/api/transcribe` reports it).")


SUCCESS = {
    "description": "The subtitle file, UTF-8.",
    "content": {CUE_MEDIA_TYPES[fmt].split(";")[0]: {"schema": {"type": "string"}} for fmt in CUE_MEDIA_TYPES},
}


def parse_body(raw: bytes) -> SubtitleRequest:
    """The JSON body, validated like a FastAPI body parameter (same 400 error shape)."""
    try:
        return SubtitleRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None


def build(raw: bytes, max_chars: int) -> tuple[str, str]:
    """(file content, media type) for a request body."""
    body = parse_body(raw)
    content = subtitle_file(body.text, body.timestamps, body.format, max_chars=max_chars,
                            duration=body.duration_seconds)
    return content, CUE_MEDIA_TYPES[body.format]


def inline_schema(model: type[BaseModel]) -> dict:
    """`model`'s JSON schema with its `$defs` written in place, for `openapi_extra`."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


REQUEST_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": inline_schema(SubtitleRequest)}}}}


@router.post("/api/subtitles", tags=["transcription"], summary="Build SRT or WebVTT subtitles from word times",
             description="The body is `/api/transcribe`'s answer (with `return_timestamps=true`) plus `format`; "
                         "cues are cut as `/v1/audio/transcriptions` cuts them for `srt`/`vtt`.",
             response_class=Response, responses={**ERROR_RESPONSES, 200: SUCCESS}, openapi_extra=REQUEST_BODY,
             dependencies=[Depends(require_api_key)])
async def subtitles(request: Request, svc: Services = Depends(services)) -> Response:
    # Parsed and cut on a worker thread: 200,000 words take seconds of CPU, and /health and every
    # other request share the ingress's event loop.
    content, media_type = await run_in_threadpool(build, await request.body(), svc.settings.openai_segment_max_chars)
    return Response(content, media_type=media_type)
