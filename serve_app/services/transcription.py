"""Transcription: validate a request, decode its audio, run it through the model graph.

Both the REST route and the OpenAI-compatible route (and through them the MCP server)
go through `TranscriptionService`; they differ only in request/response shapes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError
from ray.serve.exceptions import BackPressureError

from deployments.protocol import (
    ALIGNER,
    ALIGNER_LANGUAGES,
    ASR_MODELS,
    REQUEST_DTYPES,
    SAMPLE_RATE,
    AlignRequest,
    AsrRequest,
    AsrResult,
    UnsupportedAlignLanguage,
    WordTime,
)
from serve_app.audio import AudioError, DecodedAudio, check_audio, decode_file
from serve_app.cpu_work import CpuWork
from serve_app.errors import ApiError, bad_request, echo
from serve_app.languages import (
    Language,
    UnknownLanguage,
    can_align,
    effective_language,
    primary_language,
    resolve_language,
)
from serve_app.metrics import ServiceMetrics
from serve_app.qwen_utils import split_audio_into_chunks
from serve_app.services.admission import Admission, overloaded
from serve_app.services.aligner_wake import AlignerWake
from serve_app.services.lifecycle import LifecycleService
from serve_app.services.subtitles import join_words
from serve_app.settings import Settings
from serve_app.vad.file_plan import plan_file
from serve_app.vad.silero import shared_vad
from serve_app.vad.spans import VadParams

if TYPE_CHECKING:
    from serve_app.services.transcription_events import TranscriptionProgress

logger = logging.getLogger(__name__)

# A model replica that died (SIGKILL, OOM, a crash) while our call was on it: Serve starts another,
# so the request is answered 503 + Retry-After, never a 500 that names Ray's exception.
REPLICA_LOST = (ActorDiedError, ActorUnavailableError, RayActorError)
REPLICA_LOST_RETRY_S = 5
# Ingress slots kept free of file transcriptions: /health, /api/status, the UI's own requests.
RESERVED_INGRESS_SLOTS = 8
# Scripts whose characters are about one token each for Qwen's tokenizer (CJK ideographs, kana,
# hangul, CJK punctuation and full-width forms); other text is about four characters a token.
_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f"
                   r"\uff00-\uffef\U00020000-\U0003ffff]")


def estimate_tokens(text: str) -> int:
    """A cheap upper-side estimate of Qwen tokens without the tokenizer: wide characters 1 each,
    everything else 1 per 4 characters (rounded up)."""
    wide = len(_WIDE.findall(text))
    return wide + -(-(len(text) - wide) // 4)


def replica_lost(exc: BaseException) -> bool:
    return isinstance(exc, REPLICA_LOST)


def model_unavailable(model: str) -> ApiError:
    return ApiError(503, "model_unavailable",
                    f"The {model} replica stopped while working on this request; it is restarting, retry shortly.",
                    headers={"Retry-After": str(REPLICA_LOST_RETRY_S)})


def admission_limit(settings: Settings) -> int:
    """File transcriptions in flight: below the ingress's slots, leaving room for sockets and health."""
    from serve_app.services.streaming.service import session_limit

    slots = settings.max_ongoing_requests
    headroom = max(1, slots - session_limit(settings.stream_max_sessions, slots) - RESERVED_INGRESS_SLOTS)
    wanted = settings.max_transcriptions_in_flight
    return min(wanted, headroom) if wanted else headroom


@dataclass
class TranscribeOptions:
    model: str
    language: Language | None = None
    return_timestamps: bool = False
    dtype: str | None = None
    context: str = ""
    # With return_timestamps: a detected language the aligner cannot time answers without
    # timestamps (None) instead of 422 (OpenAI's segments and subtitles fall back to the pieces).
    timestamps_best_effort: bool = False

    @property
    def may_align(self) -> bool:
        """Whether an alignment can follow the transcription: timestamps asked for, and no forced
        language the aligner cannot time (a detected one is known only after the ASR model)."""
        return self.return_timestamps and (self.language is None or self.language.aligner)

    @property
    def forced_language(self) -> str | None:
        """The model's name for the forced language; None = detect."""
        return self.language.model_language if self.language else None


@dataclass
class Piece:
    index: int
    audio: np.ndarray
    offset: float


@dataclass
class PieceText:
    index: int
    offset: float
    duration: float
    text: str
    language: str


@dataclass
class Transcript:
    text: str
    language: str
    model: str
    dtype: str
    duration_seconds: float
    process_time_seconds: float
    load_time_seconds: float
    timestamps: list[WordTime] | None = None
    pieces: list[PieceText] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    skipped_seconds: float = 0.0  # audio the VAD found no speech in: never sent to the model

    @property
    def rtf(self) -> float:
        return round(self.process_time_seconds / self.duration_seconds, 4) if self.duration_seconds else 0.0


def join_pieces(texts: list[str]) -> str:
    """Pieces of one recording: a space between words, none between CJK characters."""
    return join_words(t.strip() for t in texts)


class TranscriptionService:
    def __init__(self, settings: Settings, lifecycle: LifecycleService, asr_handles: dict, aligner_handle,
                 metrics: ServiceMetrics | None = None) -> None:
        self.settings = settings
        self.cpu_work = CpuWork(settings.ingress_work_nice)  # decoding and VAD: behind the event loop
        self.metrics = metrics or ServiceMetrics()
        self.lifecycle = lifecycle
        self.asr_handles = asr_handles
        self.aligner = aligner_handle
        self.admission = Admission(admission_limit(settings))
        self.aligner_wake = AlignerWake(lifecycle, aligner_handle)

    # ---- validation -------------------------------------------------------------------
    def options(self, *, model: str | None, language: str | None, return_timestamps: bool,
                dtype: str | None, context: str | None) -> TranscribeOptions:
        model_id = (model or self.settings.default_model).strip().lower()
        if model_id not in ASR_MODELS:
            raise bad_request("unknown_model", f"Unknown model {echo(model)}; choose one of {', '.join(ASR_MODELS)}.", "model")
        try:
            resolved = resolve_language(language)
        except UnknownLanguage as exc:
            raise bad_request("unsupported_language", str(exc), "language") from exc
        dtype = (dtype or "").strip().lower() or None
        if dtype is not None and dtype not in REQUEST_DTYPES:
            raise bad_request("invalid_dtype", f"Unknown dtype {echo(dtype)}; choose {' or '.join(REQUEST_DTYPES)}.", "dtype")
        context = context or ""
        if len(context) > self.settings.max_context_chars:
            raise bad_request("context_too_long",
                              f"Context has {len(context)} characters; the limit is {self.settings.max_context_chars}.",
                              "context")
        tokens = estimate_tokens(context)
        if tokens > self.settings.max_context_tokens:
            raise bad_request("context_too_long",
                              f"Context is about {tokens} tokens; the limit is {self.settings.max_context_tokens} "
                              f"(a CJK character counts about 1, other text about 4 characters a token).", "context")
        options = TranscribeOptions(model_id, resolved, return_timestamps, dtype, context)
        if return_timestamps and not options.may_align:
            raise bad_request(
                "timestamps_unsupported_language",
                f"Timestamps are not available for {resolved.name}: the ForcedAligner supports "
                f"{', '.join(ALIGNER_LANGUAGES)}.", "language")
        return options

    async def decode(self, source: BinaryIO) -> DecodedAudio:
        try:
            audio = await self.cpu_work.run(decode_file, source)
            check_audio(audio, min_seconds=self.settings.min_audio_seconds, max_seconds=self.settings.max_audio_seconds)
        except AudioError as exc:
            raise ApiError(exc.status, exc.code, exc.message, param="file") from exc
        return audio

    # ---- running ------------------------------------------------------------------------
    def piece_limit_seconds(self, return_timestamps: bool) -> float:
        limit = self.settings.align_piece_seconds if return_timestamps else self.settings.asr_piece_seconds
        return min(limit, self.settings.asr_piece_seconds)

    def pieces(self, samples: np.ndarray, return_timestamps: bool, *, vad_short: bool = False) -> list[Piece]:
        """What the model hears (blocking: a worker thread's job). A file longer than one piece, with
        VAD: its speech, cut at pauses (serve_app.vad.file_plan), none at all without speech. A file
        that fits one piece goes whole, as to a direct model call: there is nothing to cut, and the
        model itself answers no speech with no text, so VAD would only add its cost (~2 ms of CPU per
        second of audio) to every short request; `vad_short` checks it for speech all the same (a
        Realtime commit: no turn without speech is sent). Without VAD: the energy splitter's pieces."""
        limit = int(self.piece_limit_seconds(return_timestamps) * SAMPLE_RATE)
        if not self.settings.vad_enabled or (samples.shape[0] <= limit and not vad_short):
            return self.split(samples, return_timestamps)
        plan = plan_file(shared_vad().probabilities(samples), samples.shape[0], VadParams.from_settings(self.settings),
                         limit=limit, skip=int(self.settings.vad_skip_seconds * SAMPLE_RATE))
        return [Piece(i, samples[start:end], start / SAMPLE_RATE) for i, (start, end) in enumerate(plan.pieces)]

    def split(self, samples: np.ndarray, return_timestamps: bool) -> list[Piece]:
        """qwen-asr's energy splitter: every sample, in pieces of at most the limit."""
        limit = self.piece_limit_seconds(return_timestamps)
        if samples.shape[0] <= limit * SAMPLE_RATE:
            return [Piece(0, samples, 0.0)]
        # qwen-asr looks for a quiet cut up to `expand` either side of its target: aim `expand`
        # early so that no piece exceeds the limit (the aligner refuses more than 180 s).
        expand = min(5.0, limit * 0.1)
        parts = split_audio_into_chunks(wav=samples, sr=SAMPLE_RATE, max_chunk_sec=limit - expand,
                                        search_expand_sec=expand)
        return [Piece(i, np.asarray(wav, dtype=np.float32), float(offset)) for i, (wav, offset) in enumerate(parts)]

    async def recognize(self, options: TranscribeOptions, audio: np.ndarray) -> AsrResult:
        """One call of `options.model` on 16 kHz audio (file pieces and streaming windows alike).

        Counts the audio seconds it transcribed; a full model queue raises `overloaded` (503), a
        replica lost during the call `model_unavailable` (503)."""
        request = AsrRequest(
            audio=np.ascontiguousarray(audio, dtype=np.float32),
            language=options.forced_language,
            context=options.context,
            dtype=options.dtype,
        )
        try:
            result = await self.asr_handles[options.model].transcribe.remote(request)
        except BackPressureError as exc:
            raise overloaded() from exc
        except REPLICA_LOST as exc:
            logger.warning("the %s replica was lost during a request: %s", options.model, type(exc).__name__)
            raise model_unavailable(options.model) from None
        self.metrics.audio_transcribed(options.model, request.audio.shape[0] / SAMPLE_RATE)
        return result

    async def _asr(self, options: TranscribeOptions, piece: Piece) -> AsrResult:
        return await self.recognize(options, piece.audio)

    async def transcribe_pieces(self, options: TranscribeOptions, audio: DecodedAudio,
                                started: float | None = None) -> AsyncIterator[tuple[PieceText, AsrResult]]:
        """Cuts the audio into pieces, transcribes them concurrently (they batch) and yields each
        in order as it finishes: the text of a long file as it comes (the SSE of `/v1`).

        Takes an admission slot for as long as it runs (503 + Retry-After when none is free)."""
        async with self.admission.slot():
            async for item in self._transcribe_pieces(options, audio, started):
                yield item

    async def _transcribe_pieces(self, options: TranscribeOptions, audio: DecodedAudio,
                             started: float | None = None,
                             progress: TranscriptionProgress | None = None) -> AsyncIterator[tuple[PieceText, AsrResult]]:
        started = started or time.time()
        # Finding speech and pauses in a long file takes a while: never on the event loop.
        pieces = await self.cpu_work.run(self.pieces, audio.samples, options.return_timestamps)
        if progress is not None:
            progress.planned(len(pieces), sum(p.audio.shape[0] for p in pieces) / SAMPLE_RATE)
        if not pieces:  # no speech: the model is not asked (nor loaded)
            return
        # Pieces of one file go out together so they batch, but never more than a replica
        # takes at once: a long file must not trip the backpressure meant for overload.
        window = asyncio.Semaphore(max(1, self.settings.model_max_ongoing_requests))

        async def bounded(piece: Piece) -> AsrResult:
            async with window:
                return await self._asr(options, piece)

        self.aligner_wake.start(options)
        async with self.lifecycle.serving(options.model):
            tasks = [asyncio.ensure_future(bounded(p)) for p in pieces]
            try:
                for piece, task in zip(pieces, tasks):
                    result = await task
                    yield PieceText(piece.index, piece.offset, piece.audio.shape[0] / SAMPLE_RATE,
                                    result.text, result.language), result
            finally:
                for task in tasks:
                    task.cancel()

    async def transcribe(self, source: BinaryIO, options: TranscribeOptions,
                         progress: TranscriptionProgress | None = None) -> Transcript:
        """`progress` (optional) hears the plan, each piece in order and the alignment step."""
        # Admitted before decoding: a refused request costs no decode either.
        async with self.admission.slot():
            audio = await self.decode(source)
            return await self._transcribe_audio(audio, options, progress)

    async def transcribe_audio(self, audio: DecodedAudio, options: TranscribeOptions) -> Transcript:
        async with self.admission.slot():
            return await self._transcribe_audio(audio, options)

    async def _transcribe_audio(self, audio: DecodedAudio, options: TranscribeOptions,
                                progress: TranscriptionProgress | None = None) -> Transcript:
        started_wall = time.time()
        started = time.perf_counter()
        pieces: list[PieceText] = []
        results: list[AsrResult] = []
        async for piece, result in self._transcribe_pieces(options, audio, started_wall, progress):
            pieces.append(piece)
            results.append(result)
            if progress is not None:
                progress.piece_done(piece)
        load_wait = max(0.0, max((r.replica_loaded_at for r in results), default=0.0) - started_wall)
        language = effective_language(options.language, [p.language for p in pieces])
        timestamps = None
        if options.return_timestamps and (can_align(language) or not options.timestamps_best_effort):
            if progress is not None:
                progress.aligning()
            timestamps, align_load = await self.align(audio, pieces, language, started_wall)
            load_wait = max(load_wait, align_load)
        process = max(0.0, time.perf_counter() - started - load_wait)
        self.metrics.file_transcribed(options.model, process, audio.duration)
        return Transcript(
            text=join_pieces([p.text for p in pieces]),
            language=language,
            model=options.model,
            dtype=results[0].dtype if results else options.dtype or "",
            duration_seconds=round(audio.duration, 3),
            process_time_seconds=round(process, 4),
            load_time_seconds=round(load_wait, 3),
            timestamps=timestamps,
            pieces=pieces,
            batch_sizes=[r.batch_size for r in results],
            skipped_seconds=round(max(0.0, audio.duration - sum(p.duration for p in pieces)), 3),
        )

    async def align(self, audio: DecodedAudio, pieces: list[PieceText], language: str,
                    started_wall: float) -> tuple[list[WordTime], float]:
        align_language = primary_language(language)
        if not any(p.text.strip() for p in pieces):
            return [], 0.0
        if not can_align(align_language):
            raise ApiError(422, "timestamps_unsupported_language",
                           f"The detected language {align_language or 'unknown'!r} cannot be timed; the ForcedAligner "
                           f"supports {', '.join(ALIGNER_LANGUAGES)}. Force one of them or turn timestamps off.",
                           param="language")
        await self.aligner_wake.settled()
        async with self.lifecycle.serving(ALIGNER):
            requests = []
            for p in pieces:
                if not p.text.strip():
                    continue
                start = int(round(p.offset * SAMPLE_RATE))
                segment = audio.samples[start:start + int(round(p.duration * SAMPLE_RATE))]
                requests.append((p.offset, AlignRequest(segment, p.text, align_language)))
            try:
                window = asyncio.Semaphore(max(1, self.settings.model_max_ongoing_requests))

                async def bounded(request: AlignRequest):
                    async with window:
                        return await self.aligner.align.remote(request)

                results = await asyncio.gather(*(bounded(r) for _, r in requests))
            except BackPressureError as exc:
                raise overloaded() from exc
            except REPLICA_LOST as exc:
                logger.warning("the aligner replica was lost during a request: %s", type(exc).__name__)
                raise model_unavailable(ALIGNER) from None
            except UnsupportedAlignLanguage as exc:
                raise ApiError(422, "timestamps_unsupported_language", str(exc), param="language") from exc
        words = [
            WordTime(w.text, round(w.start + offset, 3), round(w.end + offset, 3))
            for (offset, _), result in zip(requests, results)
            for w in result.words
        ]
        load_wait = max(0.0, max(r.replica_loaded_at for r in results) - started_wall)
        return words, load_wait

