"""Speech spans from per-frame probabilities, with Silero's own state machine (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deployments.protocol import SAMPLE_RATE
from serve_app.vad.silero import FRAME_SAMPLES, get_speech_timestamps_from_probs

Span = tuple[int, int]   # [start, end) in samples


@dataclass(frozen=True)
class VadParams:
    """What counts as speech: settings.vad_* by default, a Realtime session's turn detection otherwise."""

    threshold: float
    min_silence_ms: int
    speech_pad_ms: int
    min_speech_ms: int

    @classmethod
    def from_settings(cls, settings) -> VadParams:
        return cls(settings.vad_threshold, settings.vad_min_silence_ms, settings.vad_speech_pad_ms,
                   settings.vad_min_speech_ms)


def speech_spans(probs: np.ndarray, length: int, params: VadParams) -> list[Span]:
    """Speech in audio of `length` samples whose frames have `probs`: padded by speech_pad_ms, joined
    across pauses shorter than min_silence_ms, shorter than min_speech_ms left out."""
    if probs.size == 0:
        return []
    found = get_speech_timestamps_from_probs(
        probs.tolist(), sampling_rate=SAMPLE_RATE, threshold=params.threshold,
        min_speech_duration_ms=params.min_speech_ms, min_silence_duration_ms=params.min_silence_ms,
        speech_pad_ms=params.speech_pad_ms, audio_length_samples=length)
    return [(int(s["start"]), int(s["end"])) for s in found]


def quietest_point(probs: np.ndarray, low: int, high: int) -> int:
    """The middle of the least speech-like frame whose middle lies in [low, high] (the latest on ties)."""
    first = max(0, low // FRAME_SAMPLES)
    last = min(probs.size, high // FRAME_SAMPLES + 1)
    if last <= first:
        return high
    window = probs[first:last]
    frame = first + window.size - 1 - int(np.argmin(window[::-1]))
    return min(max(frame * FRAME_SAMPLES + FRAME_SAMPLES // 2, low), high)
