"""The service layer of one ingress replica, built in one place from the settings and the handles.

Routes, the WebSocket and the MCP-facing API read these services from `app.state.services`
(`serve_app.routes.deps.services`); nothing is built lazily inside a route.
"""

from __future__ import annotations

from dataclasses import dataclass

from deployments.protocol import ALIGNER, ASR_0_6B, ASR_1_7B
from serve_app.metrics import ServiceMetrics
from serve_app.services.lifecycle import LifecycleService
from serve_app.services.model_view import ModelView
from serve_app.services.openai_transcription import OpenAITranscriptionService
from serve_app.services.realtime import RealtimeService
from serve_app.services.samples import SampleService
from serve_app.services.status import StatusService
from serve_app.services.streaming import StreamingService
from serve_app.services.transcription import TranscriptionService
from serve_app.settings import Settings


@dataclass
class Services:
    settings: Settings
    lifecycle: LifecycleService
    transcription: TranscriptionService
    status: StatusService
    streaming: StreamingService
    openai: OpenAITranscriptionService
    realtime: RealtimeService
    samples: SampleService


def build_services(settings: Settings, asr_1_7b, asr_0_6b, aligner, registry) -> Services:
    """Every service of an ingress replica over the model handles (`None` handles in unit tests that
    never reach a model)."""
    metrics = ServiceMetrics()

    def picture_seen(picture) -> None:
        models = lifecycle.models(picture)
        metrics.models_seen(models, lifecycle.queue(models))

    lifecycle = LifecycleService(
        registry=registry,
        view=ModelView(registry, on_refresh=picture_seen),
        sources={ASR_1_7B: settings.model_1_7b_source, ASR_0_6B: settings.model_0_6b_source,
                 ALIGNER: settings.aligner_source},
        idle_timeout_s=settings.idle_timeout_s,
        release_other_on_switch=settings.release_other_on_switch,
        switch_wait_s=settings.switch_wait_s,
        release_wait_s=settings.release_wait_s,
    )
    transcription = TranscriptionService(settings, lifecycle, {ASR_1_7B: asr_1_7b, ASR_0_6B: asr_0_6b}, aligner,
                                         metrics=metrics)
    streaming = StreamingService(settings, transcription, lifecycle)
    return Services(
        settings=settings,
        lifecycle=lifecycle,
        transcription=transcription,
        status=StatusService(settings, lifecycle),
        streaming=streaming,
        openai=OpenAITranscriptionService(settings, transcription),
        realtime=RealtimeService(settings, transcription, lifecycle, streaming),
        samples=SampleService(),
    )
