"""Word timestamps of a session: each committed piece is aligned in the background, collected at `stop`."""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np

from deployments.protocol import SAMPLE_RATE, WordTime
from serve_app.audio import DecodedAudio
from serve_app.errors import ApiError
from serve_app.services.streaming.recognizer import Decoded
from serve_app.services.transcription import PieceText, TranscriptionService

logger = logging.getLogger(__name__)


class SessionAlignments:
    def __init__(self, transcription: TranscriptionService) -> None:
        self.transcription = transcription
        self.tasks: list[asyncio.Task] = []

    def later(self, piece: np.ndarray, start: int, decoded: Decoded) -> None:
        """Aligns `piece` (starting at absolute sample `start`) in the background."""
        if not decoded.text:
            return
        self.tasks.append(asyncio.create_task(self._align(piece.copy(), start / SAMPLE_RATE, decoded)))

    async def _align(self, piece: np.ndarray, offset: float, decoded: Decoded) -> list[WordTime]:
        audio = DecodedAudio(piece, SAMPLE_RATE, 1, "stream")
        words, _ = await self.transcription.align(
            audio, [PieceText(0, 0.0, piece.shape[0] / SAMPLE_RATE, decoded.text, decoded.language)],
            decoded.language, time.time())
        return [WordTime(w.text, round(w.start + offset, 3), round(w.end + offset, 3)) for w in words]

    async def collect(self) -> tuple[list[WordTime] | None, dict | None]:
        """All words in order, or (None, the error the final reports) when one piece failed."""
        results = await asyncio.gather(*self.tasks, return_exceptions=True)
        words: list[WordTime] = []
        for result in results:
            if isinstance(result, ApiError):
                return None, {"code": result.code, "message": result.message}
            if isinstance(result, BaseException):
                logger.error("streaming alignment failed", exc_info=result)
                return None, {"code": "alignment_failed", "message": f"Alignment failed: {type(result).__name__}."}
            words.extend(result)
        return words, None
