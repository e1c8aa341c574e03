"""Dependencies the routes share: the services stored on the app at creation."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from serve_app.services.lifecycle import LifecycleService
from serve_app.services.status import StatusService
from serve_app.services.transcription import TranscriptionService
from serve_app.settings import Settings


@dataclass
class Services:
    settings: Settings
    lifecycle: LifecycleService
    transcription: TranscriptionService
    status: StatusService


def services(request: Request) -> Services:
    return request.app.state.services
