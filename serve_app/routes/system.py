"""Health, status, languages and GPU release."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse

from serve_app.auth import require_api_key
from serve_app.languages import catalogue
from serve_app.protocol import ERROR_RESPONSES, OffloadRequest
from serve_app.routes.deps import Services, services
from serve_app.status_protocol import Health, OffloadResult, Status

router = APIRouter()


@router.get("/health", tags=["system"], summary="Liveness: version, GPU, model states, queue",
            response_model=Health)
async def health(svc: Services = Depends(services)) -> Health:
    return svc.status.health()


@router.get("/api/status", tags=["system"], summary="Detailed status: GPU, models, config, languages",
            response_model=Status, dependencies=[Depends(require_api_key)], responses={401: ERROR_RESPONSES[401]})
async def status(svc: Services = Depends(services)) -> Status:
    return svc.status.status()


@router.get("/api/languages", tags=["system"], summary="The 52 languages and dialects, plus auto",
            dependencies=[Depends(require_api_key)], responses={401: ERROR_RESPONSES[401]})
async def languages() -> dict:
    entries = catalogue()
    return {"default": "auto", "count": len(entries) - 1, "languages": entries}


@router.post("/api/gpu-offload", tags=["system"], summary="Release GPU memory now (scale models to zero)",
             description="Answers when the chosen models' replicas have exited (200), or after `release_wait_s` "
                         "with 202 and the models still `releasing`.",
             dependencies=[Depends(require_api_key)],
             response_model=OffloadResult,
             responses={202: {"model": OffloadResult, "description": "Release still under way"}, 400: ERROR_RESPONSES[400],
                        401: ERROR_RESPONSES[401]})
async def gpu_offload(body: OffloadRequest | None = Body(None), svc: Services = Depends(services)) -> JSONResponse:
    body = body or OffloadRequest()
    outcome = await svc.status.offload(body.models, wait=body.wait)
    return JSONResponse(outcome.model_dump(mode="json"), status_code=200 if outcome.complete else 202)
