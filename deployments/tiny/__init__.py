"""Tiny Qwen3-ASR and Qwen3-ForcedAligner checkpoints for tests without a GPU or model downloads.

Import the names and known texts from here, e.g.
``from deployments.tiny import ASR_SCRIPTED_LARGE, SCRIPTED_TEXTS, scripted_text``;
the aligner whose word times follow the speech is ``ALIGNER_SCRIPTED``.
"""
from .builder import MODEL_NAMES, SCRIPTED_ASR, ensure_tiny_models
from .texts import (
    ALIGNER,
    ALIGNER_SCRIPTED,
    ASR_RANDOM,
    ASR_SCRIPTED,
    ASR_SCRIPTED_LARGE,
    ASR_SCRIPTED_SMALL,
    CONTEXT_SUFFIX,
    SCRIPTED_FORCED_TEXTS,
    SCRIPTED_LANGUAGE,
    SCRIPTED_SLOTS,
    SCRIPTED_TEXT,
    SCRIPTED_TEXTS,
    scripted_text,
)

__all__ = [
    "ALIGNER",
    "ALIGNER_SCRIPTED",
    "ASR_RANDOM",
    "ASR_SCRIPTED",
    "ASR_SCRIPTED_LARGE",
    "ASR_SCRIPTED_SMALL",
    "CONTEXT_SUFFIX",
    "MODEL_NAMES",
    "SCRIPTED_ASR",
    "SCRIPTED_FORCED_TEXTS",
    "SCRIPTED_LANGUAGE",
    "SCRIPTED_SLOTS",
    "SCRIPTED_TEXT",
    "SCRIPTED_TEXTS",
    "ensure_tiny_models",
    "scripted_text",
]
