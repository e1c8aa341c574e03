"""The one place that reads the environment (and `.env`).

Every field maps to an environment variable with the `QWEN_ASR_` prefix, e.g.
`idle_timeout_s` <- `QWEN_ASR_IDLE_TIMEOUT_S`. `.env.example` documents each one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from deployments.protocol import (
    ASR_1_7B,
    DEFAULT_BATCH_MAX_AUDIO_SECONDS,
    DEFAULT_BATCH_MAX_SIZE,
    DEFAULT_BATCH_WAIT_TIMEOUT_S,
    DEFAULT_MODEL_CALL_TIMEOUT_S,
    AsrModelId,
)

ENV_PREFIX = "QWEN_ASR_"


# Longest context text by default; also quoted in the API descriptions.
DEFAULT_MAX_CONTEXT_CHARS = 2000


def comma_list(value: Any) -> Any:
    """The environment's `a, b` (or a JSON list) -> trimmed, non-empty entries."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else text.split(",")
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return value


def alias_map(value: Any) -> Any:
    """The environment's `whisper-1=qwen3-asr-0.6b, gpt-4o-transcribe=qwen3-asr-1.7b` (or a JSON
    object) -> {name: model id}, both lower-cased; an entry that is no `name=model` pair is an error."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            value = json.loads(text)
        else:
            pairs = {}
            for entry in filter(None, (e.strip() for e in text.split(","))):
                name, sep, target = entry.partition("=")
                if not sep or not name.strip():
                    raise ValueError(f"{entry!r} is not a name=model pair")
                pairs[name] = target
            value = pairs
    if isinstance(value, dict):
        return {str(k).strip().lower(): str(v).strip().lower() for k, v in value.items()}
    return value


# Lists and maps read from one environment variable each (pydantic-settings would expect JSON).
CommaList = Annotated[list[str], NoDecode, BeforeValidator(comma_list)]
ModelAliases = Annotated[dict[str, AsrModelId], NoDecode, BeforeValidator(alias_map)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- model sources: a hub id or a local folder ---
    model_1_7b_source: str = Field("Qwen/Qwen3-ASR-1.7B", description="Hub id or local path of the 1.7B ASR model.")
    model_0_6b_source: str = Field("Qwen/Qwen3-ASR-0.6B", description="Hub id or local path of the 0.6B ASR model.")
    aligner_source: str = Field(
        "Qwen/Qwen3-ForcedAligner-0.6B", description="Hub id or local path of the ForcedAligner model."
    )
    default_model: AsrModelId = Field(ASR_1_7B, description="Model used when a request names none.")

    # --- inference ---
    device: Literal["auto", "cuda", "cpu"] = Field("auto", description="auto = CUDA when available, else CPU.")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="Load dtype; auto = bfloat16 on CUDA, float32 on CPU."
    )
    attn_implementation: Literal["auto", "flash_attention_2", "sdpa", "eager"] = Field(
        "auto", description="auto = flash_attention_2 when flash-attn imports on CUDA, else sdpa."
    )
    max_new_tokens: int = Field(512, ge=1, description="Upper bound on generated tokens per audio piece.")
    batch_max_size: int = Field(DEFAULT_BATCH_MAX_SIZE, ge=1, description="Most requests in one dynamic batch (@serve.batch) per model replica.")
    batch_max_audio_seconds: float = Field(
        DEFAULT_BATCH_MAX_AUDIO_SECONDS, gt=0,
        description="Most audio in one model call, in padded seconds (requests x longest): bounds replica memory.",
    )
    batch_wait_timeout_s: float = Field(DEFAULT_BATCH_WAIT_TIMEOUT_S, ge=0, description="How long a batch waits to fill up.")
    model_call_timeout_s: float = Field(
        DEFAULT_MODEL_CALL_TIMEOUT_S, gt=0,
        description="A model call running longer than this fails the replica's health check (a wedged model): Serve replaces it.",
    )
    torch_threads: int = Field(0, ge=0, description="torch CPU threads per replica; 0 = the CPUs Ray gives it, or every core if none.")
    cpu_model_nice: int = Field(
        19, ge=0, le=19,
        description="CPU replicas only: the model's scheduling niceness (Ray starts workers at 15), so the proxy and the ingress answer at once "
                    "while the model keeps every core busy; 0 = normal priority.",
    )
    cpu_model_sched_idle: bool = Field(
        True, description="CPU replicas only: the model's threads also run in Linux's SCHED_IDLE class, so any other "
                          "thread that wakes (the proxy's, the ingress's) preempts them at once; niceness alone only "
                          "weights their share of the cores.",
    )

    ingress_work_nice: int = Field(
        19, ge=0, le=19,
        description="Scheduling niceness of the ingress threads that decode uploads and find the speech in files "
                    "(seconds of CPU for a long file), so the event loop that answers /health and the proxy go first; "
                    "0 = the ingress's own priority.",
    )

    # --- GPU lifecycle ---
    idle_timeout_s: float = Field(600.0, gt=0, description="A model idle this long is unloaded (scaled to zero).")
    release_other_on_switch: bool = Field(
        True, description="A request for one ASR model releases the other ASR model first."
    )
    switch_wait_s: float = Field(30.0, ge=0, description="How long a switch waits for the other model to exit.")
    release_wait_s: float = Field(30.0, ge=0, description="How long /api/gpu-offload waits for replicas to exit.")

    # --- HTTP / limits ---
    http_host: str = Field("127.0.0.1", description="Serve HTTP bind address (0.0.0.0 in Docker).")
    http_port: int = Field(8200, description="Serve HTTP port: UI + API.")
    max_upload_mb: float = Field(200.0, gt=0, description="Largest accepted upload, in MB.")
    max_audio_seconds: float = Field(3 * 3600.0, gt=0, description="Longest accepted audio, in seconds.")
    min_audio_seconds: float = Field(0.1, ge=0, description="Shorter audio is rejected as too short.")
    asr_piece_seconds: float = Field(
        60.0, gt=0, description="Longest piece the model hears at once (qwen-asr cuts at quiet points)."
    )
    align_piece_seconds: float = Field(180.0, gt=0, description="Longest piece the aligner times at once.")
    max_context_chars: int = Field(DEFAULT_MAX_CONTEXT_CHARS, ge=0, description="Longest context / prompt text accepted.")
    max_context_tokens: int = Field(
        500, ge=0, description="Longest context in estimated tokens (a CJK character ~1, other text ~4 chars each)."
    )
    cors_origins: CommaList = Field(["*"], description="Comma-separated allowed CORS origins, or *.")
    api_key: SecretStr = Field(SecretStr(""), description="When set, every API/MCP call needs it (Bearer or X-API-Key).")
    max_ongoing_requests: int = Field(64, ge=1, description="Ingress concurrency before Serve answers 503.")
    model_max_ongoing_requests: int = Field(16, ge=1, description="Requests one model replica works on at once.")
    model_max_queued_requests: int = Field(
        64, ge=1, description="Requests waiting for a model beyond that; more are refused with 503 + Retry-After."
    )
    max_transcriptions_in_flight: int = Field(
        0, ge=0,
        description="File transcriptions one ingress runs at once, more get 503 + Retry-After; 0 = the ingress's "
                    "max_ongoing_requests less the streaming sessions and 8 slots kept for health and status.",
    )

    # --- OpenAI-compatible API (/v1) ---
    openai_model_aliases: ModelAliases = Field(
        {}, description="Extra model names for /v1, as name=model pairs, e.g. whisper-1=qwen3-asr-0.6b."
    )
    openai_strict_models: bool = Field(
        False, description="Refuse unknown /v1 model names (else whisper-1 and others use the default model)."
    )
    openai_segment_max_chars: int = Field(
        80, ge=10, description="Longest subtitle/segment text in srt, vtt and verbose_json, in characters."
    )

    # --- streaming ---
    stream_max_sessions: int = Field(8, ge=1, description="Concurrent WebSocket streaming sessions.")
    stream_max_seconds: float = Field(3600.0, gt=0, description="Longest streaming session, in audio seconds.")
    stream_chunk_seconds: float = Field(1.0, gt=0, description="Re-decode the window every this much audio.")
    stream_window_seconds: float = Field(20.0, gt=1, description="Longest uncommitted window before a cut.")
    stream_start_timeout_s: float = Field(
        30.0, gt=0, description="A streaming client must send `start` this soon after connecting, or is closed."
    )
    stream_idle_timeout_s: float = Field(
        60.0, gt=0, description="A streaming client that sends nothing this long (counted from `ready` while a model loads) is closed."
    )

    # --- voice activity detection (Silero VAD, on the ingress's CPU) ---
    vad_enabled: bool = Field(
        True, description="Silero VAD finds speech: streams commit at speech ends, long files are cut at pauses and "
                          "their long non-speech stretches skipped; false = the energy-based splitters.",
    )
    vad_threshold: float = Field(0.5, gt=0, lt=1, description="Speech probability at or above which a 32 ms frame is speech.")
    vad_min_silence_ms: int = Field(
        300, ge=32, description="A pause at least this long ends speech (a streaming cut, a place to cut a file).")
    vad_speech_pad_ms: int = Field(100, ge=0, description="Audio kept either side of detected speech.")
    vad_min_speech_ms: int = Field(250, ge=0, description="Shorter bursts (a click, a cough) are not speech.")
    vad_skip_seconds: float = Field(
        2.0, gt=0, description="In files longer than a piece, non-speech stretches this long are not sent to the model "
                               "(the response reports them as skipped_seconds).",
    )

    # --- MCP ---
    mcp_host: str = Field("127.0.0.1", description="MCP server bind address.")
    mcp_port: int = Field(8201, description="MCP streamable HTTP port.")
    mcp_audio_roots: CommaList = Field(["./data/audio"], description="Comma-separated folders MCP may read audio from.")
    mcp_api_url: str = Field("http://127.0.0.1:8200", description="Where the MCP server reaches the service.")
    mcp_timeout_s: float = Field(900.0, gt=0, description="How long the MCP server waits for one service call.")

    # --- launcher (python -m serve_app.launcher, ./start.sh) ---
    dashboard_port: int = Field(8265, description="Ray dashboard port (the launcher's --dashboard-port wins).")
    metrics_port: int = Field(
        8266, ge=1, le=65535,
        description="Ray's Prometheus export port (the service's qwen_asr_* metrics and Ray's own), on ray_node_ip.",
    )
    ray_node_ip: str = Field(
        "127.0.0.1", description="Address the launcher's one-host Ray binds its own ports to (GCS, raylet, workers, metrics)."
    )
    supervisor_grace_s: float = Field(
        120.0, ge=0, description="How long the launcher waits for an UNHEALTHY/DEPLOYING app to heal before it exits non-zero."
    )

    # --- demo ---
    demo: bool = Field(False, description="Demo mode: tiny scripted CPU checkpoints.")
    tiny_models_dir: str = Field(".cache/tiny-models", description="Where tiny checkpoints are generated.")

    @field_validator("default_model", mode="before")
    @classmethod
    def _model_id(cls, value: Any) -> Any:
        """` Qwen3-ASR-0.6B ` names the model too; a typo fails at startup (it would turn every
        request that names no model into a 400)."""
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _pieces_fit_a_batch(self) -> Settings:
        """One piece (or streaming window) must fit the batch bound, or a replica could never take it."""
        longest = max(self.asr_piece_seconds, self.stream_window_seconds)
        if longest > self.batch_max_audio_seconds:
            raise ValueError(f"batch_max_audio_seconds ({self.batch_max_audio_seconds:g}) must be at least "
                             f"asr_piece_seconds and stream_window_seconds ({longest:g})")
        return self

    def mcp_root_paths(self) -> list[Path]:
        return [Path(p).expanduser() for p in self.mcp_audio_roots]

    @property
    def api_key_value(self) -> str:
        """The API key itself ("" = none): only for comparing and sending it, never for logs or status."""
        return self.api_key.get_secret_value()

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@lru_cache
def get_settings() -> Settings:
    return Settings()
