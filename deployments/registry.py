"""A tiny always-on deployment: release requests, replica heartbeats and replica lifetimes.

Model replicas report here when their constructor starts, every second from
`record_autoscaling_stats()`, and when they exit, so the ingress can tell what each
model is doing without touching a model deployment (which would load it), and tests
can prove orderings (the old model exited before the new one was constructed) from the
replicas' own clocks.

The registry also reads Serve's replica counts for the ingress (`picture`), so that the
costly `serve.status()` runs in this process and never in the one that serves requests.

A release stays *pending* until the ingress confirms that the model has no replicas
left (or the request expires): every replica of that model that reports meanwhile,
including one that was still starting when the release was asked for, is told to go.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ray import serve

from deployments.heartbeat import ReplicaReport, report_fields
from deployments.replica_counts import ServeCounts, replica_signature

# A replica that has not reported for this long is treated as gone (killed, not stopped).
STALE_AFTER_S = 15.0
# Finished replica lifetimes kept per model, newest last.
HISTORY_PER_MODEL = 16
# Ids of replicas that reported their exit, kept to ignore their late heartbeats.
EXITED_IDS_KEPT = 256


@serve.deployment(name="ModelRegistry", num_replicas=1, max_ongoing_requests=1000,
                  ray_actor_options={"num_cpus": 0})
class ModelRegistry:
    def __init__(self, deployments: dict[str, str], app_name: str | None = None,
                 read_status: Callable[[], Any] = serve.status) -> None:
        """`deployments`: model id -> deployment name in this application (whose name is read
        from the replica context unless given)."""
        app_name = app_name if app_name is not None else serve.get_replica_context().app_name
        self._serve_counts = ServeCounts(app_name, deployments, read_status)
        self._release_requested_at: dict[str, float] = {}
        self._release_pending_until: dict[str, float] = {}
        self._replicas: dict[str, dict[str, dict]] = {}
        self._history: dict[str, deque[dict]] = {}
        # Replicas that said they exited: a heartbeat sent before the exit may arrive after it.
        self._exited: deque[str] = deque(maxlen=EXITED_IDS_KEPT)

    # ---- releases ---------------------------------------------------------------------
    def request_release(self, model_ids: list[str], ttl_s: float = 300.0) -> float:
        """Marks the models' replicas for release; returns the registry's time of the request."""
        now = time.time()
        for model_id in model_ids:
            self._release_requested_at[model_id] = now
            self._release_pending_until[model_id] = now + ttl_s
        return now

    def release_done(self, model_ids: list[str], requested_at: float) -> None:
        """The ingress saw the models reach zero replicas: later replicas may stay."""
        for model_id in model_ids:
            if self._release_requested_at.get(model_id, 0.0) <= requested_at:
                self._release_pending_until.pop(model_id, None)

    def _release_pending(self, model_id: str, now: float) -> bool:
        return self._release_pending_until.get(model_id, 0.0) > now

    # ---- replica reports -----------------------------------------------------------------
    def replica_started(self, model_id: str, replica_id: str, report: ReplicaReport | dict) -> None:
        now = time.time()
        self._replicas.setdefault(model_id, {})[replica_id] = {
            **report_fields(report), "replica_id": replica_id, "reported_at": now, "loaded_at": None, "exited_at": None,
        }

    def heartbeat(self, model_id: str, replica_id: str, report: ReplicaReport | dict) -> bool:
        """Stores a replica's report; answers whether it should release itself."""
        info = report_fields(report)
        now = time.time()
        if replica_id in self._exited:
            return True  # a late report from a replica that has exited: it must not come back
        if replica_id not in self._replicas.get(model_id, {}):
            self._unforget(model_id, replica_id)
        known = self._replicas.setdefault(model_id, {}).get(replica_id, {"replica_id": replica_id})
        known.update(info, reported_at=now)
        self._replicas[model_id][replica_id] = known
        return self._release_pending(model_id, now)

    def replica_exited(self, model_id: str, replica_id: str, reason: str) -> None:
        record = self._replicas.get(model_id, {}).pop(replica_id, None) or {"replica_id": replica_id}
        self._exited.append(replica_id)
        self._remember(model_id, {**record, "exited_at": time.time(), "exit_reason": reason})

    def _remember(self, model_id: str, record: dict) -> None:
        self._history.setdefault(model_id, deque(maxlen=HISTORY_PER_MODEL)).append(record)

    def _unforget(self, model_id: str, replica_id: str) -> None:
        """A replica taken for lost reports again (it was only busy): it is alive after all."""
        history = self._history.get(model_id)
        if history:
            kept = [r for r in history if not (r.get("replica_id") == replica_id and r.get("exit_reason") == "lost")]
            self._history[model_id] = deque(kept, maxlen=HISTORY_PER_MODEL)

    def _drop_stale(self, now: float) -> None:
        for model_id, by_id in self._replicas.items():
            for replica_id in [r for r, info in by_id.items() if now - info["reported_at"] >= STALE_AFTER_S]:
                record = by_id.pop(replica_id)
                self._remember(model_id, {**record, "exited_at": None, "exit_reason": "lost"})

    # ---- reading ---------------------------------------------------------------------------
    def snapshot(self) -> dict:
        now = time.time()
        self._drop_stale(now)
        return {
            "now": now,
            "release_requested_at": dict(self._release_requested_at),
            "release_pending": [m for m in self._release_pending_until if self._release_pending(m, now)],
            "replicas": {m: list(by_id.values()) for m, by_id in self._replicas.items()},
            "history": {m: list(records) for m, records in self._history.items()},
        }

    async def picture(self, fresh: bool = False) -> dict:
        """The snapshot plus Serve's replica counts per model (`counts`) and the wall-clock time
        their read started (`counts_read_at`); `fresh` waits for counts read after this call."""
        snapshot = self.snapshot()
        counts, read_at = await self._serve_counts.current(replica_signature(snapshot), fresh)
        return {**snapshot, "counts": counts, "counts_read_at": read_at}
