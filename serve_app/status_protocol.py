"""Response models of `/health`, `/api/status` and `/api/gpu-offload` (they also shape /docs).

Each field is one that a reader uses: the UI (`ui/js/gpu-panel.js`, `status-ui.js`,
`settings-ui.js`), the MCP tools `get_status` / `gpu_offload` (which pass these documents on to
agents), the launcher's supervisor and the tests.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from deployments.protocol import AsrModelId

ModelState = Literal["not_loaded", "loading", "loaded", "releasing"]


class GpuCard(BaseModel):
    index: int
    name: str | None = None
    memory_total_mb: float | None = None
    memory_used_mb: float | None = None
    memory_free_mb: float | None = None
    utilization_percent: int | None = None
    temperature_c: int | None = None
    service_memory_mb: float | None = Field(None, description="Memory of this service's model processes on the card.")
    model_memory_mb: dict[str, float] = Field(default_factory=dict, description="Of that, each model's (models "
                                                                                "holding nothing here are left out).")
    error: str | None = Field(None, description="Why this card could not be read (its other fields are then empty).")


class GpuStatus(BaseModel):
    available: bool
    reason: str | None = Field(None, description="Why no GPU can be read (no driver, no device); null when available.")
    gpus: list[GpuCard] = Field(default_factory=list)


class Queue(BaseModel):
    in_flight: int = Field(description="Model requests this ingress has under way.")
    waiting: int = Field(description="Of those, the ones waiting for their model to load or be released.")


class ModelHealth(BaseModel):
    state: ModelState
    replicas: int = Field(description="Running replicas (0 = not in memory).")


class Health(BaseModel):
    """Liveness from the ingress's own picture: no controller or registry call."""

    status: Literal["ok"] = "ok"
    version: str
    demo: bool = Field(description="The tiny scripted demo models are served, not the real ones.")
    gpu: GpuStatus
    models: dict[str, ModelHealth]
    model_loaded: bool = Field(description="Some model has a running replica.")
    queue: Queue


class ModelStatus(BaseModel):
    id: str
    kind: Literal["asr", "aligner"]
    label: str
    source: str | None = Field(description="Hub id or local folder the model loads from.")
    state: ModelState
    replicas: int = Field(description="Running replicas (0 = not in memory).")
    load_seconds: float | None = Field(description="How long the running replica took to load.")
    loaded_at: float | None = Field(description="Unix time the running replica finished loading.")
    idle_seconds: float | None = Field(description="Seconds since the model last worked (null when not loaded).")
    unload_in_seconds: float | None = Field(description="Seconds until the idle timeout unloads it.")
    dtype: str | None
    device: str | None
    torch_threads: int | None = Field(description="torch CPU threads of the running replica.")
    in_flight: int = Field(description="Requests of this ingress for this model now.")
    gpu_memory_mb: float | None = Field(None, description="GPU memory its replicas' processes hold (NVML, every "
                                                          "card); null when no GPU can be read.")


class ReplicaLifetime(BaseModel):
    """One replica's life from its own clock."""

    replica_id: str | None = None
    pid: int | None = None
    started_at: float | None = None
    loaded_at: float | None = None
    exited_at: float | None = Field(None, description="Null while the replica is alive (or when it was lost).")
    exit_reason: str | None = Field(None, description="`released`, `stopped` or `lost`; null while alive.")


class ModelDetail(ModelStatus):
    replica_history: list[ReplicaLifetime] = Field(
        description="Recent replicas, oldest first, the live ones last: constructed, loaded and exit times.")


class ServiceConfig(BaseModel):
    idle_timeout_s: float
    release_other_on_switch: bool
    batch_max_size: int
    batch_wait_timeout_s: float
    max_upload_mb: float
    max_audio_seconds: float
    min_audio_seconds: float
    max_context_chars: int = Field(description="Longest `context` / `prompt` accepted (the UI's text box limit).")
    default_model: AsrModelId
    dtypes: list[str] = Field(description="The `dtype` values a request may ask for.")
    default_dtype: str = Field(description="The dtype a model loads in when a request names none "
                                           "(`DTYPE`; auto = bfloat16 with a GPU, float32 on the CPU).")
    device: str
    api_key_required: bool
    stream_max_sessions: int


class Status(BaseModel):
    version: str
    demo: bool = Field(description="The tiny scripted demo models are served, not the real ones.")
    gpu: GpuStatus
    models: dict[str, ModelDetail]
    queue: Queue
    config: ServiceConfig
    languages: list[dict[str, Any]] = Field(description="The same entries as `GET /api/languages`.")


class OffloadResult(BaseModel):
    released: list[str] = Field(description="Chosen models that held memory and were released.")
    already_unloaded: list[str]
    complete: bool = Field(description="Every chosen replica exited (else 202: still `releasing`).")
    seconds: float
    models: dict[str, ModelStatus]
    gpu_before: GpuStatus
    gpu_after: GpuStatus
