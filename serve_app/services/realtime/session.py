"""One Realtime transcription session: a reader task and a worker that handles the client's events
in order (VAD, turns, model calls). Bad events get an `error` event and the session goes on; limits
that end it (length, idle time) send one and close."""

from __future__ import annotations

import asyncio
import functools
import base64
import binascii
import logging
import time
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from deployments.protocol import SAMPLE_RATE
from serve_app.errors import ApiError
from serve_app.openai_protocol import OPENAI_PARAMS, resolve_model
from serve_app.realtime_protocol import (
    INPUT_RATES,
    MIN_COMMIT_MS,
    AudioAppend,
    AudioClear,
    AudioCommit,
    BadEvent,
    Cleared,
    Committed,
    DurationUsage,
    ErrorDetail,
    ModelLoading,
    SessionCreated,
    SessionUpdate,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    TranscriptCompleted,
    TranscriptDelta,
    TranscriptFailed,
    TranscriptionSession,
    error_event,
    item_id,
    merged,
    parse_client_event,
    validation_message,
)
from serve_app.services.realtime.turns import InputBuffer, TurnEvent, vad_params
from serve_app.services.streaming.channel import Channel, ClientGone, StreamError
from serve_app.services.streaming.inbound import MAX_FRAME_BYTES
from serve_app.services.streaming.pcm import PcmDecoder
from serve_app.services.transcription import TranscribeOptions, join_pieces
from serve_app.stream_protocol import CLOSE_INTERNAL, CLOSE_POLICY, CLOSE_TOO_BIG

if TYPE_CHECKING:
    from serve_app.services.realtime.service import RealtimeService

logger = logging.getLogger(__name__)

LISTEN_EVERY = SAMPLE_RATE // 4     # the VAD runs at least every 250 ms of new audio (or when the client pauses)


def milliseconds(sample: int) -> int:
    return int(sample * 1000 // SAMPLE_RATE)


class RealtimeSession:
    def __init__(self, service: RealtimeService, channel: Channel, model: str | None) -> None:
        self.service = service
        self.settings = service.settings
        self.transcription = service.transcription
        self.channel = channel
        self.inbox: asyncio.Queue = asyncio.Queue(maxsize=64)
        self.session = TranscriptionSession()
        if model:
            self.session.audio.input.transcription.model = model
        self.options = self._options(self.session)
        self.decoder = PcmDecoder("pcm_s16le", self.session.audio.input.format.rate)
        self.buffer = self._buffer()
        self.heard = 0                       # samples received (session length)
        self.listened_at = 0
        self.delta_at = 0                    # buffer.total at the last delta
        self.sent: dict[str, str] = {}       # item -> text sent as deltas
        self.previous_item: str | None = None

    # ---- lifetime -----------------------------------------------------------------------
    async def run(self) -> None:
        await self.channel.send(SessionCreated(session=self.session))
        tasks = {asyncio.create_task(self.channel.read_into(self.inbox), name="realtime-read"),
                 asyncio.create_task(self._work(), name="realtime-work")}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if isinstance(error, StreamError):
                    await self._fail(error)
                elif error is not None and not isinstance(error, ClientGone):
                    logger.error("realtime session failed", exc_info=error)
                    await self._fail(StreamError("internal_error", f"Internal error: {type(error).__name__}.",
                                                 CLOSE_INTERNAL))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)

    async def _fail(self, error: StreamError) -> None:
        kind = "server_error" if error.close_code == CLOSE_INTERNAL else "invalid_request_error"
        try:
            await self.channel.send(error_event(error.code, error.message, kind=kind))
        except ClientGone:
            return
        await self.channel.close(error.close_code, error.code)

    async def _next(self) -> dict:
        idle = self.settings.stream_idle_timeout_s
        while True:
            wait = self.channel.last_heard + idle - time.monotonic()
            if wait <= 0:
                raise StreamError("idle_timeout", f"No event for {idle:g} s.", CLOSE_POLICY)
            try:
                return await asyncio.wait_for(self.inbox.get(), wait)
            except TimeoutError:
                continue

    async def _work(self) -> None:
        while True:
            message = await self._next()
            try:
                await self._handle(message)
            except BadEvent as bad:
                await self.channel.send(error_event(bad.code, bad.message, param=bad.param,
                                                    client_event_id=bad.client_event_id))
            if self.inbox.empty() or self.buffer.total - self.listened_at >= LISTEN_EVERY:
                await self._listen()

    # ---- client events ------------------------------------------------------------------
    async def _handle(self, message: dict) -> None:
        text = message.get("text")
        if text is None:
            if message.get("bytes") is not None:
                raise BadEvent("invalid_event", "Binary frames are not events: send input_audio_buffer.append "
                               "with base64 audio.")
            return
        if len(text) > MAX_FRAME_BYTES:
            raise BadEvent("event_too_large", f"An event holds {len(text)} characters; the limit is "
                           f"{MAX_FRAME_BYTES}. Append audio in smaller pieces.")
        event = parse_client_event(text)
        if isinstance(event, SessionUpdate):
            await self._update(event)
        elif isinstance(event, AudioAppend):
            self._append(event)
        elif isinstance(event, AudioCommit):
            await self._commit(event)
        elif isinstance(event, AudioClear):
            self.buffer.clear()
            self.delta_at = self.buffer.total
            await self.channel.send(Cleared())

    async def _update(self, event: SessionUpdate) -> None:
        update = event.session
        if update.get("type", "transcription") != "transcription":
            raise BadEvent("invalid_value", "This endpoint runs transcription sessions: session.type must be "
                           "'transcription' (connect with ?intent=transcription).", "session.type", event.event_id)
        try:
            session = merged(self.session, update)
        except ValidationError as exc:
            where, message = validation_message(exc)
            raise BadEvent("invalid_value", message.replace(f"'{where}'", f"'session.{where}'"), f"session.{where}",
                           event.event_id) from None
        rate = session.audio.input.format.rate
        if rate not in INPUT_RATES:
            raise BadEvent("invalid_value", f"audio.input.format.rate {rate} is not supported; send "
                           f"{' or '.join(map(str, INPUT_RATES))} Hz PCM16.", "session.audio.input.format.rate",
                           event.event_id)
        options = self._options(session, event.event_id)
        before = self.session.audio.input
        self.session, self.options = session, options
        if rate != before.format.rate:
            self.decoder = PcmDecoder("pcm_s16le", rate)
        if session.audio.input.turn_detection != before.turn_detection:
            # A new detector over the audio to come: the uncommitted audio is dropped.
            self.buffer = self._buffer(offset=self.heard)
            self.listened_at = self.delta_at = 0
        await self.channel.send(SessionUpdated(session=self.session))

    def _options(self, session: TranscriptionSession, client_event_id: str | None = None) -> TranscribeOptions:
        wanted = session.audio.input.transcription or type(session.audio.input.transcription)()
        try:
            model = resolve_model(wanted.model, self.settings)
            return self.transcription.options(model=model, language=wanted.language, return_timestamps=False,
                                              dtype=None, context=wanted.prompt)
        except ApiError as exc:
            param = OPENAI_PARAMS.get(exc.param, exc.param) or "model"
            raise BadEvent(exc.code, exc.message, f"session.audio.input.transcription.{param}",
                           client_event_id) from None

    def _buffer(self, offset: int = 0) -> InputBuffer:
        turns = self.session.audio.input.turn_detection
        params = vad_params(turns, self.settings.vad_min_speech_ms) if turns is not None else None
        return InputBuffer(params, round(self.settings.stream_window_seconds * SAMPLE_RATE), offset)

    @property
    def manual_limit(self) -> int:
        """Most uncommitted audio without turn detection: one piece the model takes at once."""
        return round(min(self.settings.asr_piece_seconds, self.settings.batch_max_audio_seconds) * SAMPLE_RATE)

    def _append(self, event: AudioAppend) -> None:
        try:
            payload = base64.b64decode(event.audio, validate=True)
        except (binascii.Error, ValueError):
            raise BadEvent("invalid_value", "input_audio_buffer.append: 'audio' is not valid base64.", "audio",
                           event.event_id) from None
        samples = self.decoder.feed(payload)
        if self.heard + samples.shape[0] > round(self.settings.stream_max_seconds * SAMPLE_RATE):
            raise StreamError("session_too_long", f"The session passed the {self.settings.stream_max_seconds:g} s "
                              "limit; start a new one.", CLOSE_TOO_BIG)
        if self.buffer.vad is None and self.buffer.pending + samples.shape[0] > self.manual_limit:
            raise BadEvent("input_audio_buffer_full", f"The input audio buffer holds at most "
                           f"{self.manual_limit / SAMPLE_RATE:g} s without turn detection; commit it first.",
                           "audio", event.event_id)
        self.heard += samples.shape[0]
        self.buffer.append(samples)

    async def _commit(self, event: AudioCommit) -> None:
        if self.buffer.pending < MIN_COMMIT_MS * SAMPLE_RATE // 1000:
            raise BadEvent("input_audio_buffer_commit_empty", f"The buffer holds less than {MIN_COMMIT_MS} ms of "
                           "audio: nothing to commit.", None, event.event_id)
        item = self.buffer.item or item_id()
        self.buffer.item = None
        audio = self.buffer.take(self.buffer.total)
        await self._committed(item)
        await self._transcribe(item, audio, whole_buffer=True)

    # ---- turns and transcripts ----------------------------------------------------------
    async def _listen(self) -> None:
        self.listened_at = self.buffer.total
        if self.buffer.vad is None:
            return
        for turn in await asyncio.to_thread(self.buffer.listen):
            await self._on_turn(turn)
        spoken = self.buffer.spoken()
        chunk = round(self.settings.stream_chunk_seconds * SAMPLE_RATE)
        if spoken is not None and self.buffer.total - self.delta_at >= chunk and spoken.shape[0] >= chunk:
            self.delta_at = self.buffer.total
            text = await self._text(spoken.copy(), whole_buffer=False)
            if text is not None:
                await self._delta(self.buffer.item, text)

    async def _on_turn(self, turn: TurnEvent) -> None:
        if turn.kind == "started":
            self.delta_at = turn.sample
            await self.channel.send(SpeechStarted(audio_start_ms=milliseconds(turn.sample + self.buffer.offset),
                                                  item_id=turn.item_id))
            return
        if turn.kind == "stopped":
            await self.channel.send(SpeechStopped(audio_end_ms=milliseconds(turn.sample + self.buffer.offset),
                                                  item_id=turn.item_id))
        await self._committed(turn.item_id)
        await self._transcribe(turn.item_id, turn.audio, whole_buffer=False)

    async def _committed(self, item: str) -> None:
        await self.channel.send(Committed(item_id=item, previous_item_id=self.previous_item))
        self.previous_item = item

    async def _delta(self, item: str, text: str) -> None:
        """Deltas only ever extend what was sent: a hypothesis that changed earlier words waits for `completed`."""
        sent = self.sent.get(item, "")
        if text.startswith(sent) and len(text) > len(sent):
            await self.channel.send(TranscriptDelta(item_id=item, delta=text[len(sent):]))
            self.sent[item] = text

    async def _transcribe(self, item: str, audio: np.ndarray, *, whole_buffer: bool) -> None:
        try:
            text = await self._text(audio, whole_buffer=whole_buffer, failing_item=item)
            if text is None:
                return
            await self._delta(item, text)
            await self.channel.send(TranscriptCompleted(
                item_id=item, transcript=text, usage=DurationUsage(seconds=round(audio.shape[0] / SAMPLE_RATE, 3))))
        finally:
            self.sent.pop(item, None)

    async def _text(self, audio: np.ndarray, *, whole_buffer: bool, failing_item: str | None = None) -> str | None:
        """The model's text for `audio` (a committed buffer is cut like a file: nothing without speech is
        sent); None when it failed (a `failed` event for a committed item, nothing for a delta)."""
        options = self.options
        lifecycle = self.service.lifecycle
        try:
            if whole_buffer:
                plan = functools.partial(self.transcription.pieces, audio, False, vad_short=True)
                pieces = [p.audio for p in await self.transcription.cpu_work.run(plan)]
            else:
                pieces = [audio]
            if not pieces:
                return ""
            if not lifecycle.is_running(options.model):
                await self.channel.send(ModelLoading(model=options.model))
            async with lifecycle.serving(options.model):
                results = await asyncio.gather(*(self.transcription.recognize(options, p) for p in pieces))
            return join_pieces([r.text for r in results])
        except ApiError as exc:
            if failing_item is not None:
                await self.channel.send(TranscriptFailed(item_id=failing_item, error=ErrorDetail(
                    type="server_error" if exc.status >= 500 else "invalid_request_error", code=exc.code,
                    message=exc.message)))
            return None

