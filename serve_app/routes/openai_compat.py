"""OpenAI-compatible API: `POST /v1/audio/transcriptions` and `GET /v1/models`.

The same service layer as `POST /api/transcribe` (decoding, validation, models, batching and
lifecycle); only the request and response shapes differ. Errors under `/v1` come out in
OpenAI's shape (serve_app.errors), so the `openai` SDK raises `BadRequestError` & co.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from deployments.protocol import ASR_MODELS, AsrResult, WordTime
from serve_app.audio import DecodedAudio
from serve_app.auth import require_api_key
from serve_app.errors import ApiError, bad_request, echo, openai_error_body
from serve_app.languages import can_align, effective_language
from serve_app.openai_protocol import (
    CONTENT_TYPES,
    ERROR_RESPONSES,
    OPENAI_PARAMS,
    ModelList,
    ModelObject,
    OpenAIRequest,
    TextDeltaEvent,
    TextDoneEvent,
    TranscriptionJson,
    TranscriptionVerboseJson,
    TranscriptionWord,
    openai_language,
    parse_request,
    segment_bodies,
    sse,
    usage,
)
from serve_app.routes.deps import Services, services
from serve_app.routes.transcribe import refuse_extra_files, timing_headers
from serve_app.services.subtitles import (
    MEDIA_TYPES,
    SUBTITLE_FORMATS,
    build_segments,
    render,
    segments_from_spans,
)
from serve_app.services.transcription import PieceText, TranscribeOptions, join_pieces
from serve_app.settings import DEFAULT_MAX_CONTEXT_CHARS

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_api_key)])

TRANSCRIBE_DOC = """
OpenAI's `audio.transcriptions.create`, for the `openai` SDK and the tools built on it.

* `model`: `qwen3-asr-1.7b` or `qwen3-asr-0.6b`; `whisper-1` and other unknown names use the default
  model (`QWEN_ASR_OPENAI_MODEL_ALIASES` maps names, `QWEN_ASR_OPENAI_STRICT_MODELS` refuses unknown ones).
* `language`: ISO-639-1 (`en`, `zh`, `ja`, `yue`...), our codes (`zh-sichuan`) or English names; empty = detect.
* `prompt`: passed to the model as context (names and terms that bias recognition).
* `temperature`: accepted (0–1) but decoding is always greedy.
* `response_format`: `json` (default), `text`, `srt`, `vtt` (plain-text bodies) or `verbose_json`.
* `timestamp_granularities[]`: `word` and/or `segment`, for `verbose_json` (default `segment`); ignored by
  other formats. Times come from the ForcedAligner. `word` requires a language it can time (400/422 like
  `/api/transcribe`); segments, `srt` and `vtt` fall back to one untimed segment per transcribed piece
  of audio when the language cannot be timed.
* `stream=true` (with `json` or `text`): server-sent events, `transcript.text.delta` as pieces of a long
  file finish, then `transcript.text.done`.
"""

SUCCESS_RESPONSE = {
    "model": TranscriptionJson | TranscriptionVerboseJson,
    "description": "`json`/`verbose_json` bodies, plain text for `text`/`srt`/`vtt`, or SSE when streaming.",
    "content": {media.split(";")[0]: {"schema": {"type": "string"}}
                for media in (*CONTENT_TYPES.values(), "text/event-stream")},
}


@router.get("/models", summary="List the ASR models (OpenAI shape)", response_model=ModelList)
async def list_models() -> ModelList:
    return ModelList(data=[ModelObject(id=model) for model in ASR_MODELS])


@router.get("/models/{model_id}", summary="One ASR model (OpenAI shape)", response_model=ModelObject,
            responses={404: ERROR_RESPONSES[400] | {"description": "Not one of our models."}})
async def retrieve_model(model_id: str) -> ModelObject:
    if model_id.lower() not in ASR_MODELS:
        raise ApiError(404, "model_not_found", f"No model {echo(model_id)}; GET /v1/models lists them.", param="model")
    return ModelObject(id=model_id.lower())


@router.post("/audio/transcriptions", summary="Transcribe audio (OpenAI-compatible)", description=TRANSCRIBE_DOC,
             response_model=None, responses={**ERROR_RESPONSES, 200: SUCCESS_RESPONSE})
async def create_transcription(
    file: UploadFile | None = File(None, description="Audio: wav, flac, mp3, ogg, opus, m4a/aac, webm."),
    model: str | None = Form(None, description="`qwen3-asr-1.7b`, `qwen3-asr-0.6b`; other names = default model."),
    language: str | None = Form(None, description="ISO-639-1 (`en`), our code (`zh-sichuan`) or name; empty = detect."),
    prompt: str | None = Form(None, description="Context for the model: names and terms (at most max_context_chars, "
                                      f"default {DEFAULT_MAX_CONTEXT_CHARS})."),
    response_format: str | None = Form("json", description="`json`, `text`, `srt`, `vtt` or `verbose_json`."),
    temperature: float | None = Form(None, description="Accepted for compatibility; decoding is greedy."),
    timestamp_granularities: list[str] | None = Form(
        None, alias="timestamp_granularities[]", description="`word` and/or `segment` (verbose_json only)."),
    timestamp_granularities_plain: list[str] | None = Form(
        None, alias="timestamp_granularities", include_in_schema=False),
    stream: bool | None = Form(False, description="Server-sent events (`json`/`text` only)."),
    svc: Services = Depends(services),
    http_request: Request = None,
) -> Response:
    started = time.perf_counter()
    if file is None or isinstance(file, str):
        raise bad_request("missing_file", "No audio file: send it as the multipart field 'file'.", "file")
    await refuse_extra_files(http_request)
    request = parse_request(svc.settings, model=model, response_format=response_format,
                            granularities=(timestamp_granularities or []) + (timestamp_granularities_plain or []),
                            stream=bool(stream), temperature=temperature)
    options = _options(svc, request, language, prompt)
    audio = await svc.transcription.decode(file.file)
    if request.stream:
        return await _stream(svc, options, audio)
    if not request.timed:
        transcript = await svc.transcription.transcribe_audio(audio, options)
        headers = timing_headers(transcript, started)
        if request.response_format == "text":
            return Response(transcript.text + "\n", media_type=CONTENT_TYPES["text"], headers=headers)
        body = TranscriptionJson(text=transcript.text, usage=usage(audio.duration))
        return JSONResponse(body.model_dump(), headers=headers)

    timed = await _timed(svc, audio, options, words_required=request.words)
    if timed.words is not None:
        segments = build_segments(timed.text, timed.words, max_chars=svc.settings.openai_segment_max_chars,
                                  duration=audio.duration)
    else:  # a language the aligner cannot time: one untimed segment per transcribed piece
        segments = segments_from_spans(((p.offset, p.offset + p.duration, p.text) for p in timed.pieces),
                                       duration=audio.duration)
    if request.response_format in SUBTITLE_FORMATS:
        return Response(render(segments, request.response_format), media_type=MEDIA_TYPES[request.response_format])
    body = TranscriptionVerboseJson(
        language=openai_language(timed.language),
        duration=round(audio.duration, 3),
        text=timed.text,
        words=[TranscriptionWord(word=w.text, start=w.start, end=w.end) for w in timed.words or []]
        if request.words else None,
        segments=segment_bodies(segments) if "segment" in request.granularities else None,
        usage=usage(audio.duration),
    )
    return JSONResponse(body.model_dump(exclude_none=True))


def _options(svc: Services, request: OpenAIRequest, language: str | None, prompt: str | None) -> TranscribeOptions:
    """The service's validation, with OpenAI's field names in errors. Explicit word times are
    required (validated like return_timestamps=true); segment times are best effort."""
    try:
        options = svc.transcription.options(model=request.model, language=language, return_timestamps=request.words,
                                            dtype=None, context=prompt)
    except ApiError as exc:
        exc.param = OPENAI_PARAMS.get(exc.param, exc.param)
        raise
    if request.timed:
        # Aligner-sized pieces (≤ align_piece_seconds) for every timed format, so that a language the
        # aligner cannot time still gets cues of that length; `_timed` only aligns what it can.
        options = replace(options, return_timestamps=True)
    return options


@dataclass
class Timed:
    text: str
    language: str
    pieces: list[PieceText]
    words: list[WordTime] | None  # None: the language cannot be timed


async def _timed(svc: Services, audio: DecodedAudio, options: TranscribeOptions, *, words_required: bool) -> Timed:
    """Text plus word times where the aligner can give them. Unlike `transcribe_audio`, an
    auto-detected language the aligner cannot time is not an error here unless word times were
    asked for explicitly: srt/vtt/segments fall back to the pieces' own spans."""
    started = time.time()
    pieces = [piece async for piece, _ in svc.transcription.stream_pieces(options, audio, started)]
    language = effective_language(options.language, [p.language for p in pieces])
    words = None
    if words_required or can_align(language):
        words, _ = await svc.transcription.align(audio, pieces, language, started)
    return Timed(join_pieces([p.text for p in pieces]), language, pieces, words)


async def _stream(svc: Services, options: TranscribeOptions, audio: DecodedAudio) -> StreamingResponse:
    pieces = svc.transcription.stream_pieces(options, audio)
    # The first piece is awaited before answering, so that model and validation errors keep their
    # HTTP status (the SDK raises them as usual); later failures become an SSE error event.
    first = await anext(pieces)
    return StreamingResponse(stream_events(first, pieces), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def stream_events(first: tuple[PieceText, AsrResult],
                        rest: AsyncIterator[tuple[PieceText, AsrResult]]) -> AsyncIterator[bytes]:
    """`transcript.text.delta` per finished piece (with the joining space), then `transcript.text.done`."""
    texts: list[str] = []
    item: tuple[PieceText, AsrResult] | None = first
    try:
        while item is not None:
            before = join_pieces(texts)
            texts.append(item[0].text)
            delta = join_pieces(texts)[len(before):]
            if delta:
                yield sse(TextDeltaEvent(delta=delta))
            item = await anext(rest, None)
        yield sse(TextDoneEvent(text=join_pieces(texts)))
    except ApiError as exc:
        yield sse(openai_error_body(exc.status, exc.code, exc.message, exc.param))
    except Exception as exc:
        logger.exception("transcription stream failed")
        yield sse(openai_error_body(500, "internal_error", f"Internal error: {type(exc).__name__}"))
    finally:
        aclose = getattr(rest, "aclose", None)
        if aclose is not None:
            await aclose()
