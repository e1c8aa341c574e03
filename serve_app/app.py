"""`create_app()`: the FastAPI application behind the Serve ingress."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from serve_app.errors import install_error_handlers
from serve_app.metrics import RequestMetricsMiddleware
from serve_app.request_id import RequestIdMiddleware, install_log_tagging
from serve_app.routes import docs, openai_compat, realtime, samples, stream, subtitles, system, transcribe, ui
from serve_app.services.composition import Services
from serve_app.upload_limit import UploadLimitMiddleware
from serve_app.version import __version__

DESCRIPTION = """
Self-hosted **Qwen3-ASR** speech recognition on a Ray Serve deployment graph.

* `POST /api/transcribe` — transcribe a file (52 languages and dialects, optional word timestamps).
* `WebSocket /api/transcribe/stream` — live recognition (see the README for the protocol).
* `POST /v1/audio/transcriptions` — OpenAI-compatible endpoint.
* Models load on first use and unload after the idle timeout; `POST /api/gpu-offload` releases them now.

Every error answers `{"error": {"code", "message", "status"}}` with the matching HTTP status.
"""


def create_app(services: Services) -> FastAPI:
    settings = services.settings
    # docs_url/redoc_url off: routes/docs.py serves both pages with local assets (no CDN)
    app = FastAPI(title="Qwen3-ASR Service", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None)
    app.state.services = services
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(transcribe.router)
    app.include_router(subtitles.router)
    app.include_router(openai_compat.router)
    app.include_router(stream.router)
    app.include_router(realtime.router)
    app.include_router(samples.router)
    app.include_router(ui.router)
    app.include_router(docs.router)
    ui.mount_static(app)
    docs.mount_assets(app)
    app.add_middleware(UploadLimitMiddleware, limit_bytes=settings.max_upload_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Time-Load", "X-Time-Process", "X-Time-Total", "Retry-After", "X-Request-Id"],
    )
    app.add_middleware(RequestMetricsMiddleware, metrics=services.transcription.metrics)
    app.add_middleware(RequestIdMiddleware)  # outermost: every error below it can name the request
    install_log_tagging()
    return app


