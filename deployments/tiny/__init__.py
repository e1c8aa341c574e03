"""Tiny Qwen3-ASR and Qwen3-ForcedAligner checkpoints for tests without a GPU or model downloads."""
from .builder import (
    ALIGNER,
    ASR_RANDOM,
    ASR_SCRIPTED,
    MODEL_NAMES,
    SCRIPTED_LANGUAGE,
    SCRIPTED_TEXT,
    ensure_tiny_models,
)

__all__ = [
    "ALIGNER",
    "ASR_RANDOM",
    "ASR_SCRIPTED",
    "MODEL_NAMES",
    "SCRIPTED_LANGUAGE",
    "SCRIPTED_TEXT",
    "ensure_tiny_models",
]
