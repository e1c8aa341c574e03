"""The adapter around `qwen-asr`: loading in a device/dtype, transcribing, aligning."""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from deployments.protocol import (
    ALIGNER_LANGUAGES,
    SAMPLE_RATE,
    AsrRequest,
    UnsupportedAlignLanguage,
    WordTime,
)

logger = logging.getLogger(__name__)

# qwen-asr crashes on clips of a few hundred samples; its own chunker pads to 0.5 s.
MIN_MODEL_SAMPLES = SAMPLE_RATE // 2

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class LoadOptions:
    source: str
    device: str = "auto"
    dtype: str = "auto"
    attn_implementation: str = "auto"
    max_new_tokens: int = 512
    max_batch_size: int = 8


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        return "cuda:0"
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    if dtype == "auto":
        return "bfloat16" if device.startswith("cuda") else "float32"
    return dtype


def resolve_attn(attn: str, device: str) -> str | None:
    """flash-attn when it imports on CUDA, else SDPA (logged), never a crash."""
    if not device.startswith("cuda"):
        return None if attn == "auto" else attn
    if attn in ("auto", "flash_attention_2"):
        if importlib.util.find_spec("flash_attn") is not None:
            return "flash_attention_2"
        logger.warning("flash-attn is not importable; falling back to SDPA attention")
        return "sdpa"
    return attn


def pad_to_min(audio: np.ndarray) -> np.ndarray:
    if audio.shape[0] >= MIN_MODEL_SAMPLES:
        return audio
    return np.pad(audio, (0, MIN_MODEL_SAMPLES - audio.shape[0])).astype(np.float32)


def _load_kwargs(options: LoadOptions, dtype: str) -> dict:
    device = resolve_device(options.device)
    kwargs: dict = {"device_map": device, "dtype": DTYPES[dtype]}
    attn = resolve_attn(options.attn_implementation, device)
    if attn:
        kwargs["attn_implementation"] = attn
    return kwargs


class AsrEngine:
    """One Qwen3ASRModel in one dtype; reloads itself when asked for another dtype."""

    def __init__(self, options: LoadOptions):
        self.options = options
        self.device = resolve_device(options.device)
        self.dtype = resolve_dtype(options.dtype, self.device)
        self.model = None
        self.load_seconds = 0.0
        self.load(self.dtype)

    def load(self, dtype: str) -> None:
        from qwen_asr import Qwen3ASRModel

        started = time.perf_counter()
        self.model = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
        self.model = Qwen3ASRModel.from_pretrained(
            self.options.source,
            max_inference_batch_size=self.options.max_batch_size,
            max_new_tokens=self.options.max_new_tokens,
            **_load_kwargs(self.options, dtype),
        )
        self.dtype = dtype
        self.load_seconds = time.perf_counter() - started
        logger.info("loaded %s as %s on %s in %.2fs", self.options.source, dtype, self.device, self.load_seconds)

    def ensure_dtype(self, dtype: str | None) -> None:
        if dtype and dtype != self.dtype:
            self.load(dtype)

    def transcribe(self, requests: list[AsrRequest]) -> list[tuple[str, str]]:
        """Returns (language, text) per request, in order, from one batched call."""
        results = self.model.transcribe(
            audio=[(pad_to_min(r.audio), SAMPLE_RATE) for r in requests],
            context=[r.context for r in requests],
            language=[r.language for r in requests],
        )
        return [(r.language, r.text) for r in results]


class AlignerEngine:
    def __init__(self, options: LoadOptions):
        from qwen_asr import Qwen3ForcedAligner

        self.options = options
        self.device = resolve_device(options.device)
        self.dtype = resolve_dtype(options.dtype, self.device)
        started = time.perf_counter()
        self.model = Qwen3ForcedAligner.from_pretrained(options.source, **_load_kwargs(options, self.dtype))
        self.load_seconds = time.perf_counter() - started

    def align(self, audios: list[np.ndarray], texts: list[str], languages: list[str]) -> list[list[WordTime]]:
        for language in languages:
            check_align_language(language)
        results = self.model.align(
            audio=[(pad_to_min(a), SAMPLE_RATE) for a in audios], text=texts, language=languages
        )
        return [
            clamp_word_times([WordTime(i.text, float(i.start_time), float(i.end_time)) for i in result], len(a) / SAMPLE_RATE)
            for result, a in zip(results, audios)
        ]


def check_align_language(language: str) -> None:
    if language not in ALIGNER_LANGUAGES:
        raise UnsupportedAlignLanguage(
            f"The ForcedAligner cannot time {language!r}; it supports {', '.join(ALIGNER_LANGUAGES)}."
        )


def clamp_word_times(words: list[WordTime], duration: float) -> list[WordTime]:
    """Keep times inside [0, duration], each end >= its start, and starts monotonic."""
    clamped: list[WordTime] = []
    floor = 0.0
    for word in words:
        start = min(max(word.start, floor, 0.0), duration)
        end = min(max(word.end, start), duration)
        clamped.append(WordTime(word.text, round(start, 3), round(end, 3)))
        floor = start
    return clamped
