"""The floor of our serving shape, for `bench.serving`: what Ray Serve itself costs.

Serve proxy -> FastAPI ingress (multipart upload + soundfile decode) -> handle ->
an `@serve.batch` deployment that answers at once. Whatever the real service spends
beyond this graph plus the model's own time is ours to remove.
"""

# No `from __future__ import annotations`: FastAPI must see real types on the class-based routes.
import io
from typing import Any

import soundfile as sf
from fastapi import FastAPI, File, UploadFile
from ray import serve
from ray.serve import Application

floor_api = FastAPI()


@serve.deployment(name="NoopModel", ray_actor_options={"num_cpus": 0}, max_ongoing_requests=64)
class NoopModel:
    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.02)
    async def transcribe(self, sample_counts: list[int]) -> list[dict]:
        return [{"text": "", "samples": n} for n in sample_counts]


@serve.deployment(name="NoopIngress", ray_actor_options={"num_cpus": 0}, max_ongoing_requests=64)
@serve.ingress(floor_api)
class NoopIngress:
    def __init__(self, model) -> None:
        self.model = model

    @floor_api.get("/health")
    async def health(self) -> dict:
        return {"status": "ok"}

    @floor_api.post("/api/transcribe")
    async def transcribe(self, file: UploadFile = File(...)) -> dict:
        data, _rate = sf.read(io.BytesIO(await file.read()), dtype="float32")
        return await self.model.transcribe.remote(len(data))


def build_floor(_args: dict[str, Any] | None = None) -> Application:
    return NoopIngress.bind(NoopModel.bind())
