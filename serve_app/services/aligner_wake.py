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
    """At most one load call in flight per ingress replica: it would hold a slot of the aligner's
    queue (which `model_max_queued_requests` bounds) that the alignment itself needs."""

    def __init__(self, lifecycle: LifecycleService, aligner_handle) -> None:
        self.lifecycle = lifecycle
        self.aligner = aligner_handle
        self.pending: asyncio.Task | None = None

    def start(self, options: TranscribeOptions) -> None:
        """Starts the aligner's load when an alignment may follow and the aligner is not running."""
        if not options.may_align or self.lifecycle.is_running(ALIGNER):
            return
        if self.pending is None or self.pending.done():
            self.pending = asyncio.ensure_future(self._load())

    async def settled(self) -> None:
        """Waits for a load call still in flight (shielded: one request giving up does not stop
        another's wake), so the alignment's calls do not queue behind it."""
        if self.pending is not None and not self.pending.done():
            await asyncio.shield(self.pending)

    async def _load(self) -> None:
        try:
            async with self.lifecycle.serving(ALIGNER):
                await self.aligner.wait_loaded.remote()
        except Exception as exc:  # the alignment itself reports what went wrong
            logger.info("the aligner could not be loaded ahead of its use: %s", type(exc).__name__)
