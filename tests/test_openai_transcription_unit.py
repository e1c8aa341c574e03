"""serve_app/services/openai_transcription.py and the one transcription method behind it (no Ray:
fake model handles). The timed formats go through `TranscriptionService.transcribe_audio` like
`/api/transcribe`; only an untimable language that nobody asked word times for falls back."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import numpy as np
import pytest

from deployments.protocol import AlignResult, AsrResult, WordTime
from serve_app.audio import DecodedAudio
from serve_app.errors import ApiError
from serve_app.openai_protocol import (
    TranscriptionJson,
    TranscriptionVerboseJson,
    parse_request,
)
from serve_app.services.openai_transcription import (
    OpenAITranscriptionService,
    stream_events,
)
from serve_app.services.transcription import PieceText, TranscriptionService
from serve_app.settings import Settings

SR = 16_000


class FakeLifecycle:
    def is_running(self, model_id):  # every model loaded: nothing to wake ahead of its use
        return True

    @asynccontextmanager
    async def serving(self, model_id):
        yield


class Remote:
    def __init__(self, answer):
        self.answer = answer
        self.calls = 0

    async def remote(self, request):
        self.calls += 1
        return self.answer(request)


class FakeAsr:
    def __init__(self, text: str, language: str):
        self.transcribe = Remote(lambda request: AsrResult(text, language, "float32", "cpu", 0.01, 1, 0.0))


class FakeAligner:
    def __init__(self):
        self.align = Remote(lambda request: AlignResult(
            [WordTime(word, 0.1 * i, 0.1 * i + 0.1) for i, word in enumerate(request.text.split())]))


def openai_service(text="hello world", language="English", **settings):
    asr, aligner = FakeAsr(text, language), FakeAligner()
    # Zeros as audio and no VAD: every piece reaches the fake model.
    transcription = TranscriptionService(Settings(vad_enabled=False, **settings), FakeLifecycle(),
                                         {"qwen3-asr-1.7b": asr, "qwen3-asr-0.6b": asr}, aligner)
    return OpenAITranscriptionService(transcription.settings, transcription), aligner


def audio(seconds=2.0) -> DecodedAudio:
    return DecodedAudio(np.zeros(int(seconds * SR), np.float32), SR, 1, "test")


def answer(svc: OpenAITranscriptionService, fmt: str, granularities=(), language=None):
    request = parse_request(svc.settings, model=None, response_format=fmt, granularities=list(granularities),
                            stream=False, temperature=None)
    options = svc.options(request, language, None)
    return asyncio.run(svc.answer(request, options, audio()))


def test_json_and_text_carry_the_transcript():
    svc, aligner = openai_service()
    body = answer(svc, "json").body
    assert isinstance(body, TranscriptionJson) and body.text == "hello world" and body.usage.seconds == 2.0
    text = answer(svc, "text")
    assert text.body == "hello world\n" and text.media_type.startswith("text/plain")
    assert aligner.align.calls == 0


def test_verbose_json_words_come_from_the_aligner():
    svc, aligner = openai_service()
    result = answer(svc, "verbose_json", ["word", "segment"])
    body = result.body
    assert isinstance(body, TranscriptionVerboseJson) and body.language == "english"
    assert [w.word for w in body.words] == ["hello", "world"] and body.segments[0].text == "hello world"
    assert aligner.align.calls == 1 and result.transcript.timestamps is not None


def test_an_untimable_detected_language_falls_back_to_untimed_segments():
    """Segments and subtitles are best effort: the pieces' own spans, never a 422, no aligner call."""
    svc, aligner = openai_service(text="xin chào", language="Vietnamese")
    body = answer(svc, "verbose_json").body
    assert body.words is None and [(s.start, s.end, s.text) for s in body.segments] == [(0.0, 2.0, "xin chào")]
    srt = answer(svc, "srt")
    assert "xin chào" in srt.body and srt.transcript.timestamps is None
    assert aligner.align.calls == 0


def test_word_times_asked_for_explicitly_are_required():
    svc, _ = openai_service(text="xin chào", language="Vietnamese")
    with pytest.raises(ApiError) as caught:
        answer(svc, "verbose_json", ["word"])
    assert caught.value.status == 422 and caught.value.code == "timestamps_unsupported_language"


def test_a_forced_untimable_language_with_words_is_400_under_openais_field_name():
    svc, _ = openai_service()
    with pytest.raises(ApiError) as caught:
        answer(svc, "verbose_json", ["word"], language="vi")
    assert caught.value.status == 400 and caught.value.param == "language"


def test_file_transcriptions_count_in_the_metrics_for_every_format():
    svc, _ = openai_service()
    seen: list[str] = []
    svc.transcription.metrics.file_transcribed = lambda model, process, duration: seen.append(model)
    for fmt in ("json", "verbose_json", "vtt"):
        answer(svc, fmt)
    assert seen == ["qwen3-asr-1.7b"] * 3


def test_stream_awaits_the_first_piece_then_sends_deltas_and_done():
    svc, _ = openai_service()
    request = parse_request(svc.settings, model=None, response_format="json", granularities=[], stream=True,
                            temperature=None)
    options = svc.options(request, None, None)

    async def go():
        events = await svc.stream(options, audio())
        return [json.loads(chunk.decode()[len("data: "):]) async for chunk in events]

    events = asyncio.run(go())
    assert events == [{"type": "transcript.text.delta", "delta": "hello world"},
                      {"type": "transcript.text.done", "text": "hello world"}]


def test_stream_events_join_pieces_like_the_whole_text():
    async def rest():
        yield PieceText(1, 1.0, 1.0, "世界", "Chinese"), None

    async def go():
        first = (PieceText(0, 0.0, 1.0, "你好", "Chinese"), None)
        return [json.loads(c.decode()[6:]) async for c in stream_events(first, rest())]

    events = asyncio.run(go())
    assert [e.get("delta") for e in events[:2]] == ["你好", "世界"] and events[2]["text"] == "你好世界"
