"""The model as one session sees it: calls through `TranscriptionService.recognize`, failures as
`StreamError`s, time and dtype recorded in the session's stats."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import numpy as np

from deployments.protocol import AsrResult
from serve_app.errors import ApiError
from serve_app.services.streaming.channel import StreamError
from serve_app.services.streaming.recognizer import Decoded
from serve_app.services.transcription import TranscribeOptions, TranscriptionService
from serve_app.stream_protocol import CLOSE_INTERNAL, CLOSE_TRY_AGAIN

logger = logging.getLogger(__name__)

# The service's retryable errors (503 for HTTP) as a session says them: the client retries or reconnects.
RETRYABLE = {
    "overloaded": "The model is busy; retry shortly.",
    "model_unavailable": "The model restarted; reconnect shortly.",
}


@dataclass
class SessionStats:
    process_seconds: float = 0.0
    compute_seconds: float = 0.0
    load_seconds: float = 0.0
    dtype: str = ""
    partials: int = 0
    decodes: int = 0


def model_error(exc: BaseException) -> StreamError:
    logger.error("streaming decode failed", exc_info=exc)
    return StreamError("model_error", f"The model failed: {type(exc).__name__}.", CLOSE_INTERNAL)


class SessionModel:
    def __init__(self, transcription: TranscriptionService, lifecycle, stats: SessionStats) -> None:
        self.transcription = transcription
        self.lifecycle = lifecycle
        self.stats = stats

    async def recognize(self, options: TranscribeOptions, audio: np.ndarray) -> AsrResult:
        try:
            return await self.transcription.recognize(options, audio)
        except ApiError as exc:
            if exc.code not in RETRYABLE:
                raise model_error(exc) from None
            raise StreamError(exc.code, RETRYABLE[exc.code], CLOSE_TRY_AGAIN) from None
        except Exception as exc:
            raise model_error(exc) from None

    async def decode(self, options: TranscribeOptions, pieces: list[np.ndarray], speech: list[bool]) -> list[Decoded]:
        """All pieces at once: they ride in one batch (with other sessions' and file requests); a
        piece without `speech` is not sent and decodes to ""."""
        forced = options.forced_language

        async def one(piece: np.ndarray, heard: bool) -> Decoded:
            if not heard:
                return Decoded("", forced or "")
            result = await self.recognize(options, piece)
            self.stats.compute_seconds += result.process_seconds / max(1, result.batch_size)
            self.stats.dtype = result.dtype
            self.stats.decodes += 1
            return Decoded(result.text.strip(), forced or result.language)

        started = time.perf_counter()
        async with self.lifecycle.serving(options.model):
            results = await asyncio.gather(*(one(p, s) for p, s in zip(pieces, speech)))
        self.stats.process_seconds += time.perf_counter() - started
        return list(results)
