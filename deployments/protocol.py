"""Plain data passed between the ingress and the model replicas (pickled by Ray)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

# Batch limits per model replica: defaults of the settings of the same name, and what a replica
# uses until its user_config arrives.
DEFAULT_BATCH_MAX_SIZE = 8
DEFAULT_BATCH_MAX_AUDIO_SECONDS = 240.0
DEFAULT_BATCH_WAIT_TIMEOUT_S = 0.02
# A model call (one batch, or a dtype reload) running longer than this is taken for wedged.
DEFAULT_MODEL_CALL_TIMEOUT_S = 600.0

SAMPLE_RATE = 16_000
# The precisions a request may ask a loaded model to switch to. float32 is among them: it is what a
# CPU loads by default, so a client that switched to bfloat16 there can come back to it.
REQUEST_DTYPES = ("bfloat16", "float16", "float32")


def default_dtype(dtype: str, device: str, gpu_available: bool) -> str:
    """The dtype a replica loads in when a request names none, as the ingress can tell it: the
    `dtype` setting, or for "auto" what deployments/inference.resolve_dtype picks (bfloat16 on CUDA,
    float32 on the CPU), with device "auto" meaning CUDA when a GPU is seen."""
    if dtype != "auto":
        return dtype
    on_gpu = device == "cuda" or (device == "auto" and gpu_available)
    return "bfloat16" if on_gpu else "float32"

# The ASR model ids, as a type (settings, request models) and as values.
AsrModelId = Literal["qwen3-asr-1.7b", "qwen3-asr-0.6b"]
ASR_MODELS: tuple[str, ...] = get_args(AsrModelId)
ASR_1_7B, ASR_0_6B = ASR_MODELS
ALIGNER = "qwen3-forced-aligner-0.6b"
ALL_MODELS = (ASR_1_7B, ASR_0_6B, ALIGNER)
DEPLOYMENT_NAMES = {ASR_1_7B: "Qwen3ASR-1.7B", ASR_0_6B: "Qwen3ASR-0.6B", ALIGNER: "ForcedAligner"}

# Languages the ForcedAligner can time (Qwen3-ForcedAligner-0.6B model card).
ALIGNER_LANGUAGES = (
    "Chinese", "English", "Cantonese", "French", "German", "Italian",
    "Japanese", "Korean", "Portuguese", "Russian", "Spanish",
)


@dataclass
class AsrRequest:
    """One piece of 16 kHz mono float32 audio to transcribe."""

    audio: np.ndarray
    language: str | None = None  # a canonical qwen-asr language name, or None = detect
    context: str = ""
    dtype: str | None = None  # None = whatever the replica has loaded


@dataclass
class AsrResult:
    text: str
    language: str
    dtype: str
    device: str
    process_seconds: float  # model time of the batch this request rode in
    batch_size: int
    replica_loaded_at: float  # wall clock when the replica finished loading


@dataclass
class AlignRequest:
    audio: np.ndarray
    text: str
    language: str


@dataclass
class WordTime:
    text: str
    start: float
    end: float


@dataclass
class AlignResult:
    words: list[WordTime] = field(default_factory=list)
    process_seconds: float = 0.0
    replica_loaded_at: float = 0.0
    batch_size: int = 1  # requests in the model call that answered this one


class UnsupportedAlignLanguage(ValueError):
    """The aligner cannot time this language."""
