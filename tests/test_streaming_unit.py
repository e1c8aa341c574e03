"""Streaming logic without Ray: quiet-point cuts, the committed prefix, PCM framing and resampling,
the session limit, and the WebSocket session itself against a fake model (Starlette's TestClient)."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager

import numpy as np
import pytest
from fastapi import FastAPI
from ray.exceptions import ActorDiedError
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from deployments.protocol import AsrResult
from serve_app.audio import DecodedAudio
from serve_app.routes import stream as stream_route
from serve_app.services.lifecycle import RequestCounters
from serve_app.services.streaming.config import StreamConfig
from serve_app.services.streaming.pcm import PcmDecoder
from serve_app.services.streaming.recognizer import Decoded, Recognizer
from serve_app.services.streaming.segmenter import FRAME, find_forced_cut, find_quiet_cut, plan_cuts
from serve_app.services.streaming.service import StreamingService, session_limit
from serve_app.services.transcription import TranscriptionService
from serve_app.settings import Settings
from serve_app.stream_protocol import StartMessage

SR = 16_000
RNG = np.random.default_rng(7)


def speech(seconds: float, level: float = 0.2) -> np.ndarray:
    return (level * RNG.standard_normal(int(seconds * SR))).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), np.float32)


CONFIG = StreamConfig(chunk_seconds=1.0, window_seconds=20.0, max_seconds=3600.0)


# ---------------------------------------------------------------------- quiet points
def test_min_segment_is_between_chunks_and_window():
    assert CONFIG.min_segment_seconds == 5.0
    assert StreamConfig(chunk_seconds=4, window_seconds=10).min_segment_seconds == 5.0  # never over half the window
    assert StreamConfig(chunk_seconds=0.5, window_seconds=4).min_segment_seconds == 1.0


def test_cut_lands_inside_a_pause_after_the_minimum_segment():
    window = np.concatenate([speech(6), silence(0.5), speech(2)])
    cut = find_quiet_cut(window, min_samples=CONFIG.min_segment_samples, max_samples=window.size)
    assert cut is not None and 6.0 * SR + 0.1 * SR <= cut <= 6.5 * SR - 0.1 * SR


def test_no_cut_in_short_pauses_or_before_the_minimum_segment():
    early = np.concatenate([speech(3), silence(0.6), speech(3)])
    assert find_quiet_cut(early, min_samples=CONFIG.min_segment_samples, max_samples=early.size) is None
    brief = np.concatenate([speech(6), silence(0.15), speech(3)])
    assert find_quiet_cut(brief, min_samples=CONFIG.min_segment_samples, max_samples=brief.size) is None


def test_latest_pause_wins_and_pauses_are_relative_to_the_speech_level():
    noisy = np.concatenate([speech(5.5), speech(0.5, 0.01), speech(2), speech(0.5, 0.01), speech(1)])
    cut = find_quiet_cut(noisy, min_samples=CONFIG.min_segment_samples, max_samples=noisy.size)
    assert cut is not None and 8.0 * SR <= cut <= 8.5 * SR


def test_short_utterance_is_never_cut():
    utterance = np.concatenate([speech(1.5), silence(0.5), speech(2), silence(0.4)])
    assert plan_cuts(utterance, CONFIG) == []


def test_window_without_pauses_is_cut_at_its_quietest_point_when_full():
    window = speech(21)
    dip = int(15 * SR)
    window[dip:dip + SR // 10] *= 0.05
    cuts = plan_cuts(window, CONFIG)
    assert len(cuts) == 1 and abs(cuts[0] - (dip + SR // 20)) <= 3 * FRAME
    assert plan_cuts(speech(19), CONFIG) == []  # not full yet: stays open
    forced = find_forced_cut(speech(25), min_samples=CONFIG.min_segment_samples, max_samples=CONFIG.window_samples)
    assert CONFIG.min_segment_samples <= forced <= CONFIG.window_samples


def test_backlog_is_cut_into_bounded_segments():
    parts = []
    for _ in range(8):
        parts += [speech(7), silence(0.5)]
    window = np.concatenate(parts + [speech(30)])
    cuts = plan_cuts(window, CONFIG)
    edges = [0, *cuts]
    lengths = np.diff(edges)
    assert len(cuts) >= 4
    for cut in cuts[:-1]:  # the pauses: 7.5 s apart
        assert (cut / SR) % 7.5 >= 7.0
    assert lengths.min() >= CONFIG.min_segment_samples and lengths.max() <= CONFIG.window_samples
    assert window.size - cuts[-1] <= CONFIG.window_samples


# ---------------------------------------------------------------------- the recognizer
def fake_decode(pieces: list[np.ndarray], starts: list[int], hypothesis: str) -> tuple[list[Decoded], Decoded]:
    cut_results = [Decoded(f"seg{start // SR}", "English") for start in starts]
    return cut_results, Decoded(hypothesis, "English")


def run_ticks(recognizer: Recognizer, audio_seconds: list[np.ndarray]) -> list:
    partials = []
    for n, second in enumerate(audio_seconds):
        recognizer.add(second)
        if recognizer.due():
            tick = recognizer.plan()
            cut_results, hyp = fake_decode(recognizer.pieces(tick), [a for a, _ in tick.cuts], f"hyp{n}")
            recognizer.apply(tick, cut_results, hyp)
            partials.append(recognizer.partial())
    return partials


def test_committed_prefix_never_changes_and_text_is_stable_plus_unstable():
    seconds = [speech(1) if n % 8 < 6 else silence(1) for n in range(60)]
    partials = run_ticks(Recognizer(CONFIG), seconds)
    assert len(partials) == 60
    for before, after in zip(partials, partials[1:]):
        assert after.stable_text.startswith(before.stable_text)
        assert after.duration_seconds >= before.duration_seconds
    for p in partials:
        assert p.text == p.stable_text + p.unstable_text
    assert partials[-1].stable_text.startswith("seg0 seg6 seg14 seg22")
    assert partials[-1].unstable_text.startswith(" hyp")


def test_cjk_pieces_join_without_spaces():
    recognizer = Recognizer(CONFIG)
    recognizer.add(np.concatenate([speech(6), silence(1)]))
    tick = recognizer.plan()
    assert len(tick.cuts) == 1
    recognizer.apply(tick, [Decoded("你好", "Chinese")], Decoded("世界", "Chinese"))
    partial = recognizer.partial()
    assert partial.text == "你好世界" and partial.stable_text == "你好" and partial.unstable_text == "世界"
    assert recognizer.language() == "Chinese"


def test_the_cut_planner_is_a_seam_of_the_recognizer():
    seen = []

    def every_three_seconds(window: np.ndarray, config: StreamConfig) -> list[int]:
        seen.append((window.size, config))
        return list(range(3 * SR, window.size, 3 * SR))

    recognizer = Recognizer(CONFIG, every_three_seconds)
    recognizer.add(speech(7))
    tick = recognizer.plan()
    assert seen == [(7 * SR, CONFIG)]
    assert tick.cuts == [(0, 3 * SR), (3 * SR, 6 * SR)] and tick.open == (6 * SR, 7 * SR)


def test_final_reuses_a_hypothesis_that_covers_all_audio():
    recognizer = Recognizer(CONFIG)
    recognizer.add(speech(2.5))
    tick = recognizer.plan()
    recognizer.apply(tick, [], Decoded("hello", "English"))
    assert recognizer.plan().reuse
    recognizer.add(speech(0.2))
    assert not recognizer.plan().reuse


def test_an_hour_keeps_memory_and_work_per_tick_bounded():
    recognizer = Recognizer(CONFIG)
    loud, quiet = speech(1), speech(1, 0.002)
    largest_window = largest_piece = 0
    for n in range(3600):
        recognizer.add(loud if n % 9 < 7 else quiet)
        if recognizer.due():
            tick = recognizer.plan()
            largest_piece = max([largest_piece] + [b - a for a, b in [*tick.cuts, tick.open]])
            cut_results, hyp = fake_decode([], [a for a, _ in tick.cuts], "x")
            recognizer.apply(tick, cut_results, hyp)
        largest_window = max(largest_window, recognizer.audio.end - recognizer.audio.start)
    assert recognizer.total == 3600 * SR
    assert largest_window <= CONFIG.window_samples + CONFIG.chunk_samples
    assert largest_piece <= CONFIG.window_samples + CONFIG.chunk_samples
    assert recognizer.segments >= 3600 // 20


# ---------------------------------------------------------------------- PCM input
def test_frames_may_split_samples_anywhere():
    samples = (0.5 * np.sin(np.arange(4000) / 7)).astype(np.float32)
    payload = (samples * 32767).astype("<i2").tobytes()
    decoder = PcmDecoder("pcm_s16le", SR)
    pieces, pos = [], 0
    for size in (1, 3, 2, 999, 1, 4000, 10_000):
        pieces.append(decoder.feed(payload[pos:pos + size]))
        pos += size
    pieces.append(decoder.feed(payload[pos:]))
    joined = np.concatenate(pieces)
    np.testing.assert_array_equal(joined, np.frombuffer(payload, "<i2") / np.float32(32768))


def test_f32le_input_and_invalid_samples():
    samples = (0.3 * np.sin(np.arange(1000) / 3)).astype(np.float32)
    decoder = PcmDecoder("f32le", SR)
    payload = samples.astype("<f4").tobytes()
    out = np.concatenate([decoder.feed(payload[:5]), decoder.feed(payload[5:])])
    np.testing.assert_array_equal(out, samples)
    with pytest.raises(ValueError):
        PcmDecoder("f32le", SR).feed(np.array([np.nan], "<f4").tobytes())
    with pytest.raises(ValueError):  # s16 sent as f32
        PcmDecoder("f32le", SR).feed(np.array([1000.0], "<f4").tobytes())


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_other_sample_rates_are_resampled_in_a_stream(rate):
    import soxr

    t = np.arange(rate * 2) / rate
    tone = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    decoder = PcmDecoder("f32le", rate)
    payload = tone.astype("<f4").tobytes()
    parts = [decoder.feed(payload[i:i + 4099]) for i in range(0, len(payload), 4099)]
    parts.append(decoder.flush())
    streamed = np.concatenate(parts)
    whole = soxr.resample(tone, rate, SR, quality="HQ")
    assert abs(streamed.size - 2 * SR) <= 2
    n = min(streamed.size, whole.size)
    np.testing.assert_allclose(streamed[:n], whole[:n], atol=2e-3)


# ---------------------------------------------------------------------- limits and messages
@pytest.mark.parametrize("sessions,ongoing", [(8, 64), (100, 64), (8, 10), (1, 1), (5, 2), (64, 64)])
def test_sockets_never_take_more_than_half_the_ingress_slots(sessions, ongoing):
    limit = session_limit(sessions, ongoing)
    assert 1 <= limit <= sessions
    if ongoing >= 2:
        assert limit <= ongoing // 2 < ongoing


def test_default_settings_leave_most_ingress_slots_to_http():
    settings = Settings()
    assert session_limit(settings.stream_max_sessions, settings.max_ongoing_requests) == settings.stream_max_sessions
    assert settings.stream_max_sessions <= settings.max_ongoing_requests // 2


def test_start_message_defaults_and_coercion():
    start = StartMessage.model_validate({"type": "start"})
    assert (start.sample_rate, start.format, start.language, start.return_timestamps) == (16000, "pcm_s16le", "auto", False)
    assert StartMessage.model_validate({"type": "start", "sample_rate": 48000.0, "extra": 1}).sample_rate == 48000
    with pytest.raises(ValueError):
        StartMessage.model_validate({"type": "start", "sample_rate": 16000.5})


# ---------------------------------------------------------------------- the session, with a fake model
class FakeRemote:
    def __init__(self, owner):
        self.owner = owner

    def remote(self, request):
        return self.owner.call(request)


class FakeAsr:
    """Text = one word per started second of audio; optional delay to hold calls in flight."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.calls = 0
        self.transcribe = FakeRemote(self)

    async def call(self, request) -> AsrResult:
        self.calls += 1
        await asyncio.sleep(self.delay)
        words = max(1, int(np.ceil(request.audio.size / SR)))
        return AsrResult(" ".join(f"w{n}" for n in range(words)), request.language or "English", "float32", "cpu",
                         0.001, 1, 0.0)


class FakeLifecycle:
    def __init__(self, running: int = 1):
        self.counters = RequestCounters()
        self.running = running

    def is_running(self, model_id):
        return self.running > 0

    @asynccontextmanager
    async def serving(self, model_id):
        self.counters.in_flight[model_id] += 1
        try:
            yield
        finally:
            self.counters.in_flight[model_id] -= 1


def fake_app(asr=None, running=1, **settings_kw) -> tuple[FastAPI, FakeAsr, FakeLifecycle]:
    # `speech()` here is noise, which Silero rightly hears as no speech: these session tests run the
    # energy path (the VAD path has its own tests on espeak speech in test_vad_stream_unit.py).
    settings_kw.setdefault("vad_enabled", False)
    settings = Settings(**settings_kw)
    asr = asr or FakeAsr()
    lifecycle = FakeLifecycle(running)
    transcription = TranscriptionService(settings, lifecycle, {"qwen3-asr-1.7b": asr, "qwen3-asr-0.6b": asr}, None)
    app = FastAPI()
    app.state.settings = settings
    app.state.services = type("S", (), {"settings": settings, "transcription": transcription,
                                         "lifecycle": lifecycle,
                                         "streaming": StreamingService(settings, transcription, lifecycle)})()
    app.include_router(stream_route.router)
    return app, asr, lifecycle


def pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def receive_until(ws, kinds: set[str]) -> tuple[list[dict], dict]:
    seen = []
    while True:
        message = ws.receive_json()
        seen.append(message)
        if message["type"] in kinds:
            return seen, message


def test_session_partials_then_final_with_fake_model():
    app, asr, lifecycle = fake_app()
    audio = np.concatenate([speech(3), silence(0.3)])
    with TestClient(app) as client, client.websocket_connect("/api/transcribe/stream") as ws:
        ws.send_json({"type": "start", "language": "en"})
        assert ws.receive_json()["type"] == "ready"
        for i in range(0, audio.size, 1600):
            ws.send_bytes(pcm(audio[i:i + 1600]))
        ws.send_json({"type": "stop"})
        seen, final = receive_until(ws, {"final", "error"})
        assert final["type"] == "final", final
        partials = [m for m in seen if m["type"] == "partial"]
        assert partials and all(p["text"] == p["stable_text"] + p["unstable_text"] for p in partials)
        assert final["text"] == "w0 w1 w2 w3" and final["language"] == "English"
        assert final["duration_seconds"] == pytest.approx(3.3, abs=0.01)
        assert final["timestamps"] is None
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1000
    assert lifecycle.counters.total() == 0


def test_cold_model_gets_loading_then_ready():
    app, asr, _ = fake_app(running=0)
    with TestClient(app) as client, client.websocket_connect("/api/transcribe/stream") as ws:
        ws.send_json({"type": "start"})
        assert ws.receive_json()["type"] == "loading"
        assert ws.receive_json()["type"] == "ready"
        assert asr.calls == 1  # the warm-up call that loads the model


@pytest.mark.parametrize("first,code,close", [
    (b"\x00\x01", "audio_before_start", 1008),
    ("not json", "invalid_json", 1003),
    (json.dumps([1, 2]), "invalid_message", 1003),
    (json.dumps({"type": "hello"}), "invalid_message", 1003),
    (json.dumps({"type": "stop"}), "stop_before_start", 1008),
    (json.dumps({"type": "start", "sample_rate": 1000}), "unsupported_sample_rate", 1003),
    (json.dumps({"type": "start", "sample_rate": "fast"}), "invalid_message", 1003),
    (json.dumps({"type": "start", "format": "mp3"}), "unsupported_format", 1003),
    (json.dumps({"type": "start", "model": "whisper"}), "unknown_model", 1008),
    (json.dumps({"type": "start", "language": "klingon"}), "unsupported_language", 1008),
])
def test_protocol_errors_close_with_meaningful_codes(first, code, close):
    app, _, lifecycle = fake_app()
    with TestClient(app) as client, client.websocket_connect("/api/transcribe/stream") as ws:
        ws.send_bytes(first) if isinstance(first, bytes) else ws.send_text(first)
        message = ws.receive_json()
        assert message["type"] == "error" and message["code"] == code and message["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == close
    assert lifecycle.counters.total() == 0


def test_frames_after_stop_and_session_length_limit():
    app, _, _ = fake_app(stream_max_seconds=2.0)
    with TestClient(app) as client:
        with client.websocket_connect("/api/transcribe/stream") as ws:
            ws.send_json({"type": "start"})
            assert ws.receive_json()["type"] == "ready"
            ws.send_bytes(pcm(speech(1.5)))
            ws.send_bytes(pcm(speech(1.0)))
            seen, message = receive_until(ws, {"error"})
            assert message["code"] == "session_too_long"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1009
        asr = FakeAsr(delay=0.5)
        app2, _, _ = fake_app(asr=asr)
        with TestClient(app2) as client2, client2.websocket_connect("/api/transcribe/stream") as ws:
            ws.send_json({"type": "start"})
            assert ws.receive_json()["type"] == "ready"
            ws.send_bytes(pcm(speech(0.5)))
            ws.send_json({"type": "stop"})
            ws.send_bytes(pcm(speech(0.5)))
            seen, message = receive_until(ws, {"error", "final"})
            assert message["type"] == "error" and message["code"] == "audio_after_stop"


class FailingAsr(FakeAsr):
    def __init__(self, error: Exception):
        super().__init__()
        self.error = error

    async def call(self, request) -> AsrResult:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize("error,code,close", [
    (ActorDiedError(), "model_unavailable", 1013),
    (RuntimeError("boom"), "model_error", 1011),
])
def test_model_failures_close_with_the_service_error_codes(error, code, close):
    app, _, lifecycle = fake_app(asr=FailingAsr(error))
    with TestClient(app) as client, client.websocket_connect("/api/transcribe/stream") as ws:
        ws.send_json({"type": "start"})
        assert ws.receive_json()["type"] == "ready"
        ws.send_bytes(pcm(speech(1.2)))
        message = ws.receive_json()
        assert message["type"] == "error" and message["code"] == code, message
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == close
    assert lifecycle.counters.total() == 0


def test_audio_seconds_are_counted_once_per_model_call(monkeypatch):
    app, asr, _ = fake_app(running=0)  # cold: the warm-up call counts too
    transcription = app.state.services.transcription
    counted: list[float] = []
    monkeypatch.setattr(transcription.metrics, "audio_transcribed", lambda model, seconds: counted.append(seconds))
    with TestClient(app) as client, client.websocket_connect("/api/transcribe/stream") as ws:
        ws.send_json({"type": "start"})
        receive_until(ws, {"ready"})
        ws.send_bytes(pcm(speech(2.5)))
        ws.send_json({"type": "stop"})
        receive_until(ws, {"final"})
    assert len(counted) == asr.calls >= 2 and counted[0] == 0.5
    counted.clear()
    options = transcription.options(model=None, language=None, return_timestamps=False, dtype=None, context=None)
    asyncio.run(transcription.transcribe_audio(DecodedAudio(speech(3), SR, 1, "wav"), options))
    assert counted == [3.0]


def test_api_key_on_the_handshake():
    app, _, _ = fake_app(api_key="sekrit")
    with TestClient(app) as client:
        with client.websocket_connect("/api/transcribe/stream") as ws:
            assert ws.receive_json()["code"] == "unauthorized"
        for kwargs in ({"url": "/api/transcribe/stream?api_key=sekrit"},
                       {"url": "/api/transcribe/stream", "headers": {"Authorization": "Bearer sekrit"}}):
            with client.websocket_connect(kwargs["url"], headers=kwargs.get("headers", {})) as ws:
                ws.send_json({"type": "start"})
                assert ws.receive_json()["type"] == "ready"


def test_session_limit_and_disconnect_frees_the_slot():
    asr = FakeAsr(delay=0.3)
    app, _, lifecycle = fake_app(asr=asr, stream_max_sessions=2)
    with TestClient(app) as client:
        with client.websocket_connect("/api/transcribe/stream") as a, \
                client.websocket_connect("/api/transcribe/stream") as b:
            for ws in (a, b):
                ws.send_json({"type": "start"})
                assert ws.receive_json()["type"] == "ready"
            a.send_bytes(pcm(speech(1.2)))  # a decode is in flight when `a` leaves
            with client.websocket_connect("/api/transcribe/stream") as c:
                message = c.receive_json()
                assert message["code"] == "too_many_sessions"
                with pytest.raises(WebSocketDisconnect) as closed:
                    c.receive_json()
                assert closed.value.code == 1013
        assert len(app.state.services.streaming.active) == 0
        # The server cancels the session's in-flight decode after the socket closes: give it a moment.
        deadline = time.monotonic() + 10
        while lifecycle.counters.total() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lifecycle.counters.total() == 0
        with client.websocket_connect("/api/transcribe/stream") as ws:
            ws.send_json({"type": "start"})
            assert ws.receive_json()["type"] == "ready"


def test_plain_get_documents_the_protocol():
    app, _, _ = fake_app()
    with TestClient(app) as client:
        response = client.get("/api/transcribe/stream")
        assert response.status_code == 426 and response.json()["error"]["code"] == "upgrade_required"
        spec = client.get("/openapi.json").json()
        assert "partial" in spec["paths"]["/api/transcribe/stream"]["get"]["description"]
