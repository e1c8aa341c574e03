"""What every model replica tracks about itself for autoscaling and status."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from ray import serve

from deployments.heartbeat import ReplicaReport
from deployments.model_gate import ModelGate
from deployments.protocol import (
    DEFAULT_BATCH_MAX_AUDIO_SECONDS,
    DEFAULT_BATCH_MAX_SIZE,
    DEFAULT_BATCH_WAIT_TIMEOUT_S,
    DEFAULT_MODEL_CALL_TIMEOUT_S,
    SAMPLE_RATE,
)

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
        self._calls: dict[object, float] = {}  # model calls running now: token -> monotonic start
        try:
            self.replica_id = serve.get_replica_context().replica_id.unique_id
        except Exception:  # outside Serve (unit tests)
            self.replica_id = f"local-{os.getpid()}"

    async def announce(self, source: str | None) -> None:
        """Tells the registry this replica exists, before its model loads."""
        try:
            await self.registry.replica_started.remote(
                self.model_id, self.replica_id, ReplicaReport(source=source, pid=os.getpid(), started_at=self.started_at))
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

    @contextmanager
    def model_call(self):
        """Wraps one call into the model (a batch, or a dtype reload), so a wedged one is seen."""
        token = object()
        self._calls[token] = time.monotonic()
        try:
            yield
        finally:
            del self._calls[token]

    def longest_call_seconds(self) -> float:
        """How long the oldest model call still running has been going (0 when none runs)."""
        return time.monotonic() - min(self._calls.values()) if self._calls else 0.0

    def idle_seconds(self) -> float:
        # Serve may ask for metrics while the constructor is still loading: that is not idleness.
        if self.in_flight or self.loaded_at is None:
            return 0.0
        return time.time() - self.last_active

    async def record(self, engine: dict) -> dict[str, float]:
        """Heartbeat to the registry (`engine`: the ReplicaReport fields the model knows, e.g. dtype);
        returns the custom autoscaling metrics."""
        try:
            report = ReplicaReport(pid=os.getpid(), started_at=self.started_at, loaded_at=self.loaded_at,
                                   idle_seconds=self.idle_seconds(), releasing=self.releasing, **engine)
            release = await self.registry.heartbeat.remote(self.model_id, self.replica_id, report)
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


def cuda_reserved_mb(device: str) -> int | None:
    """MB torch's caching allocator holds on `device` (weights, activations, cache); None off CUDA."""
    if not device.startswith("cuda"):
        return None
    import torch

    return int(torch.cuda.memory_reserved(device) // (1024 * 1024))


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


def lower_cpu_priority(niceness: int, idle_class: bool = False) -> int:
    """Every thread of this process runs at `niceness`, and with `idle_class` in Linux's SCHED_IDLE
    class (threads started later inherit both); returns the niceness now in force for the calling
    thread.

    A model on the CPU keeps every core busy for the length of a call. At the default priority the
    proxy and the ingress then queue for a time slice and `/health` takes 100+ ms during a long file;
    one step down, the model still gets every cycle nobody else wants. Niceness only weights the
    shares, though: a woken proxy thread may still wait out the model's time slice. A SCHED_IDLE
    thread is preempted at once by any other that wakes (measured: /health p99 during a 25-min
    clip 42-93 ms at niceness 19 alone, 34-51 ms with SCHED_IDLE, on 2 cores). Raising niceness
    and entering SCHED_IDLE need no privilege; undoing either does, so neither is undone here.
    """
    if niceness <= 0:
        return os.getpriority(os.PRIO_PROCESS, 0)
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # not Linux: os.nice applies to the whole process there
        current = os.nice(0)
        return os.nice(niceness - current) if niceness > current else current
    for tid in threads:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
            if idle_class:
                os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        except OSError:  # the thread ended meanwhile
            pass
    return os.getpriority(os.PRIO_PROCESS, 0)


@dataclass
class BatchItem:
    """One request on its way into `@serve.batch`, with what `batch_slots` needs to size it."""

    request: Any
    seconds: float        # audio length of this request
    slot_seconds: float   # batch_max_audio_seconds / batch_max_size when it was queued


def batch_slots(items: list[BatchItem]) -> float:
    """`@serve.batch`'s batch_size_fn: the batch's size in request slots, compared to max_batch_size.

    max_batch_size stays the count (`batch_max_size`); the audio bound is the same number of slots
    of `slot_seconds` each. A model call pads every request to the longest, so the audio a batch
    costs is count x longest: size = max(count, count x longest / slot_seconds). A batch fits
    exactly when it has at most `batch_max_size` requests AND at most `batch_max_audio_seconds`
    of padded audio.
    """
    if not items:
        return 0
    longest = max(item.seconds for item in items)
    slot = min(item.slot_seconds for item in items)
    # rounded: a piece of exactly batch_max_audio_seconds must come out at exactly batch_max_size
    return round(max(float(len(items)), len(items) * longest / slot), 6)


class PieceTooLong(ValueError):
    """A request longer than batch_max_audio_seconds: no batch could take it."""


class ModelReplica:
    """What the ASR and aligner deployments share: engine start-up, the way a request reaches the
    model, metrics, clean exit.

    Subclasses set `engine_class` and implement `_run_batch`, whose model call runs inside
    `_model_call()`; each subclass gets its own `@serve.batch` queue in front of it, `batched`.
    """

    engine_class: type
    batched: Callable[[BatchItem], Awaitable[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)

        # Serve keeps a batch queue on the decorated function, so each class decorates its own.
        # max_batch_size counts requests; batch_slots adds the padded-audio bound.
        @serve.batch(max_batch_size=DEFAULT_BATCH_MAX_SIZE, batch_wait_timeout_s=DEFAULT_BATCH_WAIT_TIMEOUT_S,
                     batch_size_fn=batch_slots)
        async def batched(self: ModelReplica, items: list[BatchItem]) -> list[Any]:
            return await self._run_batch(items)

        cls.batched = batched  # the attribute's name must be the function's: Serve finds `self` by it

    def _begin(self, model_id: str, registry) -> None:
        """The state every request needs, before anything is loaded."""
        self.model_id = model_id
        self.lifecycle = ReplicaLifecycle(model_id, registry)
        self.gate = ModelGate()

    async def _start(self, model_id: str, options: dict, registry, torch_threads: int, cpu_nice: int,
                     cpu_sched_idle: bool) -> None:
        from deployments.inference import LoadOptions, resolve_device

        self._begin(model_id, registry)
        await self.lifecycle.announce(options.get("source"))
        import torch

        self.torch_threads = torch_thread_count(torch_threads)
        torch.set_num_threads(self.torch_threads)
        if resolve_device(options.get("device", "auto")) == "cpu":
            lower_cpu_priority(cpu_nice, cpu_sched_idle)
        # Loading can take minutes on real weights: off the event loop, so heartbeats go on meanwhile.
        self.engine = await asyncio.to_thread(self.engine_class, LoadOptions(**options))
        self.lifecycle.mark_loaded()
        await self.record_autoscaling_stats()  # the registry knows the load at once, not a beat later

    def reconfigure(self, config: dict) -> None:
        """Batching settings arrive as user_config, so a redeploy changes them in place.

        `batch_max_size` is the most requests in one model call (`max_batch_size`), and
        `batch_max_audio_seconds` the most padded audio (through `batch_slots`)."""
        batched = self.batched
        self.batch_max_size = int(config.get("batch_max_size", DEFAULT_BATCH_MAX_SIZE))
        self.batch_max_audio_seconds = float(config.get("batch_max_audio_seconds", DEFAULT_BATCH_MAX_AUDIO_SECONDS))
        batched.set_max_batch_size(self.batch_max_size)
        batched.set_batch_wait_timeout_s(float(config.get("batch_wait_timeout_s", DEFAULT_BATCH_WAIT_TIMEOUT_S)))
        self.model_call_timeout_s = float(config.get("model_call_timeout_s", DEFAULT_MODEL_CALL_TIMEOUT_S))

    def batch_item(self, request: Any) -> BatchItem:
        """Sizes a request for the batch queue; refuses one that no batch could take."""
        max_size = getattr(self, "batch_max_size", DEFAULT_BATCH_MAX_SIZE)
        max_seconds = getattr(self, "batch_max_audio_seconds", DEFAULT_BATCH_MAX_AUDIO_SECONDS)
        seconds = request.audio.shape[0] / SAMPLE_RATE
        if seconds > max_seconds:
            raise PieceTooLong(f"{seconds:.1f} s of audio in one request; batch_max_audio_seconds is {max_seconds:g} "
                               "(the ingress cuts files into pieces of asr_piece_seconds)")
        return BatchItem(request, seconds, max_seconds / max_size)

    async def _submit(self, request: Any) -> Any:
        """One request's result from a model call: the next batch, or at once when it is alone.

        Call inside `lifecycle.busy()`, whose in-flight count tells a lone request."""
        item = self.batch_item(request)  # the same bound for the fast path: one piece that fits
        if self.gate.busy:
            await self.gate.wait_free()  # then queue with the rest who came meanwhile (see ModelGate)
        elif self.lifecycle.in_flight == 1:
            # Alone and the model is free: waiting for a batch to fill would only add latency.
            return (await self._run_batch([item]))[0]
        return await self.batched(item)

    async def _run_batch(self, items: list[BatchItem]) -> list[Any]:
        raise NotImplementedError

    @asynccontextmanager
    async def _model_call(self) -> AsyncIterator[None]:
        """Around every call into the model: one at a time, and timed for the health check."""
        async with self.gate.call():
            with self.lifecycle.model_call():
                yield

    async def wait_loaded(self) -> None:
        """Answers once the model is loaded (Serve sends no call before the constructor is done):
        a request that will need this model soon calls it first, and the load overlaps its other
        work."""

    async def check_health(self) -> None:
        """Serve calls this every health_check_period_s: a model call that never returns (a wedged
        GPU, a deadlocked kernel) fails it, and Serve replaces the replica."""
        lifecycle = getattr(self, "lifecycle", None)
        if lifecycle is None:
            return
        limit = getattr(self, "model_call_timeout_s", DEFAULT_MODEL_CALL_TIMEOUT_S)
        running = lifecycle.longest_call_seconds()
        if running > limit:
            raise RuntimeError(f"{lifecycle.model_id}: a model call has run for {running:.0f} s "
                               f"(model_call_timeout_s is {limit:g}); the model looks wedged")

    async def record_autoscaling_stats(self) -> dict[str, float]:
        lifecycle = getattr(self, "lifecycle", None)
        if lifecycle is None:  # Serve may ask before the constructor got this far
            return {RELEASE_METRIC: 0.0, IDLE_METRIC: 0.0}
        engine = getattr(self, "engine", None)
        info = {"torch_threads": getattr(self, "torch_threads", None)}
        if engine is not None:
            info.update(dtype=engine.dtype, device=engine.device, load_seconds=engine.load_seconds,
                        cuda_reserved_mb=cuda_reserved_mb(engine.device))
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
