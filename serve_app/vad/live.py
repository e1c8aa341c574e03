"""Speech in one live stream: audio fed as it comes (the model's state carried between calls),
the speech spans of the open window, and speech start/stop events (no I/O; `feed` blocks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from serve_app.vad.silero import FRAME_SAMPLES, SileroVad, VadState, shared_vad
from serve_app.vad.spans import VadParams, quietest_point, speech_spans


@dataclass(frozen=True)
class LiveSpan:
    start: int       # absolute samples since the stream began
    end: int
    closed: bool     # followed by a pause of min_silence_ms: this speech has ended


@dataclass(frozen=True)
class SpeechEvent:
    kind: Literal["started", "stopped"]
    sample: int      # where the (padded) speech starts or ends, in absolute samples


class LiveVad:
    """Probabilities are kept from `origin` (the open window's start) on, so memory and the work
    per call stay bounded however long the stream runs."""

    def __init__(self, params: VadParams, vad: SileroVad | None = None) -> None:
        self.params = params
        self.vad = vad or shared_vad()
        self.state = VadState()
        self.pending = np.zeros(0, np.float32)   # the start of a frame still to come
        self.fed = 0                             # samples fed so far
        self.first_frame = 0                     # absolute index of the frame of probs[0]
        self.probs = np.zeros(0, np.float32)
        self.origin = 0
        self.speaking = False
        self.heard_until = 0                     # events are reported for speech after this sample

    @property
    def framed(self) -> int:
        """Samples with a probability: everything fed but the last partial frame."""
        return (self.first_frame + self.probs.size) * FRAME_SAMPLES

    def feed(self, samples: np.ndarray) -> None:
        """Blocking (an ONNX call): run it in a worker thread."""
        data = np.concatenate([self.pending, np.asarray(samples, np.float32)])
        whole = data.size // FRAME_SAMPLES
        if whole:
            new = self.state.forward(self.vad, data[:whole * FRAME_SAMPLES].reshape(whole, FRAME_SAMPLES))
            self.probs = np.concatenate([self.probs, new])
        self.pending = data[whole * FRAME_SAMPLES:].copy()
        self.fed += int(np.asarray(samples).shape[0])

    def spans(self, start: int) -> list[LiveSpan]:
        """Speech from absolute sample `start` (clamped to what is kept) to `framed`."""
        frame = min(max(self.first_frame, start // FRAME_SAMPLES), self.first_frame + self.probs.size)
        offset = frame * FRAME_SAMPLES
        found = speech_spans(self.probs[frame - self.first_frame:], self.framed - offset, self.params)
        return [LiveSpan(max(start, offset + a), offset + b, offset + b < self.framed)
                for a, b in found if offset + b > start]

    def has_speech(self, start: int, end: int) -> bool:
        return any(span.start < end and span.end > start for span in self.spans(self.origin))

    def quietest(self, low: int, high: int) -> int:
        """The least speech-like point in [low, high] (absolute samples)."""
        shift = self.first_frame * FRAME_SAMPLES
        return shift + quietest_point(self.probs, low - shift, high - shift)

    def events(self) -> list[SpeechEvent]:
        """Speech starts and ends not reported yet, in order."""
        out: list[SpeechEvent] = []
        for span in self.spans(self.heard_until):
            if not self.speaking:
                out.append(SpeechEvent("started", span.start))
                self.speaking = True
            if not span.closed:
                break
            out.append(SpeechEvent("stopped", span.end))
            self.speaking = False
            self.heard_until = span.end
        return out

    def forget_before(self, sample: int) -> None:
        """The open window now starts at `sample`: probabilities of earlier frames are dropped."""
        self.origin = max(self.origin, sample)
        drop = min(self.origin // FRAME_SAMPLES - self.first_frame, self.probs.size)
        if drop > 0:
            self.probs = self.probs[drop:].copy()
            self.first_frame += drop
