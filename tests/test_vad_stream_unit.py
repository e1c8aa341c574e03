"""Streaming with Silero VAD: cuts at speech ends, speech events, nothing without speech sent to the model."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from fastapi.testclient import TestClient

from serve_app.services.streaming import StreamConfig
from serve_app.services.streaming.recognizer import Decoded, Recognizer
from serve_app.services.streaming.speech import VadCutPlanner
from serve_app.vad.live import LiveVad
from serve_app.vad.silero import FRAME_SAMPLES
from serve_app.vad.spans import VadParams
from tests.audio_fixtures import load_16k, speak, voiced_region
from tests.test_streaming_unit import FakeAsr, fake_app, pcm, receive_until

SR = 16_000
PARAMS = VadParams(threshold=0.5, min_silence_ms=300, speech_pad_ms=100, min_speech_ms=250)
CONFIG = StreamConfig(chunk_seconds=1.0, window_seconds=20.0, max_seconds=3600.0)


class RecordingAsr(FakeAsr):
    """The fake model, remembering the length of every piece it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    async def call(self, request):
        self.sizes.append(request.audio.size)
        return await super().call(request)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), np.float32)


@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """1 s silence, sentence, 1.5 s pause, sentence, 4 s pause, sentence, 2 s silence; the pauses in s."""
    folder = tmp_path_factory.mktemp("vadstream")
    texts = ("the quick brown fox jumps over the lazy dog", "speech recognition works offline",
             "every pause here is known")
    parts = [load_16k(speak(t, "en", folder / f"t{i}.wav")) for i, t in enumerate(texts)]
    gaps = (1.5, 4.0, 2.0)
    audio, voiced, at = [silence(1.0)], [], 1.0
    for part, gap in zip(parts, gaps):
        first, last = voiced_region(part)
        voiced.append((at + first, at + last))
        audio += [part, silence(gap)]
        at += part.size / SR + gap
    total = at
    pauses = [(a[1], b[0]) for a, b in pairwise(voiced)] + [(voiced[-1][1], total)]
    return np.concatenate(audio), pauses


def run_stream(recognizer: Recognizer, vad: LiveVad, audio: np.ndarray) -> list[int]:
    """Ticks every second of audio, as the session does; returns the absolute cut positions."""
    cuts = []
    for at in range(0, audio.size, SR):
        recognizer.add(audio[at:at + SR])
        vad.feed(recognizer.audio.view(vad.fed, recognizer.total))
        tick = recognizer.plan()
        cuts += [end for _, end in tick.cuts]
        recognizer.apply(tick, [Decoded("x", "English")] * len(tick.cuts), Decoded("y", "English"))
        vad.forget_before(recognizer.window_start)
    return cuts


def test_live_cuts_land_in_the_pauses_and_events_follow_the_speech(talk):
    audio, pauses = talk
    vad = LiveVad(PARAMS)
    planner = VadCutPlanner(vad)
    recognizer = Recognizer(CONFIG, planner, planner.gate)
    cuts = run_stream(recognizer, vad, audio)
    assert cuts, "speech ends commit the window"
    for cut in cuts:
        assert any(start < cut / SR < end for start, end in pauses), (cut / SR, pauses)
    assert all(b - a >= CONFIG.min_segment_samples for a, b in zip([0, *cuts], cuts))


def test_speech_events_bracket_each_sentence(talk):
    audio, pauses = talk
    vad = LiveVad(PARAMS)
    events = []
    for at in range(0, audio.size, 3200):
        vad.feed(audio[at:at + 3200])
        events += vad.events()
    assert [e.kind for e in events] == ["started", "stopped"] * 3
    stops = [e.sample / SR for e in events if e.kind == "stopped"]
    starts = [e.sample / SR for e in events if e.kind == "started"]
    for stop, (pause_start, pause_end) in zip(stops, pauses):
        assert pause_start - 0.2 < stop < pause_start + 0.4
    assert starts[0] < 1.1 and all(pauses[i][1] - 0.4 < starts[i + 1] < pauses[i][1] + 0.2 for i in range(2))


def test_a_window_of_speech_without_pauses_is_still_cut_within_the_window():
    vad = LiveVad(PARAMS)
    planner = VadCutPlanner(vad)
    samples = np.zeros(50 * SR, np.float32)
    vad.probs = np.full(samples.size // FRAME_SAMPLES, 0.9, np.float32)
    vad.probs[int(12 * SR / FRAME_SAMPLES)] = 0.55  # the least speech-like frame of the first window
    cuts = planner(samples, CONFIG)
    assert abs(cuts[0] / SR - 12.0) < 0.05
    assert all(b - a <= CONFIG.window_samples for a, b in zip([0, *cuts], [*cuts, samples.size]))


def stream_socket(app, audio: np.ndarray) -> tuple[list[dict], dict]:
    with TestClient(app) as client, client.websocket_connect("/api/transcribe/stream") as ws:
        ws.send_json({"type": "start", "language": "en"})
        assert ws.receive_json()["type"] == "ready"
        for i in range(0, audio.size, 3200):
            ws.send_bytes(pcm(audio[i:i + 3200]))
        ws.send_json({"type": "stop"})
        return receive_until(ws, {"final", "error"})


def test_the_socket_reports_speech_and_sends_only_speech_to_the_model(talk):
    audio, pauses = talk
    asr = RecordingAsr()
    app, _, _ = fake_app(asr=asr, vad_enabled=True)
    seen, final = stream_socket(app, audio)
    assert final["type"] == "final", final
    kinds = [m["type"] for m in seen if m["type"].startswith("speech_")]
    assert kinds == ["speech_started", "speech_stopped"] * 3
    stopped = [m["end_seconds"] for m in seen if m["type"] == "speech_stopped"]
    assert all(start - 0.2 < at < end for at, (start, end) in zip(stopped, pauses))
    assert final["segments"] >= 2 and final["text"]
    assert asr.sizes and max(asr.sizes) <= CONFIG.window_samples


@pytest.mark.parametrize("level", [0.0, 0.02])
def test_a_stream_without_speech_never_reaches_the_model(level):
    asr = RecordingAsr()
    app, _, _ = fake_app(asr=asr, vad_enabled=True)
    audio = (level * np.random.default_rng(3).standard_normal(8 * SR)).astype(np.float32)
    seen, final = stream_socket(app, audio)
    assert final["type"] == "final" and final["text"] == ""
    assert asr.sizes == [] and not [m for m in seen if m["type"].startswith("speech_")]
