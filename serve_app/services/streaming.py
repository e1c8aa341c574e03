"""Streaming recognition on the transformers backend: an incremental recognizer over WebSocket.

`qwen-asr`'s own streaming API exists only on vLLM, so streaming is built here from plain
`transcribe` calls, which go through the ASR deployment's `@serve.batch` like file requests:

* The audio since the last cut is the open *window*. Every `stream_chunk_seconds` of new audio
  the window is decoded again and sent as the `unstable_text` of a `partial`.
* The window is cut at a quiet point (a pause of >= 0.3 s) once it holds at least
  `min_segment_seconds` of audio, or at its quietest 100 ms once it reaches
  `stream_window_seconds`. The audio before the cut is decoded on its own, in the same batch as
  the new window, and its text is *committed*: appended to `stable_text`, never changed again.
  Audio before the cut is dropped, so cost per tick and memory stay bounded for an hour.
* On `stop` the rest is decoded (or the last hypothesis reused when it already covers all the
  audio) and `final` is sent. An utterance shorter than `min_segment_seconds` is never cut, so its
  final text is exactly the offline `/api/transcribe` text for the same audio.

Pure logic (cut search, PCM framing, the recognizer state) is separate from `StreamSession`,
which runs one WebSocket: a reader task, a dispatcher (protocol checks) and a worker (model calls).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from contextlib import suppress
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ValidationError
from qwen_asr.inference.utils import merge_languages
from ray.serve.exceptions import BackPressureError

from deployments.protocol import SAMPLE_RATE, AsrRequest, AsrResult, WordTime
from serve_app.audio import DecodedAudio, decode_pcm
from serve_app.errors import ApiError, echo
from serve_app.request_id import current_request_id
from serve_app.services.transcription import PieceText, TranscribeOptions, join_pieces
from serve_app.settings import Settings
from serve_app.stream_protocol import (
    CLOSE_INTERNAL,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN,
    CLOSE_UNSUPPORTED,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    PCM_FORMATS,
    ErrorMessage,
    FinalMessage,
    LoadingMessage,
    PartialMessage,
    ReadyMessage,
    StartMessage,
    WordTimestampOut,
    dump,
    parse_json_message,
)

logger = logging.getLogger(__name__)

FRAME = SAMPLE_RATE // 50            # 20 ms analysis frames for the quiet-point search
QUIET_SECONDS = 0.3                  # a pause at least this long is a place to cut
QUIET_RATIO = 0.08                   # quiet = frame RMS under 8 % (-22 dB) of the window's loud frames...
QUIET_FLOOR = 0.002                  # ...or under -54 dBFS, whichever is higher
SPEECH_PEAK = 0.003                  # a piece whose peak stays under -50 dBFS is not sent to the model
START_TIMEOUT_S = 30.0               # defaults of stream_start_timeout_s / stream_idle_timeout_s
IDLE_TIMEOUT_S = 60.0
MAX_FRAME_BYTES = 8 * 1024 * 1024    # one binary frame (~4 min of 16 kHz s16)
WALL_GRACE_S = 300.0                 # a session lasts at most stream_max_seconds + this in wall time
WARMUP_SAMPLES = SAMPLE_RATE // 2    # silence sent to a cold model to load it before `ready`
OVERLOAD_RETRY_S = 0.5               # a model answering "overloaded" is asked again after this long...
FINAL_ATTEMPTS = 6                   # ...and the final gives up after this many tries


# ---------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class StreamConfig:
    chunk_seconds: float = 1.0
    window_seconds: float = 20.0
    max_seconds: float = 3600.0
    quiet_seconds: float = QUIET_SECONDS
    start_timeout_s: float = START_TIMEOUT_S   # connect -> `start`
    idle_timeout_s: float = IDLE_TIMEOUT_S     # no message from the client this long (see StreamSession._deadline)

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamConfig:
        return cls(settings.stream_chunk_seconds, settings.stream_window_seconds, settings.stream_max_seconds,
                   start_timeout_s=settings.stream_start_timeout_s, idle_timeout_s=settings.stream_idle_timeout_s)

    @property
    def min_segment_seconds(self) -> float:
        """Shortest committed window: shorter utterances are never cut (offline parity)."""
        return min(max(2 * self.chunk_seconds, self.window_seconds / 4), self.window_seconds / 2)

    @property
    def chunk_samples(self) -> int:
        return max(1, round(self.chunk_seconds * SAMPLE_RATE))

    @property
    def window_samples(self) -> int:
        return round(self.window_seconds * SAMPLE_RATE)

    @property
    def min_segment_samples(self) -> int:
        return round(self.min_segment_seconds * SAMPLE_RATE)

    @property
    def max_samples(self) -> int:
        return round(self.max_seconds * SAMPLE_RATE)

    @property
    def backlog_samples(self) -> int:
        """Received but not yet decoded audio above which the server stops reading the socket."""
        return max(3 * self.window_samples, 10 * self.chunk_samples)


def session_limit(stream_max_sessions: int, ingress_max_ongoing: int) -> int:
    """Open sockets count as ongoing requests of the ingress: they may take at most half its slots."""
    return max(1, min(stream_max_sessions, ingress_max_ongoing // 2))


def ingress_max_ongoing(settings: Settings) -> int:
    """The ingress replica's real `max_ongoing_requests` (serve_config.yaml may override the setting)."""
    try:
        from ray import serve

        config = serve.get_replica_context()._deployment_config
        return int(config.max_ongoing_requests)
    except Exception:
        return settings.max_ongoing_requests


# ---------------------------------------------------------------------- quiet points
def frame_rms(samples: np.ndarray, frame: int = FRAME) -> np.ndarray:
    count = samples.shape[0] // frame
    if count == 0:
        return np.zeros(0, np.float32)
    framed = samples[:count * frame].reshape(count, frame).astype(np.float32)
    return np.sqrt(np.mean(framed * framed, axis=1))


def quiet_threshold(rms: np.ndarray) -> float:
    loud = float(np.percentile(rms, 95)) if rms.size else 0.0
    return max(QUIET_FLOOR, QUIET_RATIO * loud)


def quiet_runs(rms: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """[start, end) frame ranges where every frame is at or under the threshold."""
    quiet = np.concatenate([[False], rms <= threshold, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2])]


def find_quiet_cut(samples: np.ndarray, *, min_samples: int, max_samples: int,
                   quiet_seconds: float = QUIET_SECONDS) -> int | None:
    """The latest cut in [min_samples, max_samples] inside a pause of >= quiet_seconds, or None.

    The cut keeps half the pause's minimum length of quiet on each side, so it never lands in a word.
    """
    region = samples[:max_samples]
    rms = frame_rms(region)
    if rms.size == 0:
        return None
    need = max(1, math.ceil(quiet_seconds * SAMPLE_RATE / FRAME))
    margin = (need // 2) * FRAME
    best = None
    for start, end in quiet_runs(rms, quiet_threshold(rms)):
        if end - start < need:
            continue
        low = max(start * FRAME + margin, min_samples)
        high = min(end * FRAME - margin, max_samples)
        if low > high:
            continue
        middle = (start + end) // 2 * FRAME
        best = min(max(middle, low), high)
    return best


def find_forced_cut(samples: np.ndarray, *, min_samples: int, max_samples: int) -> int:
    """The quietest 100 ms between min_samples and max_samples (the latest one on ties)."""
    rms = frame_rms(samples[:max_samples])
    low = min_samples // FRAME
    if rms.size <= low + 1:
        return max_samples
    smooth = np.convolve(rms, np.ones(5, np.float32) / 5, mode="same")[low:]
    index = smooth.size - 1 - int(np.argmin(smooth[::-1]))
    return min(max((low + index) * FRAME + FRAME // 2, min_samples), max_samples)


def plan_cuts(samples: np.ndarray, config: StreamConfig) -> list[int]:
    """Where to cut an open window (increasing indexes into it); audio after the last cut stays open.

    A cut needs min_segment of audio before it; a window longer than window_seconds is always cut.
    A long backlog (a client sending faster than real time) can give several cuts at once.
    """
    cuts: list[int] = []
    start = 0
    total = samples.shape[0]
    while total - start >= config.min_segment_samples:
        rest = samples[start:]
        limit = min(rest.shape[0], config.window_samples)
        cut = find_quiet_cut(rest, min_samples=config.min_segment_samples, max_samples=limit,
                             quiet_seconds=config.quiet_seconds)
        if cut is None and rest.shape[0] > config.window_samples:
            cut = find_forced_cut(rest, min_samples=config.min_segment_samples, max_samples=limit)
        if cut is None or cut <= 0:
            break
        start += cut
        cuts.append(start)
    return cuts


def has_speech(samples: np.ndarray) -> bool:
    return samples.size > 0 and float(np.max(np.abs(samples))) >= SPEECH_PEAK


# ---------------------------------------------------------------------- PCM input
class PcmDecoder:
    """Binary frames of any size -> 16 kHz float32; keeps split samples and the resampler state."""

    def __init__(self, sample_format: str, sample_rate: int) -> None:
        if sample_format not in PCM_FORMATS:
            raise ValueError(f"Unknown PCM format {sample_format!r}")
        self.format = sample_format
        self.width = 2 if sample_format == "pcm_s16le" else 4
        self.sample_rate = sample_rate
        self._carry = b""
        self._resampler = None
        if sample_rate != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def feed(self, payload: bytes) -> np.ndarray:
        data = self._carry + payload if self._carry else payload
        usable = len(data) - len(data) % self.width
        self._carry = bytes(data[usable:])
        samples = decode_pcm(bytes(data[:usable]), self.format)
        if not np.isfinite(samples).all():
            raise ValueError("The audio contains NaN or infinite samples.")
        if self.format == "f32le" and samples.size and float(np.max(np.abs(samples))) > 64.0:
            raise ValueError("f32le samples must lie in [-1, 1]; these look like another format.")
        return self._resample(samples, last=False)

    def flush(self) -> np.ndarray:
        return self._resample(np.zeros(0, np.float32), last=True)

    def _resample(self, samples: np.ndarray, last: bool) -> np.ndarray:
        if self._resampler is None:
            return samples.astype(np.float32, copy=False)
        return np.asarray(self._resampler.resample_chunk(samples, last=last), dtype=np.float32)


# ---------------------------------------------------------------------- recognizer state
class AudioBuffer:
    """16 kHz audio addressed by absolute sample index; only [start, end) is kept."""

    def __init__(self) -> None:
        self.start = 0
        self.end = 0
        self._parts: list[np.ndarray] = []

    def append(self, samples: np.ndarray) -> None:
        if samples.size:
            self._parts.append(samples)
            self.end += samples.shape[0]

    def _joined(self) -> np.ndarray:
        if len(self._parts) != 1:
            self._parts = [np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)]
        return self._parts[0]

    def view(self, start: int, end: int) -> np.ndarray:
        data = self._joined()
        return data[start - self.start:end - self.start]

    def drop_before(self, index: int) -> None:
        if index <= self.start:
            return
        data = self._joined()
        self._parts = [data[index - self.start:].copy()]
        self.start = index


@dataclass
class Tick:
    """One decoding step: committed spans (absolute samples) and the open window after them."""

    cuts: list[tuple[int, int]]
    open: tuple[int, int]
    reuse: bool = False  # the open window is exactly what the last hypothesis covered


@dataclass
class Decoded:
    text: str
    language: str


class Recognizer:
    """Committed text + one open window. No I/O: the session feeds audio and model results."""

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self.audio = AudioBuffer()
        self.window_start = 0
        self.stable_text = ""
        self.languages: list[str] = []
        self.segments = 0
        self.hypothesis = Decoded("", "")
        self.hypothesis_span = (0, 0)

    @property
    def total(self) -> int:
        return self.audio.end

    @property
    def decoded_until(self) -> int:
        return self.hypothesis_span[1]

    def add(self, samples: np.ndarray) -> None:
        self.audio.append(samples)

    def due(self) -> bool:
        return self.total - max(self.decoded_until, self.window_start) >= self.config.chunk_samples

    def backlog(self) -> int:
        return self.total - max(self.decoded_until, self.window_start)

    def plan(self) -> Tick:
        end = self.total
        window = self.audio.view(self.window_start, end)
        spans: list[tuple[int, int]] = []
        start = self.window_start
        for cut in plan_cuts(window, self.config):
            spans.append((start, self.window_start + cut))
            start = self.window_start + cut
        reuse = not spans and (start, end) == self.hypothesis_span
        return Tick(spans, (start, end), reuse)

    def pieces(self, tick: Tick) -> list[np.ndarray]:
        return [self.audio.view(a, b) for a, b in tick.cuts] + [self.audio.view(*tick.open)]

    def apply(self, tick: Tick, cut_results: list[Decoded], open_result: Decoded) -> None:
        for result in cut_results:
            self.stable_text = join_pieces([self.stable_text, result.text])
            self.languages.append(result.language)
        self.segments += len(tick.cuts)
        self.window_start = tick.open[0]
        self.audio.drop_before(self.window_start)
        self.hypothesis = open_result
        self.hypothesis_span = tick.open

    def partial(self) -> PartialMessage:
        text = join_pieces([self.stable_text, self.hypothesis.text])
        return PartialMessage(text=text, stable_text=self.stable_text, unstable_text=text[len(self.stable_text):],
                              duration_seconds=round(self.decoded_until / SAMPLE_RATE, 3))

    def text(self) -> str:
        return join_pieces([self.stable_text, self.hypothesis.text])

    def language(self) -> str:
        return merge_languages(self.languages + [self.hypothesis.language])


# ---------------------------------------------------------------------- errors
class StreamError(Exception):
    """Ends a session with an `error` message and a close code."""

    def __init__(self, code: str, message: str, close_code: int = CLOSE_POLICY, text: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code
        self.text = text


class ClientGone(Exception):
    """The socket is closed: nothing more can be sent."""


def _first_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ())) or "message"
    return f"Invalid value for '{where}': {first.get('msg', 'invalid')}."


# ---------------------------------------------------------------------- the service
class StreamingService:
    """Admission (session limit) and the sessions of one ingress replica."""

    def __init__(self, settings: Settings, transcription, lifecycle, max_ongoing: int | None = None) -> None:
        self.settings = settings
        self.transcription = transcription
        self.metrics = transcription.metrics
        self.lifecycle = lifecycle
        self.config = StreamConfig.from_settings(settings)
        self.max_ongoing = max_ongoing or ingress_max_ongoing(settings)
        self.max_sessions = session_limit(settings.stream_max_sessions, self.max_ongoing)
        if self.max_sessions < settings.stream_max_sessions:
            logger.warning("stream_max_sessions=%d lowered to %d: sockets may hold at most half of the ingress's "
                           "%d ongoing requests", settings.stream_max_sessions, self.max_sessions, self.max_ongoing)
        self.active: set[StreamSession] = set()

    async def serve(self, websocket, *, authorized: bool) -> None:
        """Runs one WebSocket from accept to close; never raises."""
        try:
            await websocket.accept()
        except Exception:
            logger.info("streaming client left before the handshake completed")
            return
        channel = Channel(websocket)
        if not authorized:
            await channel.fail(StreamError("unauthorized", "A valid API key is required: add ?api_key=<key> to the "
                                           "URL or send Authorization: Bearer <key>.", CLOSE_POLICY))
            return
        if len(self.active) >= self.max_sessions:
            await channel.fail(StreamError(
                "too_many_sessions",
                f"All {self.max_sessions} streaming sessions are in use; retry shortly or use POST /api/transcribe.",
                CLOSE_TRY_AGAIN))
            return
        session = StreamSession(self, channel)
        self.active.add(session)
        self.metrics.sessions_open(len(self.active))
        try:
            await session.run()
        finally:
            self.active.discard(session)
            self.metrics.sessions_open(len(self.active))


class Channel:
    """Serialised sends over one socket; a failed send means the client is gone."""

    def __init__(self, websocket) -> None:
        self.websocket = websocket
        self.closed = False
        self._lock = asyncio.Lock()

    async def send(self, message: BaseModel) -> None:
        async with self._lock:
            if self.closed:
                raise ClientGone()
            try:
                await self.websocket.send_text(json.dumps(dump(message), ensure_ascii=False))
            except Exception as exc:
                self.closed = True
                raise ClientGone() from exc

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        async with self._lock:
            if self.closed:
                return
            self.closed = True
            with suppress(Exception):
                await self.websocket.close(code=code, reason=reason[:120])

    async def fail(self, error: StreamError) -> None:
        with suppress(ClientGone):
            await self.send(ErrorMessage(code=error.code, message=error.message, text=error.text,
                                         request_id=current_request_id.get()))
        await self.close(error.close_code, error.code)


@dataclass
class SessionStats:
    process_seconds: float = 0.0
    compute_seconds: float = 0.0
    load_seconds: float = 0.0
    dtype: str = ""
    partials: int = 0
    decodes: int = 0


class StreamSession:
    def __init__(self, service: StreamingService, channel: Channel) -> None:
        self.service = service
        self.config = service.config
        self.channel = channel
        self.recognizer = Recognizer(self.config)
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
        self.last_heard = self.opened_at     # when the client's latest message *arrived* (not when it was handled)
        self.stats = SessionStats()
        self.align_tasks: list[asyncio.Task] = []

    # ---- lifetime ---------------------------------------------------------------------
    async def run(self) -> None:
        tasks = {
            asyncio.create_task(self._read(), name="stream-read"),
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
            for task in [*tasks, *self.align_tasks]:
                task.cancel()
            await asyncio.wait([*tasks, *self.align_tasks])

    async def _conclude(self, done: set[asyncio.Task]) -> None:
        # The slot is free before the client hears the close, so it can open the next session at once.
        self.service.active.discard(self)
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
    async def _read(self) -> None:
        """Raw receive -> inbox; returns when the client disconnects. Never cancelled mid-receive but at the end."""
        while True:
            try:
                message = await self.channel.websocket.receive()
            except Exception as exc:  # the transport went away under us
                self.channel.closed = True
                raise ClientGone() from exc
            if message["type"] == "websocket.disconnect":
                self.channel.closed = True
                return
            self.last_heard = time.monotonic()
            await self.inbox.put(message)

    def _deadline(self) -> float | None:
        """When the session is closed if nothing more arrives (time.monotonic()); None = not yet known.

        * before `start`: `start_timeout_s` after connecting, whatever else arrives;
        * while a cold model loads (start sent, no `ready` yet): not known; the client may wait in silence;
        * once `ready`: `idle_timeout_s` after the later of `ready` and the latest message's arrival
          (audio buffered before `ready` counts from when it arrived, not from when it is handled);
        * after `stop`: only the wall-clock limit (the server is finishing);
        * always: `stream_max_seconds + WALL_GRACE_S` after connecting.
        """
        config = self.config
        wall = self.opened_at + config.max_seconds + WALL_GRACE_S
        if self.start_message is None:
            return min(wall, self.opened_at + config.start_timeout_s)
        if self.stopped:
            return wall
        if self.ready_at is None:
            return None
        return min(wall, max(self.last_heard, self.ready_at) + config.idle_timeout_s)

    async def _next_message(self) -> dict:
        """The next message from the inbox, or the timeout error once the deadline has passed.

        The deadline is recomputed after every wait, so one that appears (`ready`) or moves while the
        dispatcher waits is honoured: while it is unknown, the wait is cut into `idle_timeout_s` slices."""
        while True:
            deadline = self._deadline()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise self._timeout_error()
            wait = self.config.idle_timeout_s if deadline is None else deadline - now
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

    def _timeout_error(self) -> StreamError:
        if time.monotonic() - self.opened_at >= self.config.max_seconds + WALL_GRACE_S:
            return StreamError("session_too_long", "The session lasted longer than the limit.", CLOSE_TOO_BIG,
                               text=self.recognizer.text())
        if self.start_message is None:
            return StreamError("start_timeout", f"No start message within {self.config.start_timeout_s:g} s "
                               "of connecting.", CLOSE_POLICY)
        return StreamError("idle_timeout", f"No audio or message for {self.config.idle_timeout_s:g} s.",
                           CLOSE_POLICY)

    def _on_text(self, text: str) -> None:
        try:
            data = parse_json_message(text)
        except ValueError as exc:
            raise StreamError("invalid_json", f"Text messages must be JSON objects, e.g. {{\"type\": \"start\"}} "
                              f"({exc}).", CLOSE_UNSUPPORTED) from None
        if not isinstance(data, dict):
            raise StreamError("invalid_message", "A message must be a JSON object with a 'type'.", CLOSE_UNSUPPORTED)
        kind = data.get("type")
        if self.stopped:
            raise StreamError("message_after_stop", f"Message {echo(kind)} after stop: the session is finishing.",
                              CLOSE_POLICY)
        if kind == "start":
            self._on_start(data)
        elif kind == "stop":
            self._on_stop()
        else:
            raise StreamError("invalid_message", f"Unknown message type {echo(kind)}; expected 'start' or 'stop'.",
                              CLOSE_UNSUPPORTED)

    def _on_start(self, data: dict) -> None:
        if self.start_message is not None:
            raise StreamError("duplicate_start", "The session has already started.", CLOSE_POLICY)
        try:
            start = StartMessage.model_validate(data)
        except ValidationError as exc:
            raise StreamError("invalid_message", _first_validation_error(exc), CLOSE_UNSUPPORTED) from None
        if start.format not in PCM_FORMATS:
            raise StreamError("unsupported_format", f"Unknown format {echo(start.format)}; use pcm_s16le or f32le.",
                              CLOSE_UNSUPPORTED)
        if not MIN_SAMPLE_RATE <= start.sample_rate <= MAX_SAMPLE_RATE:
            raise StreamError("unsupported_sample_rate",
                              f"sample_rate {start.sample_rate} is not supported; send {MIN_SAMPLE_RATE}-"
                              f"{MAX_SAMPLE_RATE} Hz PCM (16000 is best: no resampling).", CLOSE_UNSUPPORTED)
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
        if self.start_message is None:
            raise StreamError("audio_before_start", "Binary audio arrived before the start message.", CLOSE_POLICY)
        if self.stopped:
            raise StreamError("audio_after_stop", "Binary audio arrived after stop.", CLOSE_POLICY)
        if len(payload) > MAX_FRAME_BYTES:
            raise StreamError("frame_too_large", f"A frame holds {len(payload)} bytes; the limit is "
                              f"{MAX_FRAME_BYTES}. Send smaller frames.", CLOSE_TOO_BIG)
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
                result = await self._asr(np.zeros(WARMUP_SAMPLES, np.float32))
                self.stats.dtype = result.dtype
                self.stats.load_seconds = time.perf_counter() - started
        start = self.start_message
        await self.channel.send(ReadyMessage(model=model, sample_rate=start.sample_rate, format=start.format,
                                             chunk_seconds=self.config.chunk_seconds,
                                             max_seconds=self.config.max_seconds))
        self.ready_at = time.monotonic()
        self.ready = True

    async def _asr(self, audio: np.ndarray) -> AsrResult:
        options = self.options
        request = AsrRequest(audio=np.ascontiguousarray(audio, dtype=np.float32),
                             language=options.language.model_language if options.language else None,
                             context=options.context, dtype=options.dtype)
        try:
            result = await self.service.transcription.asr_handles[options.model].transcribe.remote(request)
            self.service.metrics.audio_transcribed(options.model, request.audio.shape[0] / SAMPLE_RATE)
            return result
        except BackPressureError:
            raise StreamError("overloaded", "The model is busy; retry shortly.", CLOSE_TRY_AGAIN) from None
        except (StreamError, asyncio.CancelledError):
            raise
        except Exception as exc:
            from serve_app.services.transcription import replica_lost

            if replica_lost(exc):  # the replica died (SIGKILL, OOM): Serve is starting another one
                logger.warning("the model replica was lost during streaming: %s", type(exc).__name__)
                raise StreamError("model_unavailable", "The model restarted; reconnect shortly.",
                                  CLOSE_TRY_AGAIN) from None
            logger.exception("streaming decode failed")
            raise StreamError("model_error", f"The model failed: {type(exc).__name__}.", CLOSE_INTERNAL) from None

    async def _decode(self, pieces: list[np.ndarray]) -> list[Decoded]:
        """All pieces at once: they ride in one batch (with other sessions' and file requests)."""
        forced = self.options.language.model_language if self.options.language else None

        async def one(piece: np.ndarray) -> Decoded:
            if not has_speech(piece):
                return Decoded("", forced or "")
            result = await self._asr(piece)
            self.stats.compute_seconds += result.process_seconds / max(1, result.batch_size)
            self.stats.dtype = result.dtype
            self.stats.decodes += 1
            return Decoded(result.text.strip(), forced or result.language)

        started = time.perf_counter()
        async with self.service.lifecycle.serving(self.options.model):
            results = await asyncio.gather(*(one(p) for p in pieces))
        self.stats.process_seconds += time.perf_counter() - started
        return list(results)

    async def _step(self, final: bool) -> None:
        tick = self.recognizer.plan()
        if final and tick.reuse:
            self.recognizer.apply(tick, [], self.recognizer.hypothesis)
            open_piece = self.recognizer.pieces(tick)[-1]
        else:
            pieces = self.recognizer.pieces(tick)
            results = await self._decode(pieces)
            if self.options.return_timestamps:
                for (start, _), piece, result in zip(tick.cuts, pieces, results):
                    self._align_later(piece, start, result)
            open_piece = pieces[-1]
            self.recognizer.apply(tick, results[:-1], results[-1])
        if final and self.options.return_timestamps:
            self._align_later(open_piece, tick.open[0], self.recognizer.hypothesis)

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
            timestamps, timestamps_error = await self._collect_alignments()
            self.stats.process_seconds += time.perf_counter() - started
        recognizer = self.recognizer
        duration = recognizer.total / SAMPLE_RATE
        language = self.options.language.model_language if self.options.language else recognizer.language()
        process = self.stats.process_seconds
        await self.channel.send(FinalMessage(
            text=recognizer.text(), language=language, model=self.options.model,
            dtype=self.stats.dtype or self._loaded_dtype(), duration_seconds=round(duration, 3),
            process_time_seconds=round(process, 4), rtf=round(process / duration, 4) if duration else 0.0,
            load_time_seconds=round(self.stats.load_seconds, 3),
            finalize_seconds=round(time.perf_counter() - self.stopped_at, 4),
            compute_seconds=round(self.stats.compute_seconds, 4),
            segments=recognizer.segments + (1 if recognizer.hypothesis_span[1] > recognizer.hypothesis_span[0] else 0),
            timestamps=timestamps, timestamps_error=timestamps_error,
        ))

    def _loaded_dtype(self) -> str:
        return self.options.dtype or ""

    # ---- timestamps ---------------------------------------------------------------------
    def _align_later(self, piece: np.ndarray, start: int, decoded: Decoded) -> None:
        if not decoded.text:
            return
        task = asyncio.create_task(self._align(piece.copy(), start / SAMPLE_RATE, decoded))
        self.align_tasks.append(task)

    async def _align(self, piece: np.ndarray, offset: float, decoded: Decoded) -> list[WordTime]:
        audio = DecodedAudio(piece, SAMPLE_RATE, 1, "stream")
        words, _ = await self.service.transcription.align(
            audio, [PieceText(0, 0.0, piece.shape[0] / SAMPLE_RATE, decoded.text, decoded.language)],
            decoded.language, time.time())
        return [WordTime(w.text, round(w.start + offset, 3), round(w.end + offset, 3)) for w in words]

    async def _collect_alignments(self) -> tuple[list[WordTimestampOut] | None, dict | None]:
        results = await asyncio.gather(*self.align_tasks, return_exceptions=True)
        words: list[WordTimestampOut] = []
        for result in results:
            if isinstance(result, ApiError):
                return None, {"code": result.code, "message": result.message}
            if isinstance(result, BaseException):
                logger.error("streaming alignment failed", exc_info=result)
                return None, {"code": "alignment_failed", "message": f"Alignment failed: {type(result).__name__}."}
            words.extend(WordTimestampOut(text=w.text, start=w.start, end=w.end) for w in result)
        return words, None
