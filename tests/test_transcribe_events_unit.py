"""POST /api/transcribe as server-sent events (Accept: text/event-stream or progress=true), through the
FastAPI app with fake model handles: progress per piece in order with the text so far, then exactly
the plain JSON answer; errors before the work are plain JSON errors; a consumer that stops cancels."""

from __future__ import annotations

import asyncio
import io
import json
import time
from contextlib import asynccontextmanager

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from deployments.protocol import AsrResult
from serve_app.app import create_app
from serve_app.services.composition import build_services
from serve_app.services.transcription_events import ProgressStream, TranscriptionProgress, wants_events
from serve_app.settings import Settings

PIECE_S = 5


class FakeAsr:
    """Answers each piece with its own number, so the order of the text can be asserted."""

    def __init__(self, delay: float = 0.0, gate: asyncio.Event | None = None):
        self.delay = delay
        self.calls = 0
        self.cancelled = 0
        fake = self

        class _Method:
            async def remote(self, request):
                fake.calls += 1
                n = fake.calls
                try:
                    await asyncio.sleep(fake.delay)
                except asyncio.CancelledError:
                    fake.cancelled += 1
                    raise
                return AsrResult(f"piece{n}", "English", "float32", "cpu", 0.01, 1, time.time() - 60)

        self.transcribe = _Method()


def wav(seconds: float) -> bytes:
    rng = np.random.default_rng(1)
    samples = (0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, samples, 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class ReadyModels:
    """The lifecycle's request gate with every model already running."""

    @asynccontextmanager
    async def serving(self, model_id):
        yield


def app_with(asr: FakeAsr, **settings):
    # vad off: the noise fixture would count as no speech at all
    s = Settings(asr_piece_seconds=PIECE_S, align_piece_seconds=PIECE_S, vad_enabled=False, **settings)
    services = build_services(s, asr, asr, None, None)
    services.transcription.lifecycle = ReadyModels()
    return services, TestClient(create_app(services))


def parse(body: str) -> list[tuple[str, dict]]:
    events = []
    for block in body.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        if not lines:
            continue
        event = next(line[7:] for line in lines if line.startswith("event: "))
        data = json.loads("".join(line[6:] for line in lines if line.startswith("data: ")))
        events.append((event, data))
    return events


@pytest.mark.parametrize("how", ["accept", "field"])
def test_a_long_file_streams_progress_per_piece_then_the_plain_answer(how):
    _, client = app_with(FakeAsr())
    audio = wav(PIECE_S * 3.5)
    headers = {"Accept": "text/event-stream"} if how == "accept" else {}
    data = {"progress": "true"} if how == "field" else {}
    response = client.post("/api/transcribe", files={"file": ("a.wav", audio)}, data=data, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse(response.text)
    kinds = [e for e, _ in events]
    assert kinds[-1] == "result" and set(kinds[:-1]) == {"progress"}
    progress = [d for e, d in events if e == "progress"]
    total = progress[0]["pieces_total"]
    assert total >= 4 and progress[0]["pieces_done"] == 0 and progress[0]["text"] == ""
    assert [p["pieces_done"] for p in progress] == list(range(total + 1))
    seconds = [p["audio_seconds_done"] for p in progress]
    assert seconds == sorted(seconds) and seconds[-1] == pytest.approx(PIECE_S * 3.5, abs=0.01)
    assert progress[2]["text"] == "piece1 piece2"  # the text so far, in order
    final = events[-1][1]
    plain = client.post("/api/transcribe", files={"file": ("a.wav", audio)}).json()
    # the same keys and text as the plain JSON answer (timings differ run to run)
    assert set(final) == set(plain) and final["text"] == progress[-1]["text"]
    assert final["text"] == " ".join(f"piece{i}" for i in range(1, total + 1))
    assert plain["text"] == " ".join(f"piece{i}" for i in range(total + 1, 2 * total + 1))


def test_bad_audio_is_a_plain_json_error_with_its_status_even_when_events_were_asked():
    _, client = app_with(FakeAsr())
    response = client.post("/api/transcribe", files={"file": ("a.wav", b"not audio at all" * 10)},
                           headers={"Accept": "text/event-stream"})
    assert response.status_code in (400, 415) and response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"]


def test_a_plain_request_still_gets_json():
    _, client = app_with(FakeAsr())
    response = client.post("/api/transcribe", files={"file": ("a.wav", wav(2))})
    assert response.headers["content-type"].startswith("application/json") and response.json()["text"] == "piece1"


def test_wants_events():
    assert wants_events("text/event-stream", False) and wants_events("application/json, Text/Event-Stream", False)
    assert wants_events(None, True) and not wants_events("application/json", False) and not wants_events(None, False)


def test_progress_snapshots_count_pieces_and_seconds():
    seen: list[dict] = []
    progress = TranscriptionProgress(seen.append)
    progress.planned(2, 10.0)

    class P:
        def __init__(self, text, duration):
            self.text, self.duration = text, duration

    progress.piece_done(P("你好", 6.0))
    progress.piece_done(P("世界", 4.0))
    progress.aligning()
    assert [s["pieces_done"] for s in seen] == [0, 1, 2, 2]
    assert seen[1]["audio_seconds_done"] == 6.0 and seen[2]["text"] == "你好世界"
    assert seen[-1]["stage"] == "aligning" and seen[0]["stage"] == "transcribing"


def test_a_consumer_that_stops_early_cancels_the_pieces_still_running():
    async def scenario():
        asr = FakeAsr(delay=30)
        services, _ = app_with(asr, model_max_ongoing_requests=8)
        options = services.transcription.options(model=None, language=None, return_timestamps=False,
                                                 dtype=None, context=None)
        stream = ProgressStream(services.transcription, io.BytesIO(wav(PIECE_S * 3.5)), options, dict)
        await stream.open()
        events = stream.events()
        first = await events.__anext__()
        assert first.startswith("event: progress")
        await asyncio.sleep(0.05)  # the pieces are on their way to the (slow) model
        assert asr.calls >= 4
        await events.aclose()  # what a client disconnect does to the response's iterator
        await asyncio.sleep(0.05)
        assert stream.task.cancelled()
        assert asr.cancelled == asr.calls
        assert services.transcription.admission.in_flight == 0 if hasattr(services.transcription.admission,
                                                                           "in_flight") else True

    asyncio.run(scenario())
