"""OpenAI-compatible transcription (`POST /v1/audio/transcriptions`) over the transcription service.

The same `TranscriptionService` as `POST /api/transcribe` does the work; this module turns an
`OpenAIRequest` into its options (errors under OpenAI's field names), a finished transcript into
the body of each `response_format`, and a long file's pieces into server-sent events.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import BinaryIO

from deployments.protocol import AsrResult
from serve_app.audio import DecodedAudio
from serve_app.errors import ApiError, openai_error_body
from serve_app.openai_protocol import (
    CONTENT_TYPES,
    OPENAI_PARAMS,
    OpenAIRequest,
    TextDeltaEvent,
    TextDoneEvent,
    TranscriptionJson,
    TranscriptionVerboseJson,
    TranscriptionWord,
    openai_language,
    segment_bodies,
    sse,
    usage,
)
from serve_app.services.subtitles import (
    MEDIA_TYPES,
    SUBTITLE_FORMATS,
    Segment,
    build_segments,
    render,
    segments_from_spans,
)
from serve_app.services.transcription import (
    PieceText,
    TranscribeOptions,
    Transcript,
    TranscriptionService,
    join_pieces,
)
from serve_app.settings import Settings

logger = logging.getLogger(__name__)

JSON_MEDIA_TYPE = "application/json"
UNDECODABLE = ("not_audio", "corrupt_audio")   # the decoder's codes for a file it cannot read


@dataclass(frozen=True)
class OpenAIAnswer:
    """One finished `/v1` answer: a JSON model or a plain-text body, and the transcript behind it."""

    body: TranscriptionJson | TranscriptionVerboseJson | str
    media_type: str
    transcript: Transcript


class OpenAITranscriptionService:
    def __init__(self, settings: Settings, transcription: TranscriptionService) -> None:
        self.settings = settings
        self.transcription = transcription

    def options(self, request: OpenAIRequest, language: str | None, prompt: str | None) -> TranscribeOptions:
        """The service's validation, with OpenAI's field names in errors. Explicit word times are
        required (validated like return_timestamps=true); segment times are best effort."""
        try:
            options = self.transcription.options(model=request.model, language=language,
                                                 return_timestamps=request.words, dtype=None, context=prompt)
        except ApiError as exc:
            exc.param = OPENAI_PARAMS.get(exc.param, exc.param)
            raise
        if request.timed:
            # Aligner-sized pieces (≤ align_piece_seconds) for every timed format, so that a language the
            # aligner cannot time still gets cues of that length; only what can be timed is aligned.
            options = replace(options, return_timestamps=True, timestamps_best_effort=not request.words)
        return options

    async def decode(self, source: BinaryIO) -> DecodedAudio:
        """The service's decode; a file that cannot be decoded is 400 `invalid_request_error`, as OpenAI
        answers it (the SDK raises `BadRequestError`), where `/api/transcribe` says 415 or 422."""
        try:
            return await self.transcription.decode(source)
        except ApiError as exc:
            if exc.code in UNDECODABLE:
                exc.status = 400
            raise

    async def answer(self, request: OpenAIRequest, options: TranscribeOptions, audio: DecodedAudio) -> OpenAIAnswer:
        transcript = await self.transcription.transcribe_audio(audio, options)
        fmt = request.response_format
        if not request.timed:
            if fmt == "text":
                return OpenAIAnswer(transcript.text + "\n", CONTENT_TYPES["text"], transcript)
            return OpenAIAnswer(TranscriptionJson(text=transcript.text, usage=usage(audio.duration)),
                                JSON_MEDIA_TYPE, transcript)
        segments = self.segments(transcript, audio.duration)
        if fmt in SUBTITLE_FORMATS:
            return OpenAIAnswer(render(segments, fmt), MEDIA_TYPES[fmt], transcript)
        body = TranscriptionVerboseJson(
            language=openai_language(transcript.language),
            duration=round(audio.duration, 3),
            text=transcript.text,
            words=[TranscriptionWord(word=w.text, start=w.start, end=w.end) for w in transcript.timestamps or []]
            if request.words else None,
            segments=segment_bodies(segments) if "segment" in request.granularities else None,
            usage=usage(audio.duration),
        )
        return OpenAIAnswer(body, JSON_MEDIA_TYPE, transcript)

    def segments(self, transcript: Transcript, duration: float) -> list[Segment]:
        """Cues from the word times; for a language the aligner cannot time, one untimed segment per
        transcribed piece."""
        if transcript.timestamps is not None:
            return build_segments(transcript.text, transcript.timestamps,
                                  max_chars=self.settings.openai_segment_max_chars, duration=duration)
        return segments_from_spans(((p.offset, p.offset + p.duration, p.text) for p in transcript.pieces),
                                   duration=duration)

    async def stream(self, options: TranscribeOptions, audio: DecodedAudio) -> AsyncIterator[bytes]:
        """The SSE body of `stream=true`. The first piece is awaited here, before the caller answers,
        so that model and validation errors keep their HTTP status (the SDK raises them as usual);
        later failures become an SSE error event."""
        pieces = self.transcription.transcribe_pieces(options, audio)
        first = await anext(pieces, None)  # None: no speech, nothing was transcribed
        return stream_events(first, pieces)


async def stream_events(first: tuple[PieceText, AsrResult] | None,
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
