"""The recognizer's state: committed text plus one open window (see the package docstring).

No I/O: the session feeds it audio and model results and sends what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from serve_app.qwen_utils import merge_languages

from deployments.protocol import SAMPLE_RATE
from serve_app.services.streaming.config import StreamConfig
from serve_app.services.streaming.pcm import AudioBuffer
from serve_app.services.streaming.segmenter import CutPlanner, SpeechGate, energy_gate, plan_cuts
from serve_app.services.transcription import join_pieces
from serve_app.stream_protocol import PartialMessage


@dataclass
class Tick:
    """One decoding step: committed spans (absolute samples) and the open window after them."""

    cuts: list[tuple[int, int]]
    open: tuple[int, int]
    reuse: bool = False  # the open window is exactly what the last hypothesis covered


@dataclass
class Decoded:
    text: str
    language: str


class Recognizer:
    """Committed text + one open window; `cut_planner` decides where the window is cut,
    `speech_gate` which pieces are worth a model call."""

    def __init__(self, config: StreamConfig, cut_planner: CutPlanner = plan_cuts,
                 speech_gate: SpeechGate = energy_gate) -> None:
        self.config = config
        self.cut_planner = cut_planner
        self.speech_gate = speech_gate
        self.audio = AudioBuffer()
        self.window_start = 0
        self.stable_text = ""
        self.languages: list[str] = []
        self.segments = 0
        self.hypothesis = Decoded("", "")
        self.hypothesis_span = (0, 0)

    @property
    def total(self) -> int:
        return self.audio.end

    @property
    def decoded_until(self) -> int:
        return self.hypothesis_span[1]

    def add(self, samples: np.ndarray) -> None:
        self.audio.append(samples)

    def due(self) -> bool:
        return self.total - max(self.decoded_until, self.window_start) >= self.config.chunk_samples

    def backlog(self) -> int:
        return self.total - max(self.decoded_until, self.window_start)

    def plan(self) -> Tick:
        end = self.total
        window = self.audio.view(self.window_start, end)
        spans: list[tuple[int, int]] = []
        start = self.window_start
        for cut in self.cut_planner(window, self.config):
            spans.append((start, self.window_start + cut))
            start = self.window_start + cut
        reuse = not spans and (start, end) == self.hypothesis_span
        return Tick(spans, (start, end), reuse)

    def pieces(self, tick: Tick) -> list[np.ndarray]:
        return [self.audio.view(a, b) for a, b in tick.cuts] + [self.audio.view(*tick.open)]

    def speech(self, tick: Tick) -> list[bool]:
        """For each piece of `pieces(tick)`: does it go to the model (a piece without speech decodes to "")."""
        return [self.speech_gate(a, b, self.audio.view(a, b)) for a, b in [*tick.cuts, tick.open]]

    def apply(self, tick: Tick, cut_results: list[Decoded], open_result: Decoded) -> None:
        for result in cut_results:
            self.stable_text = join_pieces([self.stable_text, result.text])
            self.languages.append(result.language)
        self.segments += len(tick.cuts)
        self.window_start = tick.open[0]
        self.audio.drop_before(self.window_start)
        self.hypothesis = open_result
        self.hypothesis_span = tick.open

    def partial(self) -> PartialMessage:
        text = join_pieces([self.stable_text, self.hypothesis.text])
        return PartialMessage(text=text, stable_text=self.stable_text, unstable_text=text[len(self.stable_text):],
                              duration_seconds=round(self.decoded_until / SAMPLE_RATE, 3))

    def text(self) -> str:
        return join_pieces([self.stable_text, self.hypothesis.text])

    def language(self) -> str:
        return merge_languages(self.languages + [self.hypothesis.language])
