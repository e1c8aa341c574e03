"""A tiny always-on deployment that records release requests and replica heartbeats.

Model replicas poll it from `record_autoscaling_stats()`, so a release reaches every
replica of a deployment (and none is started just to be told to stop). The ingress reads
it to report per-model state without touching model deployments (which would load them).
"""

from __future__ import annotations

import time

from ray import serve

# A replica that has not reported for this long is treated as gone.
STALE_AFTER_S = 15.0


@serve.deployment(name="ModelRegistry", num_replicas=1, ray_actor_options={"num_cpus": 0})
class ModelRegistry:
    def __init__(self) -> None:
        self._release_requested_at: dict[str, float] = {}
        self._replicas: dict[str, dict[str, dict]] = {}

    def request_release(self, model_ids: list[str]) -> float:
        now = time.time()
        for model_id in model_ids:
            self._release_requested_at[model_id] = now
        return now

    def release_requested_at(self, model_id: str) -> float:
        return self._release_requested_at.get(model_id, 0.0)

    def heartbeat(self, model_id: str, replica_id: str, info: dict) -> float:
        """Stores a replica's report; answers when a release was last requested."""
        self._replicas.setdefault(model_id, {})[replica_id] = {**info, "reported_at": time.time()}
        return self._release_requested_at.get(model_id, 0.0)

    def forget(self, model_id: str, replica_id: str) -> None:
        self._replicas.get(model_id, {}).pop(replica_id, None)

    def snapshot(self) -> dict:
        now = time.time()
        replicas = {
            model_id: [info for info in by_id.values() if now - info["reported_at"] < STALE_AFTER_S]
            for model_id, by_id in self._replicas.items()
        }
        return {"now": now, "release_requested_at": dict(self._release_requested_at), "replicas": replicas}
