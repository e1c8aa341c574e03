"""OpenAI-compatible API: `POST /v1/audio/transcriptions` and `GET /v1/models`.

The same service layer as `POST /api/transcribe` (decoding, validation, models, batching and
lifecycle); only the request and response shapes differ. Errors under `/v1` come out in
OpenAI's shape (serve_app.errors), so the `openai` SDK raises `BadRequestError` & co.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from deployments.protocol import ASR_MODELS
from serve_app.auth import require_api_key
from serve_app.errors import ApiError, bad_request, echo
from serve_app.openai_protocol import (
    CONTENT_TYPES,
    ERROR_RESPONSES,
    ModelList,
    ModelObject,
    TranscriptionJson,
    TranscriptionVerboseJson,
    parse_request,
)
from serve_app.routes.deps import Services, services
from serve_app.routes.transcribe import refuse_extra_files, timing_headers
from serve_app.settings import DEFAULT_MAX_CONTEXT_CHARS

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
    options = svc.openai.options(request, language, prompt)
    audio = await svc.openai.decode(file.file)
    if request.stream:
        return StreamingResponse(await svc.openai.stream(options, audio), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    answer = await svc.openai.answer(request, options, audio)
    headers = timing_headers(answer.transcript, started)
    if isinstance(answer.body, str):
        return Response(answer.body, media_type=answer.media_type, headers=headers)
    return JSONResponse(answer.body.model_dump(exclude_none=True), headers=headers)
