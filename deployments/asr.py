"""The ASR deployment, bound once per model size; concurrent requests become one batch."""

from __future__ import annotations

import asyncio
import time
from itertools import groupby

from ray import serve

from deployments.inference import AsrEngine
from deployments.lifecycle import BatchItem, ModelReplica
from deployments.protocol import AsrRequest, AsrResult


@serve.deployment(ray_actor_options={"num_cpus": 0})
class AsrDeployment(ModelReplica):
    engine_class = AsrEngine

    async def __init__(self, model_id: str, options: dict, registry, torch_threads: int = 0,
                       cpu_nice: int = 0, cpu_sched_idle: bool = False) -> None:
        await self._start(model_id, options, registry, torch_threads, cpu_nice, cpu_sched_idle)

    async def transcribe(self, request: AsrRequest) -> AsrResult:
        with self.lifecycle.busy():
            return await self._submit(request)

    async def _run_batch(self, items: list[BatchItem]) -> list[AsrResult]:
        requests: list[AsrRequest] = [item.request for item in items]
        results: dict[int, AsrResult] = {}
        indexed = sorted(enumerate(requests), key=lambda pair: pair[1].dtype or "")
        for dtype, group in groupby(indexed, key=lambda pair: pair[1].dtype or ""):
            members = list(group)
            async with self._model_call():
                started = time.perf_counter()
                outputs = await asyncio.to_thread(self._run, dtype or None, [r for _, r in members])
                elapsed = time.perf_counter() - started
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
