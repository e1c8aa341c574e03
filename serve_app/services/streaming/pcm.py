"""PCM input: binary frames of any size to 16 kHz float32, and the buffer that holds them."""

from __future__ import annotations

import numpy as np

from deployments.protocol import SAMPLE_RATE
from serve_app.audio import decode_pcm
from serve_app.stream_protocol import PCM_FORMATS


class PcmDecoder:
    """Binary frames of any size -> 16 kHz float32; keeps split samples and the resampler state."""

    def __init__(self, sample_format: str, sample_rate: int) -> None:
        if sample_format not in PCM_FORMATS:
            raise ValueError(f"Unknown PCM format {sample_format!r}")
        self.format = sample_format
        self.width = 2 if sample_format == "pcm_s16le" else 4
        self.sample_rate = sample_rate
        self._carry = b""
        self._resampler = None
        if sample_rate != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def feed(self, payload: bytes) -> np.ndarray:
        data = self._carry + payload if self._carry else payload
        usable = len(data) - len(data) % self.width
        self._carry = bytes(data[usable:])
        samples = decode_pcm(bytes(data[:usable]), self.format)
        if not np.isfinite(samples).all():
            raise ValueError("The audio contains NaN or infinite samples.")
        if self.format == "f32le" and samples.size and float(np.max(np.abs(samples))) > 64.0:
            raise ValueError("f32le samples must lie in [-1, 1]; these look like another format.")
        return self._resample(samples, last=False)

    def flush(self) -> np.ndarray:
        return self._resample(np.zeros(0, np.float32), last=True)

    def _resample(self, samples: np.ndarray, last: bool) -> np.ndarray:
        if self._resampler is None:
            return samples.astype(np.float32, copy=False)
        return np.asarray(self._resampler.resample_chunk(samples, last=last), dtype=np.float32)


class AudioBuffer:
    """16 kHz audio addressed by absolute sample index; only [start, end) is kept."""

    def __init__(self) -> None:
        self.start = 0
        self.end = 0
        self._parts: list[np.ndarray] = []

    def append(self, samples: np.ndarray) -> None:
        if samples.size:
            self._parts.append(samples)
            self.end += samples.shape[0]

    def _joined(self) -> np.ndarray:
        if len(self._parts) != 1:
            self._parts = [np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)]
        return self._parts[0]

    def view(self, start: int, end: int) -> np.ndarray:
        data = self._joined()
        return data[start - self.start:end - self.start]

    def drop_before(self, index: int) -> None:
        if index <= self.start:
            return
        data = self._joined()
        self._parts = [data[index - self.start:].copy()]
        self.start = index
