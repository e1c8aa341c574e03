"""The ingress's own picture of every model deployment, refreshed in the background.

A request never asks Serve's controller anything: replica counts come from a periodic
`serve.status()` and load/idle details from the ModelRegistry, both read here off the
request path. Someone who needs a picture newer than an event (a release, a switch)
waits for a refresh that *started* after it, and the loop hurries while anyone waits.

The registry is read every `REFRESH_S`; `serve.status()` (which validates the whole cluster's
details, tens of ms of this process's CPU) only when the registry shows a replica starting,
loading, releasing or exiting, when someone waits, or every `STATUS_REFRESH_S` otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ray import serve

from serve_app.gpu import gpu_snapshot

logger = logging.getLogger(__name__)

REFRESH_S = 1.0  # idle cadence: /health and the UI see replica changes within about a second
HURRIED_REFRESH_S = 0.1  # while a release or a switch waits on the next picture
STATUS_REFRESH_S = 5.0  # Serve's own counts at least this often while the registry shows no change
STARTING_STATES = ("STARTING", "UPDATING", "RECOVERING")


@dataclass(frozen=True)
class ReplicaCounts:
    running: int = 0
    starting: int = 0
    stopping: int = 0

    @property
    def live(self) -> int:
        """Replicas that hold (or are about to hold) the model's memory."""
        return self.running + self.starting + self.stopping


@dataclass(frozen=True)
class Picture:
    """One refresh: Serve's replica counts and the registry's snapshot, read together."""

    read_started_at: float  # wall clock when this refresh began
    counts: dict[str, ReplicaCounts] = field(default_factory=dict)
    registry: dict = field(default_factory=dict)
    gpu: dict = field(default_factory=lambda: {"available": False, "reason": "not read yet"})

    def replicas(self, model_id: str) -> ReplicaCounts:
        return self.counts.get(model_id, ReplicaCounts())

    def beats(self, model_id: str) -> list[dict]:
        return self.registry.get("replicas", {}).get(model_id, [])

    def history(self, model_id: str) -> list[dict]:
        return self.registry.get("history", {}).get(model_id, [])

    def pids(self) -> set[int]:
        return {b["pid"] for beats in self.registry.get("replicas", {}).values() for b in beats if b.get("pid")}


def replica_signature(snapshot: dict) -> tuple:
    """What in a registry snapshot says the replica set or a replica's state changed (not idle
    seconds or request counts, which move on every beat)."""
    beats = tuple(sorted((model, b.get("replica_id"), b.get("loaded_at") is not None, bool(b.get("releasing")))
                         for model, replicas in snapshot.get("replicas", {}).items() for b in replicas))
    exits = tuple(sorted((model, len(records)) for model, records in snapshot.get("history", {}).items()))
    return beats, exits, tuple(sorted(snapshot.get("release_pending", [])))


def counts_from_status(status: Any, app_name: str, deployments: dict[str, str]) -> dict[str, ReplicaCounts]:
    """Replica counts per model id of this application in a `serve.status()` answer (none while
    the application is not listed: another application's models are never counted as ours)."""
    app = status.applications.get(app_name)
    counts: dict[str, ReplicaCounts] = {}
    for model_id, name in deployments.items():
        overview = app.deployments.get(name) if app else None
        by_state = {str(getattr(s, "value", s)): int(n) for s, n in (overview.replica_states if overview else {}).items()}
        counts[model_id] = ReplicaCounts(
            running=by_state.get("RUNNING", 0),
            starting=sum(by_state.get(s, 0) for s in STARTING_STATES),
            stopping=by_state.get("STOPPING", 0),
        )
    return counts


class ModelView:
    def __init__(self, registry, app_name: str, deployments: dict[str, str],
                 read_status: Callable[[], Any] = serve.status,
                 read_gpu: Callable[[set[int]], dict] = gpu_snapshot, refresh_s: float = REFRESH_S,
                 on_refresh: Callable[[Picture], None] | None = None) -> None:
        self.registry = registry
        self.app_name = app_name
        self.deployments = deployments
        self.read_status = read_status
        self.read_gpu = read_gpu
        self.refresh_s = refresh_s
        self.picture = Picture(read_started_at=0.0)
        self.on_refresh = on_refresh  # called with each new picture (the metrics' model gauges)
        self._changed = asyncio.Condition()
        self._hurry = asyncio.Event()
        self._waiters = 0
        self._task: asyncio.Task | None = None
        # Its own threads: a pool busy decoding long uploads must not delay the picture.
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="model-view")
        self._counts_read_at = 0.0  # monotonic time of the last serve.status() read
        self._signature: tuple | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="model-view")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    async def refresh(self, full: bool = True) -> Picture:
        """A new picture. `full=False` reads Serve's counts only if the registry shows a change
        (or they are older than STATUS_REFRESH_S); a picture that kept the old counts keeps the old
        `read_started_at` too, so nobody waiting on a newer picture is answered by it."""
        started = time.time()
        pids = self.picture.pids()
        loop = asyncio.get_running_loop()
        status_read = loop.run_in_executor(self._executor, self.read_status) if full else None
        snapshot, gpu = await asyncio.gather(self.registry.snapshot.remote(),
                                             loop.run_in_executor(self._executor, self.read_gpu, pids))
        signature = replica_signature(snapshot)
        if status_read is None and (signature != self._signature
                                    or time.monotonic() - self._counts_read_at >= STATUS_REFRESH_S):
            status_read = loop.run_in_executor(self._executor, self.read_status)
        self._signature = signature
        if status_read is not None:
            counts = counts_from_status(await status_read, self.app_name, self.deployments)
            self._counts_read_at = time.monotonic()
        else:
            counts, started = self.picture.counts, self.picture.read_started_at
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
                await self.refresh(full=self._waiters > 0)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("model view refresh failed; keeping the last picture")
            self._hurry.clear()
            pause = HURRIED_REFRESH_S if self._waiters else self.refresh_s
            try:
                await asyncio.wait_for(self._hurry.wait(), pause)
            except asyncio.TimeoutError:
                pass

    async def wait_for(self, predicate: Callable[[Picture], bool], after: float, timeout_s: float) -> bool:
        """Waits until a picture read after `after` (wall clock) satisfies `predicate`."""
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
                    except asyncio.TimeoutError:
                        return False
        finally:
            self._waiters -= 1
