"""Loading a released aligner ahead of its use, while the ASR model transcribes.

A request that wants timestamps would otherwise load the ASR model, transcribe, and only then load
the aligner: a cold request waits for both loads in turn, and the ASR model sits idle while the
aligner loads (long enough, with a short idle timeout, to be unloaded before the next request).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from deployments.protocol import ALIGNER

if TYPE_CHECKING:
    from serve_app.services.lifecycle import LifecycleService
    from serve_app.services.transcription import TranscribeOptions

logger = logging.getLogger(__name__)


class AlignerWake:
    def __init__(self, lifecycle: LifecycleService, aligner_handle) -> None:
        self.lifecycle = lifecycle
        self.aligner = aligner_handle
        self.pending: set[asyncio.Task] = set()

    def start(self, options: TranscribeOptions) -> asyncio.Task | None:
        """Starts the aligner's load when an alignment may follow and the aligner is not running;
        the caller cancels the task if the transcription ends without one."""
        if not options.return_timestamps or self.lifecycle.is_running(ALIGNER):
            return None
        if options.language is not None and not options.language.aligner:
            return None
        task = asyncio.ensure_future(self._load())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return task

    async def _load(self) -> None:
        try:
            async with self.lifecycle.serving(ALIGNER):
                await self.aligner.wait_loaded.remote()
        except Exception as exc:  # the alignment itself reports what went wrong
            logger.info("the aligner could not be loaded ahead of its use: %s", type(exc).__name__)
