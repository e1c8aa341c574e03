"""The ASR deployment, bound once per model size; concurrent requests become one batch."""

from __future__ import annotations

import asyncio
import time
from itertools import groupby

from ray import serve

from deployments.inference import AsrEngine
from deployments.lifecycle import BatchItem, ModelReplica, batch_slots
from deployments.protocol import (
    DEFAULT_BATCH_MAX_SIZE,
    DEFAULT_BATCH_WAIT_TIMEOUT_S,
    AsrRequest,
    AsrResult,
)


@serve.deployment(ray_actor_options={"num_cpus": 0})
class AsrDeployment(ModelReplica):
    engine_class = AsrEngine
    batch_method = "transcribe_batch"

    async def __init__(self, model_id: str, options: dict, registry, torch_threads: int = 0,
                       cpu_nice: int = 0, cpu_sched_idle: bool = False) -> None:
        self._init_model_gate()
        await self._start(model_id, options, registry, torch_threads, cpu_nice, cpu_sched_idle)

    def _init_model_gate(self) -> None:
        self._model_lock = asyncio.Lock()  # one model call at a time
        self._model_free = asyncio.Event()  # set while no model call runs
        self._model_free.set()

    async def transcribe(self, request: AsrRequest) -> AsrResult:
        with self.lifecycle.busy():
            item = self.batch_item(request)  # the same bound for the fast path: one piece that fits
            if self._model_lock.locked():
                # The model is busy: join the batch that forms when it is free. Queued at once, this
                # request would be closed into a batch batch_wait_timeout_s after it, with only the
                # few that came meanwhile, and every request of a burst would wait for more calls.
                await self._model_free.wait()
            elif self.lifecycle.in_flight == 1:
                # Alone and the model is free: waiting for a batch to fill would only add latency.
                return (await self._run_batch([request]))[0]
            return await self.transcribe_batch(item)

    # max_batch_size counts requests; batch_slots adds the padded-audio bound (see lifecycle.py).
    @serve.batch(max_batch_size=DEFAULT_BATCH_MAX_SIZE, batch_wait_timeout_s=DEFAULT_BATCH_WAIT_TIMEOUT_S,
                 batch_size_fn=batch_slots)
    async def transcribe_batch(self, items: list[BatchItem]) -> list[AsrResult]:
        return await self._run_batch([item.request for item in items])

    async def _run_batch(self, requests: list[AsrRequest]) -> list[AsrResult]:
        results: dict[int, AsrResult] = {}
        indexed = sorted(enumerate(requests), key=lambda pair: pair[1].dtype or "")
        for dtype, group in groupby(indexed, key=lambda pair: pair[1].dtype or ""):
            members = list(group)
            async with self._model_lock:
                self._model_free.clear()
                try:
                    with self.lifecycle.model_call():
                        started = time.perf_counter()
                        outputs = await asyncio.to_thread(self._run, dtype or None, [r for _, r in members])
                        elapsed = time.perf_counter() - started
                finally:
                    self._model_free.set()
            for (index, request), (language, text) in zip(members, outputs):
                results[index] = AsrResult(
                    text=text,
                    language=language,
                    dtype=self.engine.dtype,
                    device=self.engine.device,
                    process_seconds=elapsed,
                    batch_size=len(requests),
                    replica_loaded_at=self.lifecycle.loaded_at or 0.0,
                )
        return [results[i] for i in range(len(requests))]

    def _run(self, dtype: str | None, requests: list[AsrRequest]) -> list[tuple[str, str]]:
        if dtype and dtype != self.engine.dtype:
            self.engine.ensure_dtype(dtype)
            self.lifecycle.mark_loaded()
        return self.engine.transcribe(requests)
