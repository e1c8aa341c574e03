"""Where to cut an open window: quiet points found from frame energy (numpy only, no I/O).

`plan_cuts` is the energy `CutPlanner`, the recognizer's seam for "where to cut", and
`energy_gate` the energy `SpeechGate` ("is there speech to send to the model"); with the VAD on,
`streaming.speech.VadCutPlanner` provides both.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

import numpy as np

from deployments.protocol import SAMPLE_RATE

if TYPE_CHECKING:
    from serve_app.services.streaming.config import StreamConfig

FRAME = SAMPLE_RATE // 50            # 20 ms analysis frames for the quiet-point search
QUIET_SECONDS = 0.3                  # a pause at least this long is a place to cut
QUIET_RATIO = 0.08                   # quiet = frame RMS under 8 % (-22 dB) of the window's loud frames...
QUIET_FLOOR = 0.002                  # ...or under -54 dBFS, whichever is higher
SPEECH_PEAK = 0.003                  # a piece whose peak stays under -50 dBFS is not sent to the model


class CutPlanner(Protocol):
    def __call__(self, samples: np.ndarray, config: StreamConfig) -> list[int]:
        """Increasing cut indexes into `samples` (an open window); audio after the last cut stays open."""
        ...


class SpeechGate(Protocol):
    def __call__(self, start: int, end: int, samples: np.ndarray) -> bool:
        """Whether `samples` (absolute [start, end) of the stream) hold speech worth a model call."""
        ...


def frame_rms(samples: np.ndarray, frame: int = FRAME) -> np.ndarray:
    count = samples.shape[0] // frame
    if count == 0:
        return np.zeros(0, np.float32)
    framed = samples[:count * frame].reshape(count, frame).astype(np.float32)
    return np.sqrt(np.mean(framed * framed, axis=1))


def quiet_threshold(rms: np.ndarray) -> float:
    loud = float(np.percentile(rms, 95)) if rms.size else 0.0
    return max(QUIET_FLOOR, QUIET_RATIO * loud)


def quiet_runs(rms: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """[start, end) frame ranges where every frame is at or under the threshold."""
    quiet = np.concatenate([[False], rms <= threshold, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2])]


def find_quiet_cut(samples: np.ndarray, *, min_samples: int, max_samples: int,
                   quiet_seconds: float = QUIET_SECONDS) -> int | None:
    """The latest cut in [min_samples, max_samples] inside a pause of >= quiet_seconds, or None.

    The cut keeps half the pause's minimum length of quiet on each side, so it never lands in a word.
    """
    region = samples[:max_samples]
    rms = frame_rms(region)
    if rms.size == 0:
        return None
    need = max(1, math.ceil(quiet_seconds * SAMPLE_RATE / FRAME))
    margin = (need // 2) * FRAME
    best = None
    for start, end in quiet_runs(rms, quiet_threshold(rms)):
        if end - start < need:
            continue
        low = max(start * FRAME + margin, min_samples)
        high = min(end * FRAME - margin, max_samples)
        if low > high:
            continue
        middle = (start + end) // 2 * FRAME
        best = min(max(middle, low), high)
    return best


def find_forced_cut(samples: np.ndarray, *, min_samples: int, max_samples: int) -> int:
    """The quietest 100 ms between min_samples and max_samples (the latest one on ties)."""
    rms = frame_rms(samples[:max_samples])
    low = min_samples // FRAME
    if rms.size <= low + 1:
        return max_samples
    smooth = np.convolve(rms, np.ones(5, np.float32) / 5, mode="same")[low:]
    index = smooth.size - 1 - int(np.argmin(smooth[::-1]))
    return min(max((low + index) * FRAME + FRAME // 2, min_samples), max_samples)


def plan_cuts(samples: np.ndarray, config: StreamConfig) -> list[int]:
    """Where to cut an open window (increasing indexes into it); audio after the last cut stays open.

    A cut needs min_segment of audio before it; a window longer than window_seconds is always cut.
    A long backlog (a client sending faster than real time) can give several cuts at once.
    """
    cuts: list[int] = []
    start = 0
    total = samples.shape[0]
    while total - start >= config.min_segment_samples:
        rest = samples[start:]
        limit = min(rest.shape[0], config.window_samples)
        cut = find_quiet_cut(rest, min_samples=config.min_segment_samples, max_samples=limit,
                             quiet_seconds=config.quiet_seconds)
        if cut is None and rest.shape[0] > config.window_samples:
            cut = find_forced_cut(rest, min_samples=config.min_segment_samples, max_samples=limit)
        if cut is None or cut <= 0:
            break
        start += cut
        cuts.append(start)
    return cuts


def has_speech(samples: np.ndarray) -> bool:
    return samples.size > 0 and float(np.max(np.abs(samples))) >= SPEECH_PEAK


def energy_gate(start: int, end: int, samples: np.ndarray) -> bool:
    return has_speech(samples)
