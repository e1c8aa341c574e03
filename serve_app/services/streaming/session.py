"""One WebSocket session: a reader task, a dispatcher (protocol checks) and a worker (model calls)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from deployments.protocol import SAMPLE_RATE
from serve_app.errors import ApiError
from serve_app.services.streaming.alignment import SessionAlignments
from serve_app.services.streaming.channel import Channel, ClientGone, StreamError
from serve_app.services.streaming.decoding import SessionModel, SessionStats
from serve_app.services.streaming.inbound import (
    check_frame,
    deadline,
    parse_control,
    parse_start,
    timeout_error,
)
from serve_app.services.streaming.pcm import PcmDecoder
from serve_app.services.streaming.recognizer import Recognizer
from serve_app.services.streaming.speech import VadCutPlanner, speech_message
from serve_app.services.transcription import TranscribeOptions
from serve_app.stream_protocol import (
    CLOSE_INTERNAL,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
    FinalMessage,
    LoadingMessage,
    ReadyMessage,
    StartMessage,
)
from serve_app.vad.live import LiveVad

if TYPE_CHECKING:
    from serve_app.services.streaming.service import StreamingService

logger = logging.getLogger(__name__)

WARMUP_SAMPLES = SAMPLE_RATE // 2    # silence sent to a cold model to load it before `ready`
OVERLOAD_RETRY_S = 0.5               # a model answering "overloaded" is asked again after this long...
FINAL_ATTEMPTS = 6                   # ...and the final gives up after this many tries


class StreamSession:
    def __init__(self, service: StreamingService, channel: Channel) -> None:
        self.service = service
        self.config = service.config
        self.channel = channel
        # With the VAD on, Silero decides where to cut and what is speech; else frame energy does.
        self.vad = LiveVad(service.vad_params) if service.vad_params is not None else None
        if self.vad is not None:
            planner = VadCutPlanner(self.vad)
            self.recognizer = Recognizer(self.config, planner, planner.gate)
        else:
            self.recognizer = Recognizer(self.config, service.cut_planner)
        self.inbox: asyncio.Queue = asyncio.Queue(maxsize=64)
        self.options: TranscribeOptions | None = None
        self.start_message: StartMessage | None = None
        self.decoder: PcmDecoder | None = None
        self.started = asyncio.Event()
        self.wake = asyncio.Event()
        self.progress = asyncio.Event()
        self.ready = False
        self.ready_at: float | None = None   # time.monotonic() when `ready` was sent
        self.stopped = False
        self.stopped_at = 0.0
        self.opened_at = time.monotonic()
        self.stats = SessionStats()
        self.model = SessionModel(service.transcription, service.lifecycle, self.stats)
        self.alignments = SessionAlignments(service.transcription)

    # ---- lifetime ---------------------------------------------------------------------
    async def run(self) -> None:
        tasks = {
            asyncio.create_task(self.channel.read_into(self.inbox), name="stream-read"),
            asyncio.create_task(self._dispatch(), name="stream-dispatch"),
            asyncio.create_task(self._work(), name="stream-work"),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            await self._conclude(done)
        except asyncio.CancelledError:
            raise
        except Exception:  # the session must never take the ingress down
            logger.exception("streaming session failed")
            await self.channel.fail(StreamError("internal_error", "Internal error.", CLOSE_INTERNAL))
        finally:
            for task in [*tasks, *self.alignments.tasks]:
                task.cancel()
            await asyncio.wait([*tasks, *self.alignments.tasks])

    async def _conclude(self, done: set[asyncio.Task]) -> None:
        # The slot is free before the client hears the close, so it can open the next session at once.
        self.service.closed(self)
        errors = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
        audio = round(self.recognizer.total / SAMPLE_RATE, 1)
        if any(isinstance(e, ClientGone) for e in errors):
            logger.info("stream session: client gone after %.1f s of audio", audio)
            return
        stream_errors = [e for e in errors if isinstance(e, StreamError)]
        if stream_errors:
            logger.info("stream session: error %s after %.1f s of audio", stream_errors[0].code, audio)
            await self.channel.fail(stream_errors[0])
            return
        if errors:
            logger.error("streaming session failed", exc_info=errors[0])
            await self.channel.fail(StreamError("internal_error", f"Internal error: {type(errors[0]).__name__}",
                                                CLOSE_INTERNAL))
            return
        if any(t.get_name() == "stream-work" for t in done):
            logger.info("stream session: final after %.1f s of audio, %d partials", audio, self.stats.partials)
            await self.channel.close(CLOSE_NORMAL, "done")
            return
        # otherwise the client disconnected (the reader returned): nothing to send
        logger.info("stream session: client disconnected after %.1f s of audio", audio)

    # ---- reading ----------------------------------------------------------------------
    def _deadline(self) -> float | None:
        return deadline(self.config, opened_at=self.opened_at, started=self.start_message is not None,
                        stopped=self.stopped, ready_at=self.ready_at, last_heard=self.channel.last_heard)

    async def _next_message(self) -> dict:
        """The next message from the inbox, or the timeout error once the deadline has passed.

        The deadline is recomputed after every wait, so one that appears (`ready`) or moves while the
        dispatcher waits is honoured: while it is unknown, the wait is cut into `idle_timeout_s` slices."""
        while True:
            due = self._deadline()
            now = time.monotonic()
            if due is not None and now >= due:
                raise timeout_error(self.config, elapsed=now - self.opened_at, started=self.start_message is not None,
                                    text=self.recognizer.text())
            wait = self.config.idle_timeout_s if due is None else due - now
            try:
                return await asyncio.wait_for(self.inbox.get(), max(0.001, wait))
            except TimeoutError:
                continue

    async def _dispatch(self) -> None:
        while True:
            message = await self._next_message()
            data = message.get("bytes")
            if data is not None:
                await self._on_audio(data)
                continue
            text = message.get("text")
            if text is not None:
                self._on_text(text)

    def _on_text(self, text: str) -> None:
        kind, data = parse_control(text, self.stopped)
        if kind == "start":
            self._on_start(data)
        else:
            self._on_stop()

    def _on_start(self, data: dict) -> None:
        if self.start_message is not None:
            raise StreamError("duplicate_start", "The session has already started.", CLOSE_POLICY)
        start = parse_start(data)
        try:
            self.options = self.service.transcription.options(
                model=start.model, language=start.language, return_timestamps=start.return_timestamps,
                dtype=start.dtype, context=start.context)
        except ApiError as exc:
            raise StreamError(exc.code, exc.message, CLOSE_POLICY) from None
        self.decoder = PcmDecoder(start.format, start.sample_rate)
        self.start_message = start
        self.started.set()

    def _on_stop(self) -> None:
        if self.start_message is None:
            raise StreamError("stop_before_start", "Send a start message first.", CLOSE_POLICY)
        self._add(self.decoder.flush())
        self.stopped = True
        self.stopped_at = time.perf_counter()
        self.wake.set()

    async def _on_audio(self, payload: bytes) -> None:
        check_frame(payload, started=self.start_message is not None, stopped=self.stopped)
        try:
            samples = self.decoder.feed(payload)
        except ValueError as exc:
            raise StreamError("invalid_audio", str(exc), CLOSE_UNSUPPORTED) from None
        self._add(samples)
        # Back-pressure: a client far ahead of the model waits (its socket buffers fill up).
        while self.recognizer.backlog() > self.config.backlog_samples:
            self.progress.clear()
            await self.progress.wait()

    def _add(self, samples: np.ndarray) -> None:
        if self.recognizer.total + samples.shape[0] > self.config.max_samples:
            raise StreamError("session_too_long", f"The session passed the {self.config.max_seconds:g} s limit; "
                              "start a new one.", CLOSE_TOO_BIG, text=self.recognizer.text())
        self.recognizer.add(samples)
        self.wake.set()

    # ---- working ----------------------------------------------------------------------
    async def _work(self) -> None:
        await self.started.wait()
        await self._prepare()
        while True:
            self.wake.clear()
            if self.stopped:
                break
            if self.recognizer.due():
                try:
                    await self._tick()
                except StreamError as exc:
                    if exc.code != "overloaded":
                        raise
                    await asyncio.sleep(OVERLOAD_RETRY_S)  # skip this partial; the next tick catches up
                continue
            await self.wake.wait()
        for attempt in range(FINAL_ATTEMPTS):
            try:
                await self._finalize()
                return
            except StreamError as exc:
                if exc.code != "overloaded" or attempt == FINAL_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(OVERLOAD_RETRY_S * (attempt + 1))

    async def _prepare(self) -> None:
        """`loading` while a cold model starts (a warm-up call brings it up), then `ready`."""
        model = self.options.model
        lifecycle = self.service.lifecycle
        cold = not lifecycle.is_running(model)
        started = time.perf_counter()
        if cold:
            await self.channel.send(LoadingMessage(model=model))
        async with lifecycle.serving(model):
            if cold:
                result = await self.model.recognize(self.options, np.zeros(WARMUP_SAMPLES, np.float32))
                self.stats.dtype = result.dtype
                self.stats.load_seconds = time.perf_counter() - started
        start = self.start_message
        await self.channel.send(ReadyMessage(model=model, sample_rate=start.sample_rate, format=start.format,
                                             chunk_seconds=self.config.chunk_seconds,
                                             max_seconds=self.config.max_seconds))
        self.ready_at = time.monotonic()
        self.ready = True

    async def _listen(self) -> None:
        """Runs the VAD over the audio it has not heard (in a worker thread), then tells the client
        where speech started and stopped."""
        if self.vad is None:
            return
        fresh = self.recognizer.audio.view(self.vad.fed, self.recognizer.total).copy()
        await asyncio.to_thread(self.vad.feed, fresh)
        for event in self.vad.events():
            await self.channel.send(speech_message(event))

    async def _step(self, final: bool) -> None:
        await self._listen()
        tick = self.recognizer.plan()
        if final and tick.reuse:
            self.recognizer.apply(tick, [], self.recognizer.hypothesis)
            open_piece = self.recognizer.pieces(tick)[-1]
        else:
            pieces = self.recognizer.pieces(tick)
            results = await self.model.decode(self.options, pieces, self.recognizer.speech(tick))
            if self.options.return_timestamps:
                for (start, _), piece, result in zip(tick.cuts, pieces, results):
                    self.alignments.later(piece, start, result)
            open_piece = pieces[-1]
            self.recognizer.apply(tick, results[:-1], results[-1])
        if self.vad is not None:
            self.vad.forget_before(self.recognizer.window_start)
        if final and self.options.return_timestamps:
            self.alignments.later(open_piece, tick.open[0], self.recognizer.hypothesis)

    async def _tick(self) -> None:
        await self._step(final=False)
        self.stats.partials += 1
        await self.channel.send(self.recognizer.partial())
        self.progress.set()

    async def _finalize(self) -> None:
        await self._step(final=True)
        self.progress.set()
        timestamps, timestamps_error = None, None
        if self.options.return_timestamps:
            started = time.perf_counter()
            timestamps, timestamps_error = await self.alignments.collect()
            self.stats.process_seconds += time.perf_counter() - started
        recognizer = self.recognizer
        duration = recognizer.total / SAMPLE_RATE
        language = self.options.forced_language or recognizer.language()
        process = self.stats.process_seconds
        await self.channel.send(FinalMessage(
            text=recognizer.text(), language=language, model=self.options.model,
            dtype=self.stats.dtype or self.options.dtype or "", duration_seconds=round(duration, 3),
            process_time_seconds=round(process, 4), rtf=round(process / duration, 4) if duration else 0.0,
            load_time_seconds=round(self.stats.load_seconds, 3),
            finalize_seconds=round(time.perf_counter() - self.stopped_at, 4),
            compute_seconds=round(self.stats.compute_seconds, 4),
            segments=recognizer.segments + (1 if recognizer.hypothesis_span[1] > recognizer.hypothesis_span[0] else 0),
            timestamps=timestamps, timestamps_error=timestamps_error,
        ))
