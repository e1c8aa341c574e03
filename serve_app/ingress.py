"""The ingress deployment: FastAPI routes over the service layer and the model handles."""

from __future__ import annotations

from ray import serve

from serve_app.app import create_app
from serve_app.services.composition import build_services
from serve_app.settings import Settings


@serve.deployment(name="Ingress", ray_actor_options={"num_cpus": 0})
@serve.ingress()
class Ingress:
    async def __init__(self, asr_1_7b, asr_0_6b, aligner, registry, settings: dict) -> None:
        self.settings = Settings(**settings)
        self.services = build_services(self.settings, asr_1_7b, asr_0_6b, aligner, registry)
        # One picture before the first request, then kept current in the background.
        view = self.services.lifecycle.view
        await view.refresh()
        view.start()

    async def __del__(self) -> None:
        await self.services.lifecycle.view.stop()

    def __serve_build_asgi_app__(self):
        return create_app(self.services)
