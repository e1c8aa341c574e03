"""Where a live stream has speech, by Silero VAD: the recognizer's cut planner and speech gate,
and the `speech_started` / `speech_stopped` messages (see serve_app.vad.live)."""

from __future__ import annotations

import numpy as np

from deployments.protocol import SAMPLE_RATE
from serve_app.services.streaming.config import StreamConfig
from serve_app.stream_protocol import SpeechStartedMessage, SpeechStoppedMessage
from serve_app.vad.live import LiveVad, SpeechEvent


class VadCutPlanner:
    """A `CutPlanner`: commits in the pause after a speech end (a pause of vad_min_silence_ms after
    speech), at the speech end or, when that is too early, where the piece holds min_segment; a window that reaches window_seconds is cut at its least
    speech-like frame. The window it is given starts at the LiveVad's origin (the session keeps
    them together)."""

    def __init__(self, vad: LiveVad) -> None:
        self.vad = vad

    def __call__(self, samples: np.ndarray, config: StreamConfig) -> list[int]:
        origin = self.vad.origin
        spans = self.vad.spans(origin)
        heard = min(samples.shape[0], self.vad.framed - origin)
        # Each closed span is followed by a pause up to the next span (or to what is heard so far).
        pauses = [(span.end - origin, (following.start - origin) if following else heard)
                  for span, following in zip(spans, [*spans[1:], None]) if span.closed]
        cuts: list[int] = []
        start = 0

        def forced(begin: int) -> int:
            low, high = begin + config.min_segment_samples, begin + config.window_samples
            return min(max(self.vad.quietest(origin + low, origin + high) - origin, low), high)

        for end, pause_end in pauses:
            while end - start > config.window_samples:
                start = forced(start)
                cuts.append(start)
            # the speech end, or the first point of its pause that leaves min_segment before the cut
            cut = max(end, start + config.min_segment_samples)
            if cut <= min(pause_end, samples.shape[0]):
                cuts.append(cut)
                start = cut
        while samples.shape[0] - start > config.window_samples:
            start = forced(start)
            cuts.append(start)
        return cuts

    def gate(self, start: int, end: int, samples: np.ndarray) -> bool:
        """A `SpeechGate`: only audio with speech in it goes to the model."""
        return self.vad.has_speech(start, end)


def speech_message(event: SpeechEvent) -> SpeechStartedMessage | SpeechStoppedMessage:
    seconds = round(event.sample / SAMPLE_RATE, 3)
    if event.kind == "started":
        return SpeechStartedMessage(start_seconds=seconds)
    return SpeechStoppedMessage(end_seconds=seconds)
