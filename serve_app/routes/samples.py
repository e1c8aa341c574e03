"""GET /api/samples: built-in sample clips to try the service without a file."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from serve_app.auth import require_api_key
from serve_app.protocol import ERROR_RESPONSES
from serve_app.routes.deps import services
from serve_app.services.composition import Services

router = APIRouter(tags=["samples"], dependencies=[Depends(require_api_key)])


@router.get("/api/samples", summary="List the built-in sample clips", responses=ERROR_RESPONSES)
async def list_samples(svc: Services = Depends(services)) -> dict:
    """Short speech clips the server synthesises itself (espeak-ng: English, Mandarin, Japanese), each with
    the language to pick. `available` is false (and the list empty) when espeak-ng is not installed."""
    return svc.samples.catalogue()


@router.get("/api/samples/{sample_id}.wav", summary="One sample clip as WAV", responses=ERROR_RESPONSES,
            response_class=Response)
async def sample_audio(sample_id: str, svc: Services = Depends(services)) -> Response:
    audio = await svc.samples.audio(sample_id)
    return Response(audio, media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400"})
