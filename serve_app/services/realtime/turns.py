"""The input audio buffer of one Realtime session and its server-VAD turns (no I/O; `listen` blocks).

Audio is kept at 16 kHz, addressed by absolute sample since the session began. With server VAD,
Silero finds speech: a turn runs from a speech start (with `prefix_padding_ms`) to the end of the
speech (`silence_duration_ms` of non-speech ends it). A turn longer than the window is committed
at the window and continues as a new item, so no model call ever exceeds it. Between turns only
a short pre-roll is kept, so memory stays bounded however long the session runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deployments.protocol import SAMPLE_RATE
from serve_app.realtime_protocol import ServerVad, item_id
from serve_app.services.streaming.pcm import AudioBuffer
from serve_app.vad.live import LiveVad
from serve_app.vad.spans import VadParams


def vad_params(turn_detection: ServerVad, min_speech_ms: int) -> VadParams:
    return VadParams(turn_detection.threshold, turn_detection.silence_duration_ms,
                     turn_detection.prefix_padding_ms, min_speech_ms)


@dataclass
class TurnEvent:
    kind: str            # "started" | "stopped" | "split" (a turn reached the window and goes on as a new item)
    item_id: str
    sample: int
    audio: np.ndarray | None = None   # the committed turn ("stopped", "split")


class InputBuffer:
    def __init__(self, params: VadParams | None, window_samples: int, offset: int = 0) -> None:
        self.offset = offset                # session samples before this buffer (its sample 0)
        self.audio = AudioBuffer()
        self.start = 0                      # the uncommitted audio begins here
        self.window = window_samples
        self.vad = LiveVad(params) if params is not None else None
        self.preroll = (params.speech_pad_ms * SAMPLE_RATE // 1000 if params else 0) + SAMPLE_RATE
        self.item: str | None = None        # the item being spoken (server VAD)
        self.item_start = 0

    @property
    def total(self) -> int:
        return self.audio.end

    @property
    def pending(self) -> int:
        return self.total - self.start

    def append(self, samples: np.ndarray) -> None:
        self.audio.append(samples)

    def take(self, end: int) -> np.ndarray:
        """Commits [start, end): returns it and forgets it."""
        end = max(self.start, min(end, self.total))
        piece = self.audio.view(self.start, end).copy()
        self._forget(end)
        return piece

    def clear(self) -> None:
        self._forget(self.total)
        self.item = None
        if self.vad is not None:
            self.vad.speaking = False
            self.vad.heard_until = self.vad.framed

    def _forget(self, sample: int) -> None:
        self.start = max(self.start, sample)
        self.audio.drop_before(self.start)
        if self.vad is not None:
            self.vad.forget_before(self.start)

    def listen(self) -> list[TurnEvent]:
        """Runs the VAD over new audio (blocking: a worker thread's job); the turns it starts and ends."""
        vad = self.vad
        if vad is None:
            return []
        vad.feed(self.audio.view(vad.fed, self.total))
        events: list[TurnEvent] = []
        for speech in vad.events():
            if speech.kind == "started":
                self.item, self.item_start = item_id(), max(speech.sample, self.start)
                self._forget(self.item_start)
                events.append(TurnEvent("started", self.item, self.item_start))
            elif self.item is not None:
                events.append(TurnEvent("stopped", self.item, speech.sample, self.take(speech.sample)))
                self.item = None
        if self.item is not None and self.total - self.item_start >= self.window:
            split_at = self.item_start + self.window
            events.append(TurnEvent("split", self.item, split_at, self.take(split_at)))
            self.item, self.item_start = item_id(), split_at
            events.append(TurnEvent("started", self.item, split_at))
        if self.item is None:
            self._forget(max(self.start, vad.framed - self.preroll))
        return events

    def spoken(self) -> np.ndarray | None:
        """The audio of the turn being spoken so far (for deltas), or None."""
        return self.audio.view(self.item_start, self.total) if self.item is not None else None
