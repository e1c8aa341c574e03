"""The ingress's own picture of every model deployment, refreshed in the background.

A request never asks Serve's controller anything: replica counts and load/idle details
come from the ModelRegistry (`picture`), read here off the request path every `REFRESH_S`.
The registry itself reads Serve's counts (`deployments.replica_counts`), so the costly
`serve.status()` never runs in this process. Someone who needs a picture newer than an
event (a release, a switch) waits for counts read after it, and the loop hurries while
anyone waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from deployments.replica_counts import ReplicaCounts
from serve_app.gpu import gpu_snapshot

logger = logging.getLogger(__name__)

REFRESH_S = 1.0  # idle cadence: /health and the UI see replica changes within about a second
HURRIED_REFRESH_S = 0.1  # while a release or a switch waits on the next picture


@dataclass(frozen=True)
class Picture:
    """One refresh: Serve's replica counts and the registry's snapshot, read together."""

    read_started_at: float  # wall clock (the registry's) when the counts' read began
    counts: dict[str, ReplicaCounts] = field(default_factory=dict)
    registry: dict = field(default_factory=dict)
    gpu: dict = field(default_factory=lambda: {"available": False, "reason": "not read yet"})

    def replicas(self, model_id: str) -> ReplicaCounts:
        return self.counts.get(model_id, ReplicaCounts())

    def beats(self, model_id: str) -> list[dict]:
        return self.registry.get("replicas", {}).get(model_id, [])

    def history(self, model_id: str) -> list[dict]:
        return self.registry.get("history", {}).get(model_id, [])

    def pids(self) -> dict[str, set[int]]:
        """Each model's replica processes (what NVML's per-process memory is matched on)."""
        return {model: {b["pid"] for b in beats if b.get("pid")}
                for model, beats in self.registry.get("replicas", {}).items()}


class ModelView:
    def __init__(self, registry, read_gpu: Callable[[dict[str, set[int]]], dict] = gpu_snapshot, refresh_s: float = REFRESH_S,
                 on_refresh: Callable[[Picture], None] | None = None) -> None:
        self.registry = registry
        self.read_gpu = read_gpu
        self.refresh_s = refresh_s
        self.picture = Picture(read_started_at=0.0)
        self.on_refresh = on_refresh  # called with each new picture (the metrics' model gauges)
        self._changed = asyncio.Condition()
        self._hurry = asyncio.Event()
        self._waiters = 0
        self._task: asyncio.Task | None = None
        # Its own thread: a pool busy decoding long uploads must not delay the picture.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-view")

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="model-view")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    async def refresh(self, fresh: bool = True) -> Picture:
        """A new picture; `fresh` asks the registry for Serve's counts read after this call
        (otherwise it reads them again only when due: see `deployments.replica_counts`)."""
        pids = self.picture.pids()
        loop = asyncio.get_running_loop()
        snapshot, gpu = await asyncio.gather(self.registry.picture.remote(fresh),
                                             loop.run_in_executor(self._executor, self.read_gpu, pids))
        counts = {m: ReplicaCounts(**c) for m, c in snapshot.pop("counts").items()}
        started = snapshot.pop("counts_read_at")
        picture = Picture(started, counts, snapshot, gpu)
        async with self._changed:
            if picture.read_started_at >= self.picture.read_started_at:
                self.picture = picture
            self._changed.notify_all()
        if self.on_refresh is not None:
            try:
                self.on_refresh(picture)
            except Exception:
                logger.exception("model view listener failed")
        return picture

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh(fresh=self._waiters > 0)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("model view refresh failed; keeping the last picture")
            self._hurry.clear()
            pause = HURRIED_REFRESH_S if self._waiters else self.refresh_s
            try:
                await asyncio.wait_for(self._hurry.wait(), pause)
            except TimeoutError:
                pass

    async def wait_for(self, predicate: Callable[[Picture], bool], after: float, timeout_s: float) -> bool:
        """Waits until a picture whose counts were read after `after` (the registry's wall clock,
        e.g. a release's `requested_at`) satisfies `predicate`."""
        self.start()
        deadline = time.monotonic() + timeout_s
        self._waiters += 1
        self._hurry.set()
        try:
            async with self._changed:
                while True:
                    picture = self.picture
                    if picture.read_started_at >= after and predicate(picture):
                        return True
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._hurry.set()
                    try:
                        await asyncio.wait_for(self._changed.wait(), remaining)
                    except TimeoutError:
                        return False
        finally:
            self._waiters -= 1
