"""What every model replica tracks about itself for autoscaling and status."""

from __future__ import annotations

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
            release_at = await self.registry.heartbeat.remote(
                self.model_id,
                self.replica_id,
                {
                    **info,
                    "pid": os.getpid(),
                    "loaded_at": self.loaded_at,
                    "idle_seconds": self.idle_seconds(),
                    "in_flight": self.in_flight,
                    "releasing": self.releasing,
                    "requests_served": self.requests_served,
                    "largest_batch": self.largest_batch,
                },
            )
            if release_at > self.started_at:
                self.releasing = True
        except Exception:
            logger.exception("heartbeat to ModelRegistry failed")
        return {RELEASE_METRIC: 1.0 if self.releasing else 0.0, IDLE_METRIC: self.idle_seconds()}

    async def forget(self) -> None:
        try:
            await self.registry.forget.remote(self.model_id, self.replica_id)
        except Exception:
            pass


class ModelReplica:
    """What the ASR and aligner deployments share: engine start-up, metrics, clean exit.

    Subclasses set `engine_class` and name their `@serve.batch` method in `batch_method`.
    """

    engine_class: type
    batch_method: str

    def _start(self, model_id: str, options: dict, registry, torch_threads: int) -> None:
        from deployments.inference import LoadOptions

        if torch_threads:
            import torch

            torch.set_num_threads(torch_threads)
        self.model_id = model_id
        self.lifecycle = ReplicaLifecycle(model_id, registry)
        self.engine = self.engine_class(LoadOptions(**options))
        self.batch_config: dict = {}
        self.lifecycle.mark_loaded()

    def reconfigure(self, config: dict) -> None:
        """Batching settings arrive as user_config, so a redeploy changes them in place."""
        batched = getattr(self, self.batch_method)
        batched.set_max_batch_size(int(config.get("batch_max_size", 8)))
        batched.set_batch_wait_timeout_s(float(config.get("batch_wait_timeout_s", 0.02)))
        self.batch_config = dict(config)

    async def record_autoscaling_stats(self) -> dict[str, float]:
        return await self.lifecycle.record(
            {"dtype": self.engine.dtype, "device": self.engine.device, "load_seconds": self.engine.load_seconds,
             **self.batch_config}
        )

    async def __del__(self) -> None:
        await self.lifecycle.forget()
