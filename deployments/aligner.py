"""The ForcedAligner deployment: word/character times for a transcript."""

from __future__ import annotations

import asyncio
import time

from ray import serve

from deployments.inference import AlignerEngine, LoadOptions, check_align_language
from deployments.lifecycle import ReplicaLifecycle
from deployments.protocol import AlignRequest, AlignResult


@serve.deployment(ray_actor_options={"num_cpus": 0})
class AlignerDeployment:
    def __init__(self, model_id: str, options: dict, registry, torch_threads: int = 0) -> None:
        if torch_threads:
            import torch

            torch.set_num_threads(torch_threads)
        self.model_id = model_id
        self.lifecycle = ReplicaLifecycle(model_id, registry)
        self.engine = AlignerEngine(LoadOptions(**options))
        self.lifecycle.mark_loaded()

    def reconfigure(self, config: dict) -> None:
        """Batching settings arrive as user_config, so a redeploy changes them in place."""
        self.align_batch.set_max_batch_size(int(config.get("batch_max_size", 8)))
        self.align_batch.set_batch_wait_timeout_s(float(config.get("batch_wait_timeout_s", 0.02)))
        self.batch_config = dict(config)

    async def align(self, request: AlignRequest) -> AlignResult:
        check_align_language(request.language)
        with self.lifecycle.busy():
            return await self.align_batch(request)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.02)
    async def align_batch(self, requests: list[AlignRequest]) -> list[AlignResult]:
        started = time.perf_counter()
        words = await asyncio.to_thread(
            self.engine.align, [r.audio for r in requests], [r.text for r in requests], [r.language for r in requests]
        )
        elapsed = time.perf_counter() - started
        return [AlignResult(w, elapsed, self.lifecycle.loaded_at or 0.0) for w in words]

    async def record_autoscaling_stats(self) -> dict[str, float]:
        return await self.lifecycle.record(
            {"dtype": self.engine.dtype, "device": self.engine.device, "load_seconds": self.engine.load_seconds}
        )

    async def __del__(self) -> None:
        await self.lifecycle.forget()
