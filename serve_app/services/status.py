"""Health and status documents assembled from the lifecycle service and settings."""

from __future__ import annotations

from deployments.protocol import ALL_MODELS, REQUEST_DTYPES, default_dtype
from serve_app.errors import bad_request
from serve_app.languages import catalogue
from serve_app.services.lifecycle import LifecycleService
from serve_app.settings import Settings
from serve_app.status_protocol import Health, OffloadResult, Status
from serve_app.version import __version__


class StatusService:
    def __init__(self, settings: Settings, lifecycle: LifecycleService) -> None:
        self.settings = settings
        self.lifecycle = lifecycle

    def health(self) -> Health:
        """From the ingress's own picture: no controller or registry call."""
        models, gpu = self.lifecycle.models(), self.lifecycle.gpu()
        return Health.model_validate({
            "version": __version__,
            "demo": self.settings.demo,
            "gpu": gpu,
            "models": {m: {"state": d["state"], "replicas": d["replicas"]} for m, d in models.items()},
            "model_loaded": any(d["state"] == "loaded" for d in models.values()),
            "queue": self.lifecycle.queue(models),
        })

    def status(self) -> Status:
        models, gpu = self.lifecycle.models(history=True), self.lifecycle.gpu()
        s = self.settings
        return Status.model_validate({
            "version": __version__,
            "demo": s.demo,
            "gpu": gpu,
            "models": models,
            "queue": self.lifecycle.queue(models),
            "config": {
                "idle_timeout_s": s.idle_timeout_s,
                "release_other_on_switch": s.release_other_on_switch,
                "batch_max_size": s.batch_max_size,
                "batch_wait_timeout_s": s.batch_wait_timeout_s,
                "max_upload_mb": s.max_upload_mb,
                "max_audio_seconds": s.max_audio_seconds,
                "min_audio_seconds": s.min_audio_seconds,
                "max_context_chars": s.max_context_chars,
                "default_model": s.default_model,
                "dtypes": list(REQUEST_DTYPES),
                "default_dtype": default_dtype(s.dtype, s.device, bool(gpu.get("available"))),
                "device": s.device,
                "api_key_required": bool(s.api_key_value),
                "stream_max_sessions": s.stream_max_sessions,
            },
            "languages": catalogue(),
        })

    async def offload(self, models: list[str] | None, wait: bool = True) -> OffloadResult:
        chosen = [m.strip().lower() for m in (models or []) if m.strip()] or list(ALL_MODELS)
        unknown = [m for m in chosen if m not in ALL_MODELS]
        if unknown:
            raise bad_request("unknown_model", f"Unknown model(s) {unknown}; choose from {list(ALL_MODELS)}.", "models")
        gpu_before = self.lifecycle.gpu()
        outcome = await self.lifecycle.release(chosen, wait=wait)
        gpu_after = await self.lifecycle.fresh_gpu()
        return OffloadResult.model_validate({**outcome, "gpu_before": gpu_before, "gpu_after": gpu_after})
