"""Per-model state, release-now and the model-switch policy, read from Serve itself.

Replica counts come from `serve.status()`; load/idle details from the replicas'
heartbeats in the ModelRegistry. Nothing here calls a model deployment, so asking for
status never loads a model.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from ray import serve

from deployments.protocol import ALIGNER, ASR_0_6B, ASR_1_7B, ASR_MODELS
from serve_app.gpu import gpu_snapshot

DEPLOYMENT_NAMES = {ASR_1_7B: "Qwen3ASR-1.7B", ASR_0_6B: "Qwen3ASR-0.6B", ALIGNER: "ForcedAligner"}
LABELS = {ASR_1_7B: "Qwen3-ASR 1.7B", ASR_0_6B: "Qwen3-ASR 0.6B", ALIGNER: "Qwen3-ForcedAligner 0.6B"}
STATUS_CACHE_S = 0.5


@dataclass
class RequestCounters:
    in_flight: Counter = field(default_factory=Counter)

    def total(self) -> int:
        return sum(self.in_flight.values())


def _idle_now(beat: dict, now: float) -> float:
    """A heartbeat's idle time, aged by the time since it was sent (a busy replica stays at 0)."""
    if not beat["idle_seconds"]:
        return 0.0
    return beat["idle_seconds"] + max(0.0, now - beat["reported_at"])


class LifecycleService:
    def __init__(self, registry, app_name: str | None, sources: dict[str, str], idle_timeout_s: float,
                 release_other_on_switch: bool, switch_wait_s: float, release_wait_s: float) -> None:
        self.registry = registry
        self.app_name = app_name
        self.sources = sources
        self.idle_timeout_s = idle_timeout_s
        self.release_other_on_switch = release_other_on_switch
        self.switch_wait_s = switch_wait_s
        self.release_wait_s = release_wait_s
        self.counters = RequestCounters()
        self._status_cache: tuple[float, dict] | None = None
        self._switch_lock = asyncio.Lock()

    # ---- replica counts -------------------------------------------------------------
    async def replica_states(self, fresh: bool = False) -> dict[str, Counter]:
        now = time.monotonic()
        if not fresh and self._status_cache and now - self._status_cache[0] < STATUS_CACHE_S:
            return self._status_cache[1]
        status = await asyncio.to_thread(serve.status)
        app = status.applications.get(self.app_name) if self.app_name else None
        if app is None and status.applications:
            app = next(iter(status.applications.values()))
        states: dict[str, Counter] = {}
        for model_id, deployment_name in DEPLOYMENT_NAMES.items():
            overview = app.deployments.get(deployment_name) if app else None
            counts: Counter = Counter()
            if overview is not None:
                for state, count in overview.replica_states.items():
                    counts[str(getattr(state, "value", state))] += int(count)
            states[model_id] = counts
        self._status_cache = (now, states)
        return states

    async def running_replicas(self, model_id: str, fresh: bool = True) -> int:
        return (await self.replica_states(fresh=fresh))[model_id]["RUNNING"]

    async def live_replicas(self, model_ids: list[str], fresh: bool = True) -> dict[str, int]:
        """Replicas that exist (running, starting or stopping) per model, from one status call."""
        states = await self.replica_states(fresh=fresh)
        live = ("RUNNING", "STARTING", "UPDATING", "RECOVERING", "STOPPING")
        return {m: sum(states[m][s] for s in live) for m in model_ids}

    # ---- state per model ------------------------------------------------------------
    async def models(self) -> dict[str, dict]:
        states, snapshot = await asyncio.gather(self.replica_states(), self.registry.snapshot.remote())
        now = snapshot["now"]
        return {
            model_id: self._describe(model_id, states[model_id], snapshot["replicas"].get(model_id, []),
                                     snapshot["release_requested_at"].get(model_id, 0.0), now)
            for model_id in DEPLOYMENT_NAMES
        }

    def _describe(self, model_id: str, counts: Counter, beats: list[dict], release_at: float, now: float) -> dict:
        running = counts["RUNNING"]
        starting = counts["STARTING"] + counts["UPDATING"] + counts["RECOVERING"]
        stopping = counts["STOPPING"]
        live_beats = [b for b in beats if b.get("loaded_at")]
        releasing = stopping > 0 or any(b.get("releasing") for b in beats) or (
            running > 0 and any((b.get("loaded_at") or 0) < release_at for b in live_beats)
        )
        if releasing and (running or stopping):
            state = "releasing"
        elif running:
            state = "loaded"
        elif starting or self.counters.in_flight[model_id]:
            state = "loading"
        else:
            state = "not_loaded"
        beat = max(live_beats, key=lambda b: b["loaded_at"], default=None) if running else None
        idle = min(_idle_now(b, now) for b in live_beats) if beat else None
        return {
            "id": model_id,
            "kind": "aligner" if model_id == ALIGNER else "asr",
            "label": LABELS[model_id],
            "source": self.sources.get(model_id),
            "state": state,
            "replicas": running,
            "replicas_starting": starting,
            "replicas_stopping": stopping,
            "load_seconds": round(beat["load_seconds"], 3) if beat else None,
            "loaded_at": beat["loaded_at"] if beat else None,
            "idle_seconds": round(idle, 1) if idle is not None else None,
            "unload_in_seconds": round(max(0.0, self.idle_timeout_s - idle), 1) if idle is not None else None,
            "dtype": beat.get("dtype") if beat else None,
            "device": beat.get("device") if beat else None,
            "in_flight": self.counters.in_flight[model_id],
        }

    async def service_pids(self) -> set[int]:
        snapshot = await self.registry.snapshot.remote()
        return {b["pid"] for beats in snapshot["replicas"].values() for b in beats if b.get("pid")}

    async def gpu(self) -> dict:
        pids = await self.service_pids()
        return await asyncio.to_thread(gpu_snapshot, pids)

    def queue(self, models: dict[str, dict]) -> dict:
        waiting = sum(m["in_flight"] for m in models.values() if m["state"] in ("loading", "not_loaded", "releasing"))
        return {"in_flight": self.counters.total(), "waiting": waiting}

    # ---- release and switch ---------------------------------------------------------
    async def release(self, model_ids: list[str], wait: bool = True) -> dict:
        started = time.monotonic()
        live_before = await self.live_replicas(model_ids)
        await self.registry.request_release.remote(model_ids)
        if wait:
            await self.wait_until_unloaded(model_ids, self.release_wait_s)
        self._status_cache = None
        return {
            "released": [m for m in model_ids if live_before[m] > 0],
            "already_unloaded": [m for m in model_ids if live_before[m] == 0],
            "seconds": round(time.monotonic() - started, 2),
        }

    async def wait_until_unloaded(self, model_ids: list[str], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not any((await self.live_replicas(model_ids)).values()):
                return True
            await asyncio.sleep(0.25)
        return False

    async def before_request(self, model_id: str) -> None:
        """Model switch: with the policy on, the other ASR model leaves before this one loads."""
        if not self.release_other_on_switch or model_id not in ASR_MODELS:
            return
        others = [m for m in ASR_MODELS if m != model_id]
        async with self._switch_lock:
            live = await self.live_replicas([model_id, *others])
            if not any(live[m] for m in others):
                return
            await self.registry.request_release.remote(others)
            if live[model_id] == 0:
                # This model is about to load: let the other one free its memory first.
                await self.wait_until_unloaded(others, self.switch_wait_s)
