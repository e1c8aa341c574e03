"""The knobs of one streaming session, in seconds and in 16 kHz samples."""

from __future__ import annotations

from dataclasses import dataclass

from deployments.protocol import SAMPLE_RATE
from serve_app.services.streaming.segmenter import QUIET_SECONDS
from serve_app.settings import Settings

START_TIMEOUT_S = 30.0               # defaults of stream_start_timeout_s / stream_idle_timeout_s
IDLE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class StreamConfig:
    chunk_seconds: float = 1.0
    window_seconds: float = 20.0
    max_seconds: float = 3600.0
    quiet_seconds: float = QUIET_SECONDS
    start_timeout_s: float = START_TIMEOUT_S   # connect -> `start`
    idle_timeout_s: float = IDLE_TIMEOUT_S     # no message from the client this long (see inbound.deadline)

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamConfig:
        return cls(settings.stream_chunk_seconds, settings.stream_window_seconds, settings.stream_max_seconds,
                   start_timeout_s=settings.stream_start_timeout_s, idle_timeout_s=settings.stream_idle_timeout_s)

    @property
    def min_segment_seconds(self) -> float:
        """Shortest committed window: shorter utterances are never cut (offline parity)."""
        return min(max(2 * self.chunk_seconds, self.window_seconds / 4), self.window_seconds / 2)

    @property
    def chunk_samples(self) -> int:
        return max(1, round(self.chunk_seconds * SAMPLE_RATE))

    @property
    def window_samples(self) -> int:
        return round(self.window_seconds * SAMPLE_RATE)

    @property
    def min_segment_samples(self) -> int:
        return round(self.min_segment_seconds * SAMPLE_RATE)

    @property
    def max_samples(self) -> int:
        return round(self.max_seconds * SAMPLE_RATE)

    @property
    def backlog_samples(self) -> int:
        """Received but not yet decoded audio above which the server stops reading the socket."""
        return max(3 * self.window_samples, 10 * self.chunk_samples)
