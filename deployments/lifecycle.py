"""What every model replica tracks about itself for autoscaling and status."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from contextlib import contextmanager

from ray import serve

logger = logging.getLogger(__name__)

# Custom autoscaling metric names read by deployments.autoscaling.
RELEASE_METRIC = "release_requested"
IDLE_METRIC = "idle_seconds"


class ReplicaLifecycle:
    """Idle time, in-flight count and release flag of one model replica."""

    def __init__(self, model_id: str, registry) -> None:
        self.model_id = model_id
        self.registry = registry
        self.started_at = time.time()
        self.loaded_at: float | None = None
        self.last_active = time.time()
        self.in_flight = 0
        self.releasing = False
        self.requests_served = 0
        self.largest_batch = 0
        try:
            self.replica_id = serve.get_replica_context().replica_id.unique_id
        except Exception:  # outside Serve (unit tests)
            self.replica_id = f"local-{os.getpid()}"

    async def announce(self, info: dict) -> None:
        """Tells the registry this replica exists, before its model loads."""
        try:
            await self.registry.replica_started.remote(
                self.model_id, self.replica_id, {**info, "pid": os.getpid(), "started_at": self.started_at})
        except Exception:
            logger.exception("could not announce the replica to ModelRegistry")

    def mark_loaded(self) -> None:
        self.loaded_at = time.time()
        self.last_active = self.loaded_at

    @contextmanager
    def busy(self):
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self.requests_served += 1
            self.last_active = time.time()

    def idle_seconds(self) -> float:
        # Serve may ask for metrics while the constructor is still loading: that is not idleness.
        if self.in_flight or self.loaded_at is None:
            return 0.0
        return time.time() - self.last_active

    async def record(self, info: dict) -> dict[str, float]:
        """Heartbeat to the registry; returns the custom autoscaling metrics."""
        try:
            release = await self.registry.heartbeat.remote(
                self.model_id,
                self.replica_id,
                {
                    **info,
                    "pid": os.getpid(),
                    "started_at": self.started_at,
                    "loaded_at": self.loaded_at,
                    "idle_seconds": self.idle_seconds(),
                    "in_flight": self.in_flight,
                    "releasing": self.releasing,
                    "requests_served": self.requests_served,
                    "largest_batch": self.largest_batch,
                },
            )
            # Sticky: once told to go, a replica goes even if the release is withdrawn later.
            self.releasing = self.releasing or bool(release)
        except Exception:
            logger.exception("heartbeat to ModelRegistry failed")
        return {RELEASE_METRIC: 1.0 if self.releasing else 0.0, IDLE_METRIC: self.idle_seconds()}

    async def exited(self) -> None:
        try:
            await self.registry.replica_exited.remote(
                self.model_id, self.replica_id, "released" if self.releasing else "stopped")
        except Exception:
            pass


def torch_thread_count(requested: int) -> int:
    """Threads for torch in this replica: as asked, else the CPUs Ray gave it, else every core.

    Ray sets OMP_NUM_THREADS from an actor's `num_cpus` (1 for 0 or 1), so without this a
    CPU replica that asked for no CPU slot would run torch on one thread.
    """
    if requested > 0:
        return requested
    try:
        import ray

        assigned = float(ray.get_runtime_context().get_assigned_resources().get("CPU", 0.0))
    except Exception:
        assigned = 0.0
    if assigned >= 1:
        return int(assigned)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class ModelReplica:
    """What the ASR and aligner deployments share: engine start-up, metrics, clean exit.

    Subclasses set `engine_class` and name their `@serve.batch` method in `batch_method`.
    """

    engine_class: type
    batch_method: str

    async def _start(self, model_id: str, options: dict, registry, torch_threads: int) -> None:
        from deployments.inference import LoadOptions

        self.model_id = model_id
        self.lifecycle = ReplicaLifecycle(model_id, registry)
        await self.lifecycle.announce({"source": options.get("source")})
        import torch

        self.torch_threads = torch_thread_count(torch_threads)
        torch.set_num_threads(self.torch_threads)
        # Loading can take minutes on real weights: off the event loop, so heartbeats go on meanwhile.
        self.engine = await asyncio.to_thread(self.engine_class, LoadOptions(**options))
        self.batch_config: dict = {}
        self.lifecycle.mark_loaded()
        await self.record_autoscaling_stats()  # the registry knows the load at once, not a beat later

    def reconfigure(self, config: dict) -> None:
        """Batching settings arrive as user_config, so a redeploy changes them in place."""
        batched = getattr(self, self.batch_method)
        batched.set_max_batch_size(int(config.get("batch_max_size", 8)))
        batched.set_batch_wait_timeout_s(float(config.get("batch_wait_timeout_s", 0.02)))
        self.batch_config = dict(config)

    async def record_autoscaling_stats(self) -> dict[str, float]:
        lifecycle = getattr(self, "lifecycle", None)
        if lifecycle is None:  # Serve may ask before the constructor got this far
            return {RELEASE_METRIC: 0.0, IDLE_METRIC: 0.0}
        engine = getattr(self, "engine", None)
        info = {"torch_threads": getattr(self, "torch_threads", None), **getattr(self, "batch_config", {})}
        if engine is not None:
            info.update(dtype=engine.dtype, device=engine.device, load_seconds=engine.load_seconds)
        return await lifecycle.record(info)

    async def __del__(self) -> None:
        lifecycle = getattr(self, "lifecycle", None)
        # Free the weights before saying so: the exit time is when the memory is gone.
        self.engine = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:
            logger.exception("could not empty the CUDA cache")
        if lifecycle is not None:
            await lifecycle.exited()
