"""POST /api/transcribe as server-sent events: progress while a long file is transcribed.

A client asks with `Accept: text/event-stream` (or the form field `progress=true`). The answer is
a stream of events:

* `progress` — `{"stage", "pieces_done", "pieces_total", "audio_seconds_done", "audio_seconds_total",
  "text"}`: one when the audio is decoded and cut into pieces, one per piece as it finishes (in
  order, so `text` is the transcript so far), one when the aligner starts (`stage: "aligning"`);
* `result` — exactly the JSON body the plain answer has;
* `error` — `{"error": {...}}`, the service's error shape, when the work fails after the stream began.

Errors before the work is under way (bad audio, no free slot) are answered as plain JSON errors with
their HTTP status, like the plain route. A client that hangs up cancels the work.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import BinaryIO

from serve_app.errors import ApiError, error_body
from serve_app.services.transcription import (
    PieceText,
    TranscribeOptions,
    Transcript,
    TranscriptionService,
    join_pieces,
)

logger = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def wants_events(accept: str | None, progress_field: bool) -> bool:
    """Whether a request asked for server-sent events (the Accept header or the form field)."""
    return progress_field or EVENT_STREAM in (accept or "").lower()


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class TranscriptionProgress:
    """Hears the transcription's steps (`TranscriptionService.transcribe(progress=...)`) and hands a
    snapshot of the progress to `emit` after each one."""

    def __init__(self, emit: Callable[[dict], None]) -> None:
        self.emit = emit
        self.stage = "transcribing"
        self.pieces_total = 0
        self.audio_seconds_total = 0.0
        self.done: list[PieceText] = []

    def planned(self, pieces: int, audio_seconds: float) -> None:
        """`audio_seconds`: what the pieces hold (stretches without speech are not transcribed)."""
        self.pieces_total = pieces
        self.audio_seconds_total = audio_seconds
        self.emit(self.snapshot())

    def piece_done(self, piece: PieceText) -> None:
        self.done.append(piece)
        self.emit(self.snapshot())

    def aligning(self) -> None:
        self.stage = "aligning"
        self.emit(self.snapshot())

    def snapshot(self) -> dict:
        seconds = sum(p.duration for p in self.done)
        return {
            "stage": self.stage,
            "pieces_done": len(self.done),
            "pieces_total": self.pieces_total,
            "audio_seconds_done": round(min(seconds, self.audio_seconds_total), 3),
            "audio_seconds_total": round(self.audio_seconds_total, 3),
            "text": join_pieces([p.text for p in self.done]),
        }


class ProgressStream:
    """One transcription run as a task whose progress snapshots are queued for the event stream."""

    def __init__(self, service: TranscriptionService, source: BinaryIO, options: TranscribeOptions,
                 render: Callable[[Transcript], dict]) -> None:
        self.render = render
        self.queue: asyncio.Queue[dict] = asyncio.Queue()
        self.first: dict | None = None  # the event `open` waited for
        progress = TranscriptionProgress(self.queue.put_nowait)
        self.task: asyncio.Task[Transcript] = asyncio.ensure_future(service.transcribe(source, options, progress))

    async def open(self) -> None:
        """Returns once the work is under way (its first progress event is queued); raises the error
        of a run that failed before that (bad audio, overload), so the route answers it with its status."""
        getter = asyncio.ensure_future(self.queue.get())
        try:
            await asyncio.wait({self.task, getter}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            self.cancel()
            raise
        finally:
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            self.first = getter.result()
            return
        self.task.result()  # raises the failure; a run that ended without any progress falls through

    def cancel(self) -> None:
        self.task.cancel()

    async def events(self) -> AsyncIterator[str]:
        """`progress` events as they come, then `result` or `error`; the run is cancelled if the
        consumer stops early (a client that disconnected)."""
        try:
            if self.first is not None:
                yield sse("progress", self.first)
            while True:
                while not self.queue.empty():
                    yield sse("progress", self.queue.get_nowait())
                if self.task.done():
                    break
                getter = asyncio.ensure_future(self.queue.get())
                done, _ = await asyncio.wait({self.task, getter}, timeout=KEEPALIVE_S,
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield sse("progress", getter.result())
                    continue
                getter.cancel()
                if not done:
                    yield ": keep-alive\n\n"
            yield self._outcome()
        finally:
            self.cancel()

    def _outcome(self) -> str:
        try:
            transcript = self.task.result()
        except ApiError as exc:
            return sse("error", error_body(exc.status, exc.code, exc.message, exc.param))
        except Exception as exc:  # the stream is already 200: say so as an event
            logger.exception("transcription failed after its event stream began")
            return sse("error", error_body(500, "internal_error", f"Internal error: {type(exc).__name__}"))
        return sse("result", self.render(transcript))


async def open_progress_stream(service: TranscriptionService, source: BinaryIO, options: TranscribeOptions,
                               render: Callable[[Transcript], dict]) -> AsyncIterator[str]:
    """Starts the run and waits until it is under way (errors before that raise as ApiError);
    returns the event iterator for a streaming response."""
    stream = ProgressStream(service, source, options, render)
    await stream.open()
    return stream.events()
