"""One model call at a time per replica, and the wait that lets a burst share the next call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ModelGate:
    """Serialises a replica's model calls and tells a newcomer when the running one ends.

    Ray Serve's `@serve.batch` queue closes a batch `batch_wait_timeout_s` after its first request
    whether or not the model is free (`max_concurrent_batches` caps how many run, not when the next
    one closes). So a request queued while a long call runs would be closed into a small batch with
    only the few that came in that window, and a burst would take several calls. A request that
    finds the model busy waits here instead (`wait_free`), then queues with everyone else who came.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        # asyncio.Lock offers no wait-for-release without taking it: this is set exactly while it is free
        self._free = asyncio.Event()
        self._free.set()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def wait_free(self) -> None:
        await self._free.wait()

    @asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """Holds the model for one call."""
        async with self._lock:
            self._free.clear()
            try:
                yield
            finally:
                self._free.set()
