"""POST /api/transcribe: the main function."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from serve_app.auth import require_api_key
from serve_app.errors import bad_request
from serve_app.protocol import ERROR_RESPONSES, TranscriptionResponse
from serve_app.routes.deps import Services, services
from serve_app.services.transcription import Transcript
from serve_app.services.transcription_events import (
    EVENT_STREAM,
    STREAM_HEADERS,
    open_progress_stream,
    wants_events,
)
from serve_app.settings import DEFAULT_MAX_CONTEXT_CHARS

router = APIRouter()


async def refuse_extra_files(request: Request, field: str = "file") -> None:
    """A second `file` part used to replace the first without a word: refuse it (400 `multiple_files`).

    The form is already parsed (and cached on the request) by the time the route runs."""
    count = len((await request.form()).getlist(field))
    if count > 1:
        raise bad_request("multiple_files", f"The multipart field '{field}' appears {count} times; send exactly "
                          "one audio file per request.", field)


def timing_headers(transcript: Transcript, started: float) -> dict[str, str]:
    return {
        "X-Time-Load": f"{transcript.load_time_seconds:.3f}",
        "X-Time-Process": f"{transcript.process_time_seconds:.3f}",
        "X-Time-Total": f"{time.perf_counter() - started:.3f}",
    }


def transcript_body(t: Transcript) -> dict:
    return TranscriptionResponse(
        text=t.text, language=t.language, model=t.model, dtype=t.dtype,
        timestamps=t.timestamps,
        duration_seconds=t.duration_seconds, process_time_seconds=t.process_time_seconds,
        load_time_seconds=t.load_time_seconds, rtf=t.rtf, skipped_seconds=t.skipped_seconds,
    ).model_dump()


PROGRESS_DOC = (
    "With `Accept: text/event-stream` (or the form field `progress=true`) the answer is server-sent events: "
    "`progress` (`stage`, `pieces_done`, `pieces_total`, `audio_seconds_done`, `audio_seconds_total`, `text` so "
    "far) as each piece of a long file finishes, then `result` with exactly the JSON below, or `error` with the "
    "error shape. Errors found before the work starts are plain JSON errors with their status; closing the "
    "connection cancels the work."
)


@router.post("/api/transcribe", tags=["transcription"], summary="Transcribe an audio file",
             description=PROGRESS_DOC, response_model=TranscriptionResponse,
             responses={**ERROR_RESPONSES, 200: {"content": {EVENT_STREAM: {"schema": {"type": "string"}}}}},
             dependencies=[Depends(require_api_key)])
async def transcribe(
    file: UploadFile | None = File(None, description="Audio: wav, flac, mp3, ogg, opus, m4a/aac, webm."),
    language: str = Form("auto", description="`auto`, a code (`en`, `zh`, `ja`, `zh-sichuan`...) or a name."),
    model: str | None = Form(None, description="`qwen3-asr-1.7b` (default) or `qwen3-asr-0.6b`."),
    return_timestamps: bool = Form(False, description="Word/character times from the ForcedAligner."),
    dtype: str | None = Form(None, description="`bfloat16`, `float16` or `float32`; empty = what is loaded."),
    context: str | None = Form(None, description="Names and terms that bias recognition (at most max_context_chars, "
                                       f"default {DEFAULT_MAX_CONTEXT_CHARS})."),
    progress: bool = Form(False, description="Answer as server-sent progress events (like `Accept: text/event-stream`)."),
    svc: Services = Depends(services),
    request: Request = None,
) -> JSONResponse | StreamingResponse:
    started = time.perf_counter()
    if file is None or isinstance(file, str):
        raise bad_request("missing_file", "No audio file: send it as the multipart field 'file'.", "file")
    await refuse_extra_files(request)
    options = svc.transcription.options(model=model, language=language, return_timestamps=return_timestamps,
                                        dtype=dtype, context=context)
    if wants_events(request.headers.get("accept"), progress):
        events = await open_progress_stream(svc.transcription, file.file, options, transcript_body)
        return StreamingResponse(events, media_type=EVENT_STREAM, headers=STREAM_HEADERS)
    transcript = await svc.transcription.transcribe(file.file, options)
    return JSONResponse(transcript_body(transcript), headers=timing_headers(transcript, started))
