"""The OpenAI-compatible endpoint, driven by the official `openai` SDK against the real stack."""

from __future__ import annotations

import re
import threading
import time
import uuid

import httpx
import openai
import pytest
import soundfile as sf
from openai import OpenAI

from deployments.protocol import ASR_MODELS
from serve_app.errors import ApiError
from serve_app.services.transcription import PieceText
from tests.audio_fixtures import long_speech as make_long_speech
from tests.stack import LIFECYCLE_APP, expected_text, free_port

LARGE, SMALL = "qwen3-asr-1.7b", "qwen3-asr-0.6b"
SCRIPTED = expected_text(LARGE)  # the default model's sentence
CUE_TIME = r"(\d{2}):(\d{2}):(\d{2})[,.](\d{3})"


@pytest.fixture(scope="module")
def client(stack) -> OpenAI:
    return OpenAI(base_url=stack.url("/v1"), api_key="x", max_retries=0, timeout=300)


def transcribe(client, path, **kwargs):
    with open(path, "rb") as handle:
        return client.audio.transcriptions.create(file=(path.name, handle), **{"model": "qwen3-asr-1.7b", **kwargs})


def duration_of(path) -> float:
    return sf.info(str(path)).duration


def seconds(match) -> float:
    h, m, s, ms = (int(g) for g in match)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    cue = re.compile(rf"(\d+)\n{CUE_TIME} --> {CUE_TIME}\n([^\n]+)\n\n")
    cues, pos = [], 0
    for expected_index, match in enumerate(cue.finditer(text), start=1):
        assert match.start() == pos, f"garbage before cue {expected_index}: {text[pos:match.start()]!r}"
        assert int(match.group(1)) == expected_index
        assert "," in text[match.start(2):match.end(9)]
        cues.append((seconds(match.groups()[1:5]), seconds(match.groups()[5:9]), match.group(10)))
        pos = match.end()
    assert pos == len(text), f"unparsed SRT tail: {text[pos:]!r}"
    return cues


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    assert text.startswith("WEBVTT\n\n"), text[:20]
    cue = re.compile(rf"{CUE_TIME} --> {CUE_TIME}\n([^\n]+)\n\n")
    cues, pos = [], len("WEBVTT\n\n")
    for match in cue.finditer(text, pos):
        assert match.start() == pos, f"garbage before a cue: {text[pos:match.start()]!r}"
        cues.append((seconds(match.groups()[0:4]), seconds(match.groups()[4:8]), match.group(9)))
        pos = match.end()
    assert pos == len(text), f"unparsed VTT tail: {text[pos:]!r}"
    return cues


def assert_cues_inside(cues, duration):
    assert cues
    for start, end, _ in cues:
        assert 0 <= start <= end <= duration + 1e-3, (start, end, duration)
    for (_, end, _), (start, _, _) in zip(cues, cues[1:]):
        assert end <= start


def long_speech(audio, tmp_path, seconds_at_least: float):
    return make_long_speech(audio["speech_en"], tmp_path / "long.wav", seconds_at_least)[0]


# ---- models ---------------------------------------------------------------------------------
def test_models_are_listed(client):
    models = client.models.list()
    assert [m.id for m in models.data] == list(ASR_MODELS)
    assert all(m.object == "model" and m.owned_by for m in models.data)
    assert client.models.retrieve("qwen3-asr-0.6b").id == "qwen3-asr-0.6b"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("whisper-1")


# ---- response formats -----------------------------------------------------------------------
def test_json_is_the_default(client, audio):
    result = transcribe(client, audio["speech_en"], language="en")
    assert result.text == SCRIPTED
    assert result.usage.type == "duration"
    assert result.usage.seconds == pytest.approx(duration_of(audio["speech_en"]), abs=0.01)


def test_text_format_is_a_plain_body(client, stack, audio):
    assert transcribe(client, audio["speech_en"], response_format="text") == SCRIPTED + "\n"
    with open(audio["speech_en"], "rb") as handle:
        raw = httpx.post(stack.url("/v1/audio/transcriptions"), files={"file": ("a.wav", handle)},
                         data={"model": "whisper-1", "response_format": "text"}, timeout=120)
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.text == SCRIPTED + "\n"


def test_srt_parses_with_cues_inside_the_audio(client, stack, audio):
    text = transcribe(client, audio["speech_en"], language="en", response_format="srt")
    cues = parse_srt(text)
    assert " ".join(c[2] for c in cues) == SCRIPTED
    assert_cues_inside(cues, duration_of(audio["speech_en"]))
    with open(audio["speech_en"], "rb") as handle:
        raw = httpx.post(stack.url("/v1/audio/transcriptions"), files={"file": ("a.wav", handle)},
                         data={"model": "whisper-1", "response_format": "srt", "language": "en"}, timeout=120)
    assert raw.headers["content-type"].startswith("application/x-subrip")


def test_vtt_parses_with_cues_inside_the_audio(client, stack, audio):
    text = transcribe(client, audio["speech_en"], language="en", response_format="vtt")
    cues = parse_vtt(text)
    assert " ".join(c[2] for c in cues) == SCRIPTED
    assert_cues_inside(cues, duration_of(audio["speech_en"]))
    with open(audio["speech_en"], "rb") as handle:
        raw = httpx.post(stack.url("/v1/audio/transcriptions"), files={"file": ("a.wav", handle)},
                         data={"model": "whisper-1", "response_format": "vtt"}, timeout=120)
    assert raw.headers["content-type"].startswith("text/vtt")


def test_verbose_json_defaults_to_segments(client, audio):
    result = transcribe(client, audio["speech_en"], language="en", response_format="verbose_json")
    assert result.text == SCRIPTED and result.language == "english"
    assert result.duration == pytest.approx(duration_of(audio["speech_en"]), abs=0.01)
    assert result.words is None
    assert [s.text for s in result.segments] == [SCRIPTED]


def test_verbose_json_with_word_and_segment_times(client, audio):
    duration = duration_of(audio["speech_en"])
    result = transcribe(client, audio["speech_en"], language="en", response_format="verbose_json",
                        timestamp_granularities=["word", "segment"])
    assert [w.word for w in result.words] == ["hello", "world"]
    assert all(0 <= w.start <= w.end <= duration for w in result.words)
    assert result.words[0].start <= result.words[1].start
    segment = result.segments[0]
    assert (segment.id, segment.text) == (0, SCRIPTED)
    assert segment.start == result.words[0].start and segment.end == result.words[-1].end
    # Whisper-only values: neutral constants, documented; compression_ratio is computed.
    assert (segment.seek, segment.tokens, segment.temperature) == (0, [], 0.0)
    assert (segment.avg_logprob, segment.no_speech_prob) == (0.0, 0.0)
    assert segment.compression_ratio > 0


def test_verbose_json_word_times_only(client, audio):
    result = transcribe(client, audio["speech_en"], response_format="verbose_json", timestamp_granularities=["word"])
    assert [w.word for w in result.words] == ["hello", "world"] and result.segments is None


def test_untimable_language_falls_back_to_one_segment_per_piece(client, audio):
    duration = duration_of(audio["speech_en"])
    result = transcribe(client, audio["speech_en"], language="th", response_format="verbose_json")
    assert result.language == "thai" and result.text == SCRIPTED
    assert [(s.start, s.text) for s in result.segments] == [(0.0, SCRIPTED)]
    assert result.segments[0].end == pytest.approx(duration, abs=0.01)
    cues = parse_srt(transcribe(client, audio["speech_en"], language="th", response_format="srt"))
    assert [c[2] for c in cues] == [SCRIPTED] and cues[0][1] == pytest.approx(duration, abs=0.01)


def test_word_times_for_an_untimable_language_are_refused(client, audio):
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(client, audio["speech_en"], language="th", response_format="verbose_json",
                   timestamp_granularities=["word"])
    assert caught.value.code == "timestamps_unsupported_language"
    assert "ForcedAligner" in caught.value.message


# ---- languages, prompt, models, temperature --------------------------------------------------
@pytest.mark.parametrize("language,name", [
    ("en", "english"), ("zh", "chinese"), ("ja", "japanese"), ("yue", "cantonese"),
    ("zh-sichuan", "chinese"), ("Japanese", "japanese"), ("ZH", "chinese"),
])
def test_language_codes(client, audio, language, name):
    result = transcribe(client, audio["speech_en"], language=language, response_format="verbose_json")
    assert result.language == name
    assert result.text == expected_text(LARGE, name.capitalize()), "the forced language did not reach the model"


@pytest.mark.parametrize("model", [LARGE, SMALL])
def test_openai_route_gives_the_rest_routes_text(client, stack, audio, model):
    for language, name in ((None, None), ("zh", "Chinese"), ("ja", "Japanese")):
        extra = {"language": language} if language else {}
        via_openai = transcribe(client, audio["speech_en"], model=model, **extra).text
        with open(audio["speech_en"], "rb") as handle:
            via_rest = httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", handle)},
                                  data={"model": model, "language": language or "auto"}, timeout=120).json()["text"]
        assert via_openai == via_rest == expected_text(model, name)


def test_language_is_detected_when_omitted(client, audio):
    assert transcribe(client, audio["speech_ja"], response_format="verbose_json").language == "english"


def test_prompt_reaches_the_model(client, audio):
    prompt = f"Qwen3-ASR, Ray Serve, {uuid.uuid4().hex}"
    # The scripted model adds words when a context reaches it, on top of the forced language's text.
    assert transcribe(client, audio["speech_en"], language="ja", prompt=prompt).text == expected_text(
        LARGE, "Japanese", context=prompt)
    assert transcribe(client, audio["speech_en"], model=SMALL, prompt=prompt).text == expected_text(
        SMALL, context=prompt)


def test_whisper_1_and_unknown_names_use_the_default_model(client, audio):
    for name in ("whisper-1", "gpt-4o-transcribe"):
        assert transcribe(client, audio["speech_en"], model=name).text == expected_text(LARGE)


def test_temperature_is_accepted_and_checked(client, audio):
    assert transcribe(client, audio["speech_en"], temperature=0.6).text == SCRIPTED
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(client, audio["speech_en"], temperature=3)
    assert caught.value.param == "temperature"


# ---- errors ---------------------------------------------------------------------------------
def test_bad_file_raises_with_our_message(client):
    with pytest.raises(openai.BadRequestError) as caught:  # 400, as OpenAI answers a file it cannot decode
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"not audio " * 100))
    assert caught.value.status_code == 400 and caught.value.code == "not_audio"
    assert caught.value.type == "invalid_request_error" and caught.value.param == "file"
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b""))
    assert caught.value.code == "empty_file"


def test_silence_is_unprocessable(client, audio):
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        transcribe(client, audio["silence"])
    assert caught.value.code == "silent_audio"


def test_bad_language_raises_bad_request_with_our_message(client, audio):
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(client, audio["speech_en"], language="klingon")
    assert caught.value.code == "unsupported_language" and caught.value.param == "language"
    assert "Unknown language 'klingon'" in str(caught.value)


def test_bad_response_format_raises_bad_request(client, audio):
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(client, audio["speech_en"], response_format="docx")
    assert caught.value.code == "invalid_response_format" and caught.value.param == "response_format"
    assert "verbose_json" in caught.value.message


def test_long_prompt_names_the_prompt_field(client, audio):
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(client, audio["speech_en"], prompt="x" * 2001)
    assert caught.value.code == "context_too_long" and caught.value.param == "prompt"


def test_errors_under_v1_have_openai_shape_and_rest_keeps_its_own(stack):
    big = bytes(3 * 1024 * 1024)  # the test stack's limit is 2 MB
    response = httpx.post(stack.url("/v1/audio/transcriptions"), files={"file": ("big.wav", big)}, timeout=60)
    assert response.status_code == 413
    assert set(response.json()["error"]) == {"message", "type", "param", "code", "request_id"}
    assert response.json()["error"]["code"] == "file_too_large"
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
    missing = httpx.post(stack.url("/v1/audio/transcriptions"), data={"model": "whisper-1"}, timeout=60)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_file"
    assert missing.json()["error"]["type"] == "invalid_request_error"
    unknown = httpx.get(stack.url("/v1/nope"), timeout=60)
    assert unknown.status_code == 404
    assert set(unknown.json()["error"]) == {"message", "type", "param", "code", "request_id"}
    rest = httpx.post(stack.url("/api/transcribe"), files={"file": ("big.wav", big)}, timeout=60)
    assert rest.json() == {"error": {"code": "file_too_large", "status": 413, "request_id": rest.headers["x-request-id"],
                                     "message": rest.json()["error"]["message"]}}
    assert httpx.get(stack.url("/api/nope"), timeout=60).json()["error"]["status"] == 404


def test_stream_is_refused_for_timed_formats(client, audio):
    with pytest.raises(openai.BadRequestError) as caught:
        with open(audio["speech_en"], "rb") as handle:
            client.audio.transcriptions.create(file=("a.wav", handle), model="whisper-1", stream=True,
                                               response_format="srt")
    assert caught.value.param == "stream"


# ---- streaming ------------------------------------------------------------------------------
def test_stream_yields_deltas_then_done(client, audio):
    with open(audio["speech_en"], "rb") as handle:
        events = list(client.audio.transcriptions.create(file=("a.wav", handle), model="whisper-1", stream=True))
    assert [e.type for e in events] == ["transcript.text.delta", "transcript.text.done"]
    assert events[0].delta == SCRIPTED and events[-1].text == SCRIPTED


def test_stream_errors_before_the_first_piece_keep_their_status(client, audio):
    with pytest.raises(openai.BadRequestError):
        with open(audio["speech_en"], "rb") as handle:
            client.audio.transcriptions.create(file=("a.wav", handle), model="whisper-1", stream=True,
                                               language="klingon")


def test_long_file_streams_one_delta_per_piece(stack, audio, tmp_path):
    piece_seconds = stack.config["applications"][1]["args"].get("asr_piece_seconds", 1200)
    assert piece_seconds <= 20, f"the lifecycle app must cut audio into short pieces (asr_piece_seconds={piece_seconds})"
    path = long_speech(audio, tmp_path, 2.5 * piece_seconds)
    lc = OpenAI(base_url=stack.url("/v1", LIFECYCLE_APP), api_key="x", max_retries=0, timeout=300)
    with open(path, "rb") as handle:
        events = list(lc.audio.transcriptions.create(file=("long.wav", handle), model="qwen3-asr-0.6b",
                                                     language="en", stream=True))
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    assert events[-1].type == "transcript.text.done" and len(deltas) >= 3, events
    assert "".join(deltas) == events[-1].text
    with open(path, "rb") as handle:
        rest = httpx.post(stack.url("/api/transcribe", LIFECYCLE_APP), files={"file": ("long.wav", handle)},
                          data={"model": "qwen3-asr-0.6b", "language": "en"}, timeout=300).json()
    assert events[-1].text == rest["text"]
    # subtitles of a multi-piece file: aligned piece by piece, offsets applied, still monotonic
    with open(path, "rb") as handle:
        srt = lc.audio.transcriptions.create(file=("long.wav", handle), model="qwen3-asr-0.6b", language="en",
                                             response_format="srt")
    cues = parse_srt(srt)
    assert_cues_inside(cues, duration_of(path))
    assert cues[-1][0] > piece_seconds


# ---- same text as the REST API --------------------------------------------------------------
@pytest.mark.parametrize("fixture,language,name", [("speech_en", "en", "English"), ("speech_zh", "", None),
                                                   ("en_m4a", "ja", "Japanese")])
def test_same_text_as_the_rest_api(client, stack, audio, fixture, language, name):
    with open(audio[fixture], "rb") as handle:
        rest = httpx.post(stack.url("/api/transcribe"), files={"file": (audio[fixture].name, handle)},
                          data={"language": language or "auto"}, timeout=120).json()
    assert transcribe(client, audio[fixture], language=language).text == rest["text"] == expected_text(LARGE, name)


# ---- streaming helper (no stack) ------------------------------------------------------------
async def _pieces(*texts, fail_after: int | None = None):
    for index, text in enumerate(texts):
        if fail_after is not None and index == fail_after:
            raise ApiError(503, "overloaded", "The service is busy; retry shortly.")
        yield PieceText(index, index * 10.0, 10.0, text, "English"), None


async def _events(*texts, fail_after=None):
    import json

    from serve_app.services.openai_transcription import stream_events

    rest = _pieces(*texts, fail_after=fail_after)
    first = await anext(rest)
    return [json.loads(chunk.decode()[len("data: "):]) async for chunk in stream_events(first, rest)]


async def test_stream_deltas_join_pieces_like_the_transcript():
    events = await _events("hello world", "", "again.")
    assert events == [{"type": "transcript.text.delta", "delta": "hello world"},
                      {"type": "transcript.text.delta", "delta": " again."},
                      {"type": "transcript.text.done", "text": "hello world again."}]
    cjk = await _events("你好", "世界")
    assert [e.get("delta") for e in cjk[:2]] == ["你好", "世界"] and cjk[-1]["text"] == "你好世界"


async def test_a_failure_after_the_first_piece_becomes_an_error_event():
    events = await _events("one", "two", fail_after=1)
    assert events[0] == {"type": "transcript.text.delta", "delta": "one"}
    assert events[1]["error"]["code"] == "overloaded" and events[1]["error"]["type"] == "server_error"


# ---- API key (a small app: the stack runs without one) ----------------------------------------
@pytest.fixture(scope="module")
def keyed_server():
    import uvicorn
    from fastapi import FastAPI

    from serve_app.errors import install_error_handlers
    from serve_app.routes import openai_compat
    from serve_app.settings import Settings

    app = FastAPI()
    app.state.settings = Settings(api_key="s3cret")
    install_error_handlers(app)
    app.include_router(openai_compat.router)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(10)


def test_api_key_is_read_from_the_sdks_bearer_header(keyed_server):
    with pytest.raises(openai.AuthenticationError) as caught:
        OpenAI(base_url=keyed_server, api_key="wrong", max_retries=0).models.list()
    assert caught.value.code == "unauthorized" and "API key" in caught.value.message
    assert [m.id for m in OpenAI(base_url=keyed_server, api_key="s3cret", max_retries=0).models.list().data] == list(
        ASR_MODELS)
