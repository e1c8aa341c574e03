"""Per-model state, release-now and the model-switch policy, without touching the request path.

State comes from the ingress's `ModelView` (refreshed in the background) plus what this
ingress knows itself: which requests it has sent to each model and which releases it is
running. A request for a warm model passes `serving()` with no lock and no RPC; only a
request that really switches models, or arrives while its model is being released,
waits — and concurrent requests for the same model share that one wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from deployments.protocol import (
    ALIGNER,
    ASR_0_6B,
    ASR_1_7B,
    ASR_MODELS,
    DEPLOYMENT_NAMES,
)
from serve_app.gpu import gpu_snapshot
from serve_app.services.model_view import ModelView, Picture

logger = logging.getLogger(__name__)

LABELS = {ASR_1_7B: "Qwen3-ASR 1.7B", ASR_0_6B: "Qwen3-ASR 0.6B", ALIGNER: "Qwen3-ForcedAligner 0.6B"}
# A pending release outlives its wait by this much in the registry, then expires by itself.
RELEASE_TTL_MARGIN_S = 30.0
# After a cold start, how long an answer may wait for the picture to show the new replica.
COLD_CATCH_UP_S = 2.0


@dataclass
class RequestCounters:
    """Requests of this ingress per model: in flight (all) and dispatched (past admission)."""

    in_flight: Counter = field(default_factory=Counter)
    dispatched: Counter = field(default_factory=Counter)

    def total(self) -> int:
        return sum(self.in_flight.values())


def _model_gpu_memory(gpu: dict, model_id: str, beats: list[dict]) -> int | None:
    """What NVML sees this model's replicas hold, over every card; None without a GPU to read.

    NVML names processes by their host PID. In a container without the host's PID namespace no
    replica's PID matches, and what the replicas' torch allocators report stands in (it leaves
    out the CUDA context, a few hundred MB)."""
    if not gpu.get("available"):
        return None
    seen = sum(card.get("model_memory_mb", {}).get(model_id, 0) for card in gpu.get("gpus", []))
    return seen or sum(b.get("cuda_reserved_mb") or 0 for b in beats)


def _idle_now(beat: dict, now: float) -> float:
    """A heartbeat's idle time, aged by the time since it was sent (a busy replica stays at 0)."""
    if not beat.get("idle_seconds"):
        return 0.0
    return beat["idle_seconds"] + max(0.0, now - beat["reported_at"])


class LifecycleService:
    def __init__(self, registry, view: ModelView, sources: dict[str, str], idle_timeout_s: float,
                 release_other_on_switch: bool, switch_wait_s: float, release_wait_s: float) -> None:
        self.registry = registry
        self.view = view
        self.sources = sources
        self.idle_timeout_s = idle_timeout_s
        self.release_other_on_switch = release_other_on_switch
        self.switch_wait_s = switch_wait_s
        self.release_wait_s = release_wait_s
        self.counters = RequestCounters()
        self._releases: dict[str, asyncio.Task] = {}
        self._switches: dict[str, asyncio.Task] = {}
        self._switch_lock = asyncio.Lock()

    # ---- what a model is doing --------------------------------------------------------
    def is_live(self, model_id: str, picture: Picture | None = None) -> bool:
        """Holds (or is about to hold) memory: replicas in any state, or requests sent to it."""
        picture = picture or self.view.picture
        return bool(picture.replicas(model_id).live or picture.beats(model_id)
                    or self.counters.dispatched[model_id] or model_id in self._releases)

    def is_running(self, model_id: str) -> bool:
        return self.view.picture.replicas(model_id).running > 0

    def models(self, picture: Picture | None = None, history: bool = False) -> dict[str, dict]:
        picture = picture or self.view.picture
        return {m: self.describe(m, picture, history) for m in DEPLOYMENT_NAMES}

    def describe(self, model_id: str, picture: Picture, history: bool = False) -> dict:
        counts = picture.replicas(model_id)
        beats = [b for b in picture.beats(model_id) if b.get("loaded_at")]
        releasing = counts.stopping > 0 or any(b.get("releasing") for b in beats) or (
            model_id in self._releases and counts.live > 0)
        if releasing:
            state = "releasing"
        elif counts.running:
            state = "loaded"
        elif counts.starting or self.counters.in_flight[model_id]:
            state = "loading"
        else:
            state = "not_loaded"
        beat = max(beats, key=lambda b: b["loaded_at"], default=None) if counts.running else None
        now = picture.registry.get("now", time.time())
        idle = min(_idle_now(b, now) for b in beats) if beat else None
        described = {
            "id": model_id,
            "kind": "aligner" if model_id == ALIGNER else "asr",
            "label": LABELS[model_id],
            "source": self.sources.get(model_id),
            "state": state,
            "replicas": counts.running,
            "load_seconds": round(beat["load_seconds"], 3) if beat and beat.get("load_seconds") else None,
            "loaded_at": beat["loaded_at"] if beat else None,
            "idle_seconds": round(idle, 1) if idle is not None else None,
            "unload_in_seconds": round(max(0.0, self.idle_timeout_s - idle), 1) if idle is not None else None,
            "dtype": beat.get("dtype") if beat else None,
            "device": beat.get("device") if beat else None,
            "torch_threads": beat.get("torch_threads") if beat else None,
            "in_flight": self.counters.in_flight[model_id],
            "gpu_memory_mb": _model_gpu_memory(picture.gpu, model_id, beats),
        }
        if history:
            described["replica_history"] = [_lifetime(r) for r in [*picture.history(model_id), *picture.beats(model_id)]]
        return described

    def gpu(self) -> dict:
        return self.view.picture.gpu

    async def fresh_gpu(self) -> dict:
        return await asyncio.to_thread(gpu_snapshot, self.view.picture.pids())

    def queue(self, models: dict[str, dict]) -> dict:
        waiting = sum(m["in_flight"] for m in models.values() if m["state"] in ("loading", "not_loaded", "releasing"))
        return {"in_flight": self.counters.total(), "waiting": waiting}

    # ---- the request path -----------------------------------------------------------------
    @asynccontextmanager
    async def serving(self, model_id: str) -> AsyncIterator[None]:
        """Wraps every use of a model: counts it, and lets it through when its turn has come."""
        self.counters.in_flight[model_id] += 1
        try:
            await self._admit(model_id)
            cold = not self.is_running(model_id)
            self.counters.dispatched[model_id] += 1
            try:
                yield
            finally:
                self.counters.dispatched[model_id] -= 1
            if cold:
                # This request brought the model up: let the picture catch up before answering,
                # so a status read right after the answer agrees with it.
                await self.view.wait_for(lambda p: p.replicas(model_id).running > 0,
                                         self.view.picture.read_started_at, COLD_CATCH_UP_S)
        finally:
            self.counters.in_flight[model_id] -= 1

    async def _admit(self, model_id: str) -> None:
        release = self._releases.get(model_id)
        if release is not None:
            # Arrived during a release of this model: wait for the exit, then load it again.
            await asyncio.shield(release)
        if not self.release_other_on_switch or model_id not in ASR_MODELS:
            return
        others = [m for m in ASR_MODELS if m != model_id and self.is_live(m)]
        if not others:
            return
        switch = self._switches.get(model_id)
        if switch is None:
            switch = self._spawn(self._switch_to(others), self._switches, [model_id])
        await asyncio.shield(switch)

    async def _switch_to(self, others: list[str]) -> None:
        async with self._switch_lock:  # one switch at a time: the next one sees what this one did
            task = self._spawn(self._release(others, self.switch_wait_s), self._releases, others)
            await asyncio.shield(task)

    # ---- releases -------------------------------------------------------------------------
    def _spawn(self, work: Awaitable, registry: dict[str, asyncio.Task], keys: list[str]) -> asyncio.Task:
        task = asyncio.ensure_future(work)
        for key in keys:
            registry[key] = task

        def forget(_: asyncio.Task) -> None:
            for key in keys:
                if registry.get(key) is task:
                    registry.pop(key)

        task.add_done_callback(forget)
        return task

    def _gone(self, model_id: str, picture: Picture) -> bool:
        return picture.replicas(model_id).live == 0 and not self.counters.dispatched[model_id]

    async def _release(self, model_ids: list[str], timeout_s: float) -> Picture | None:
        """Asks the models' replicas to go and waits (bounded) until they have exited."""
        try:
            requested_at = await self.registry.request_release.remote(model_ids, timeout_s + RELEASE_TTL_MARGIN_S)
            gone = await self.view.wait_for(lambda p: all(self._gone(m, p) for m in model_ids), requested_at,
                                            timeout_s)
            if not gone:
                logger.warning("release of %s not finished after %.1fs", model_ids, timeout_s)
                return None
            await self.registry.release_done.remote(model_ids, requested_at)
            return self.view.picture
        except Exception:
            logger.exception("release of %s failed", model_ids)
            return None

    async def release(self, model_ids: list[str], wait: bool = True) -> dict:
        started = time.monotonic()
        live_before = {m: self.is_live(m) for m in model_ids}
        task = self._spawn(self._release(model_ids, self.release_wait_s), self._releases, model_ids)
        picture = await asyncio.shield(task) if wait else None
        models = self.models(picture)
        return {
            "released": [m for m in model_ids if live_before[m]],
            "already_unloaded": [m for m in model_ids if not live_before[m]],
            # Every chosen replica exited; a request that came meanwhile may be loading it again.
            "complete": picture is not None,
            "seconds": round(time.monotonic() - started, 2),
            "models": models,
        }


def _lifetime(record: dict) -> dict:
    """One replica's life from its own clock: constructed, loaded, exited (None while alive)."""
    return {key: record.get(key) for key in ("replica_id", "pid", "started_at", "loaded_at", "exited_at",
                                              "exit_reason")}
