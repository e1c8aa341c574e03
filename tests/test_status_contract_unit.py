"""The typed contracts of /health, /api/status and /api/gpu-offload (serve_app/status_protocol.py),
without Serve: every answer is its model's document, /docs describes it, and the fields the UI
reads are there (`config.max_context_chars` was read by the UI but never sent)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from deployments.protocol import ALL_MODELS
from serve_app.app import create_app
from serve_app.services.composition import build_services
from serve_app.services.status import StatusService
from serve_app.settings import Settings
from serve_app.status_protocol import (
    Health,
    ModelDetail,
    ModelStatus,
    OffloadResult,
    ServiceConfig,
    Status,
)

KEY = "s3cret-key"


def app(**settings):
    services = build_services(Settings(**settings), None, None, None, None)
    return TestClient(create_app(services)), services


def test_health_is_exactly_the_health_document():
    client, _ = app()
    body = client.get("/health").json()
    assert set(body) == set(Health.model_fields)
    assert "time" not in body  # nobody read it
    assert set(body["models"]) == set(ALL_MODELS)
    assert body["demo"] is False and body["model_loaded"] is False


def test_status_is_exactly_the_status_document_with_what_the_ui_reads():
    client, _ = app(max_context_chars=123, demo=True)
    body = client.get("/api/status").json()
    assert set(body) == set(Status.model_fields)
    assert set(body["config"]) == set(ServiceConfig.model_fields)
    assert body["config"]["max_context_chars"] == 123 and body["config"]["dtypes"] == ["bfloat16", "float16", "float32"]
    assert body["config"]["default_dtype"] == "float32"  # no GPU here: what a CPU replica loads
    assert body["demo"] is True
    for model in body["models"].values():
        assert set(model) == set(ModelDetail.model_fields)
        assert not {"replicas_starting", "replicas_stopping", "cpu_nice"} & set(model)


def test_api_key_required_reads_the_secret_and_never_shows_it():
    client, _ = app(api_key=KEY)
    response = client.get("/api/status", headers={"Authorization": f"Bearer {KEY}"})
    assert response.json()["config"]["api_key_required"] is True
    assert KEY not in response.text
    assert app()[0].get("/api/status").json()["config"]["api_key_required"] is False


def test_the_docs_describe_the_three_documents():
    spec = app()[0].get("/openapi.json").json()

    def schema_of(path, method, status="200"):
        return spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    assert schema_of("/health", "get").endswith("/Health")
    assert schema_of("/api/status", "get").endswith("/Status")
    assert schema_of("/api/gpu-offload", "post").endswith("/OffloadResult")
    assert schema_of("/api/gpu-offload", "post", "202").endswith("/OffloadResult")
    assert "max_context_chars" in spec["components"]["schemas"]["ServiceConfig"]["properties"]


class FakeLifecycle:
    """What StatusService.offload uses of the lifecycle service."""

    def __init__(self, complete: bool):
        self.complete = complete

    def gpu(self):
        return {"available": False, "reason": "no NVML here"}

    async def fresh_gpu(self):
        return {"available": False, "reason": "no NVML here"}

    async def release(self, model_ids, wait=True):
        model = {"id": "qwen3-asr-1.7b", "kind": "asr", "label": "Qwen3-ASR 1.7B", "source": "x",
                 "state": "releasing" if not self.complete else "not_loaded", "replicas": 0, "load_seconds": None,
                 "loaded_at": None, "idle_seconds": None, "unload_in_seconds": None, "dtype": None, "device": None,
                 "torch_threads": None, "in_flight": 0}
        return {"released": model_ids, "already_unloaded": [], "complete": self.complete, "seconds": 0.1,
                "models": {"qwen3-asr-1.7b": model}}


@pytest.mark.parametrize("complete,status", [(True, 200), (False, 202)])
def test_offload_answers_the_offload_document(complete, status):
    client, services = app()
    services.status = StatusService(services.settings, FakeLifecycle(complete))
    response = client.post("/api/gpu-offload", json={"models": ["qwen3-asr-1.7b"]})
    assert response.status_code == status
    body = response.json()
    assert set(body) == set(OffloadResult.model_fields) and body["complete"] is complete
    assert set(body["models"]["qwen3-asr-1.7b"]) == set(ModelStatus.model_fields)
    assert body["gpu_before"]["available"] is False and body["gpu_before"]["gpus"] == []


def test_an_unknown_model_to_offload_is_400():
    response = app()[0].post("/api/gpu-offload", json={"models": ["qwen3-asr-9b"]})
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_model"
