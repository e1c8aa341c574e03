"""The ForcedAligner deployment: word/character times for a transcript."""

from __future__ import annotations

import asyncio
import time

from ray import serve

from deployments.inference import AlignerEngine, check_align_language
from deployments.lifecycle import BatchItem, ModelReplica
from deployments.protocol import AlignRequest, AlignResult


@serve.deployment(ray_actor_options={"num_cpus": 0})
class AlignerDeployment(ModelReplica):
    engine_class = AlignerEngine

    async def __init__(self, model_id: str, options: dict, registry, torch_threads: int = 0,
                       cpu_nice: int = 0, cpu_sched_idle: bool = False) -> None:
        await self._start(model_id, options, registry, torch_threads, cpu_nice, cpu_sched_idle)

    async def align(self, request: AlignRequest) -> AlignResult:
        check_align_language(request.language)
        with self.lifecycle.busy():
            return await self._submit(request)

    async def _run_batch(self, items: list[BatchItem]) -> list[AlignResult]:
        requests: list[AlignRequest] = [item.request for item in items]
        async with self._model_call():
            started = time.perf_counter()
            words = await asyncio.to_thread(
                self.engine.align, [r.audio for r in requests], [r.text for r in requests], [r.language for r in requests]
            )
            elapsed = time.perf_counter() - started
        return [AlignResult(w, elapsed, self.lifecycle.loaded_at or 0.0, len(requests)) for w in words]
