"""Serve's replica counts per model, read by the ModelRegistry so the ingress never has to.

`serve.status()` validates the whole cluster's details (pydantic models, and cloudpickling
every deployment's request-router class): tens of ms of CPU holding its process's GIL. Read
in the ingress, that stalled every request and `/health` answer each time; read here, in
the registry's own process, it stalls nothing that serves users. The registry reads it
only when its heartbeats show a replica change, when someone asks for counts newer than
now (a release or a switch waiting for an exit), or every `STATUS_REFRESH_S` otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

STATUS_REFRESH_S = 5.0  # Serve's counts at least this often while the heartbeats show no change
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


def replica_signature(snapshot: dict) -> tuple:
    """What in a registry snapshot says the replica set or a replica's state changed (not idle
    seconds or request counts, which move on every beat)."""
    beats = tuple(sorted((model, b.get("replica_id"), b.get("loaded_at") is not None, bool(b.get("releasing")))
                         for model, replicas in snapshot.get("replicas", {}).items() for b in replicas))
    exits = tuple(sorted((model, len(records)) for model, records in snapshot.get("history", {}).items()))
    return beats, exits, tuple(sorted(snapshot.get("release_pending", [])))


class ServeCounts:
    """The last counts read from Serve, with the wall-clock time their read started."""

    def __init__(self, app_name: str, deployments: dict[str, str], read_status: Callable[[], Any]) -> None:
        self.app_name = app_name
        self.deployments = deployments
        self.read_status = read_status
        self.counts: dict[str, ReplicaCounts] = {}
        self.read_started_at = 0.0
        self._read_at = float("-inf")  # monotonic time of the last read
        self._signature: tuple | None = None
        self._reading: asyncio.Task | None = None

    async def current(self, signature: tuple, fresh: bool = False) -> tuple[dict[str, dict], float]:
        """Counts (as plain dicts) and when their read started; `fresh` waits for a read that
        started after this call, otherwise a read happens only when one is due."""
        changed, self._signature = signature != self._signature, signature
        if fresh:
            moment = time.time()
            while self.read_started_at < moment:
                await self._join_read()
        elif changed or time.monotonic() - self._read_at >= STATUS_REFRESH_S:
            await self._join_read()
        return {m: asdict(c) for m, c in self.counts.items()}, self.read_started_at

    async def _join_read(self) -> None:
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read())
        await asyncio.shield(self._reading)

    async def _read(self) -> None:
        started = time.time()
        status = await asyncio.to_thread(self.read_status)
        self.counts = counts_from_status(status, self.app_name, self.deployments)
        self.read_started_at = max(self.read_started_at, started)
        self._read_at = time.monotonic()
