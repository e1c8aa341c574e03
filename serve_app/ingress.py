"""The ingress deployment: FastAPI routes over the service layer and the model handles."""

from __future__ import annotations

from ray import serve

from deployments.protocol import ALIGNER, ASR_0_6B, ASR_1_7B
from serve_app.app import create_app
from serve_app.metrics import ServiceMetrics
from serve_app.routes.deps import Services
from serve_app.services.lifecycle import DEPLOYMENT_NAMES, LifecycleService
from serve_app.services.model_view import ModelView
from serve_app.services.status import StatusService
from serve_app.services.transcription import TranscriptionService
from serve_app.settings import Settings


def build_services(settings: Settings, asr_1_7b, asr_0_6b, aligner, registry, app_name: str) -> Services:
    metrics = ServiceMetrics()

    def picture_seen(picture) -> None:
        models = lifecycle.models(picture)
        metrics.models_seen(models, lifecycle.queue(models))

    lifecycle = LifecycleService(
        registry=registry,
        view=ModelView(registry, app_name, DEPLOYMENT_NAMES, on_refresh=picture_seen),
        sources={ASR_1_7B: settings.model_1_7b_source, ASR_0_6B: settings.model_0_6b_source,
                 ALIGNER: settings.aligner_source},
        idle_timeout_s=settings.idle_timeout_s,
        release_other_on_switch=settings.release_other_on_switch,
        switch_wait_s=settings.switch_wait_s,
        release_wait_s=settings.release_wait_s,
    )
    transcription = TranscriptionService(settings, lifecycle, {ASR_1_7B: asr_1_7b, ASR_0_6B: asr_0_6b}, aligner,
                                         metrics=metrics)
    return Services(settings, lifecycle, transcription, StatusService(settings, lifecycle))


@serve.deployment(name="Ingress", ray_actor_options={"num_cpus": 0})
@serve.ingress()
class Ingress:
    async def __init__(self, asr_1_7b, asr_0_6b, aligner, registry, settings: dict) -> None:
        app_name = serve.get_replica_context().app_name
        self.settings = Settings(**settings)
        self.services = build_services(self.settings, asr_1_7b, asr_0_6b, aligner, registry, app_name)
        # One picture before the first request, then kept current in the background.
        view = self.services.lifecycle.view
        await view.refresh()
        view.start()

    async def __del__(self) -> None:
        await self.services.lifecycle.view.stop()

    def __serve_build_asgi_app__(self):
        return create_app(self.services)
