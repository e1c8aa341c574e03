"""Plain data passed between the ingress and the model replicas (pickled by Ray)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Batch limits per model replica: defaults of the settings of the same name, and what a replica
# uses until its user_config arrives.
DEFAULT_BATCH_MAX_SIZE = 8
DEFAULT_BATCH_MAX_AUDIO_SECONDS = 240.0
DEFAULT_BATCH_WAIT_TIMEOUT_S = 0.02
# A model call (one batch, or a dtype reload) running longer than this is taken for wedged.
DEFAULT_MODEL_CALL_TIMEOUT_S = 600.0

SAMPLE_RATE = 16_000
# The precisions a request may ask a loaded model to switch to (float32 is a load-time choice).
REQUEST_DTYPES = ("bfloat16", "float16")

ASR_1_7B = "qwen3-asr-1.7b"
ASR_0_6B = "qwen3-asr-0.6b"
ALIGNER = "qwen3-forced-aligner-0.6b"
ASR_MODELS = (ASR_1_7B, ASR_0_6B)
ALL_MODELS = (ASR_1_7B, ASR_0_6B, ALIGNER)

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


class UnsupportedAlignLanguage(ValueError):
    """The aligner cannot time this language."""
