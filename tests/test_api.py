"""The REST API of the brief, against the real stack over HTTP (tiny scripted checkpoints)."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest

from tests.audio_fixtures import load_16k, voiced_region
from tests.stack import expected_text

LARGE, SMALL = "qwen3-asr-1.7b", "qwen3-asr-0.6b"
SCRIPTED = expected_text(LARGE)  # the default model's sentence


def post_audio(stack, path, timeout=120, **form):
    with open(path, "rb") as handle:
        return httpx.post(stack.url("/api/transcribe"), files={"file": (path.name, handle)},
                          data={k: str(v) for k, v in form.items()}, timeout=timeout)


def assert_error(response, status, code=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    assert body["error"]["status"] == status
    if code:
        assert body["error"]["code"] == code, body


def test_health_reports_models_and_gpu(stack):
    response = httpx.get(stack.url("/health"), timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["version"]
    assert set(body["models"]) == {"qwen3-asr-1.7b", "qwen3-asr-0.6b", "qwen3-forced-aligner-0.6b"}
    assert body["model_loaded"] == any(m["state"] == "loaded" for m in body["models"].values())
    assert body["gpu"]["available"] is False and body["gpu"]["reason"]
    assert set(body["queue"]) == {"in_flight", "waiting"}


def test_health_model_loaded_follows_a_transcription(stack, audio):
    assert post_audio(stack, audio["speech_en"], model=LARGE).status_code == 200
    body = httpx.get(stack.url("/health"), timeout=30).json()
    assert body["model_loaded"] is True
    assert body["models"][LARGE] == {"state": "loaded", "replicas": 1}


def test_status_is_complete(stack):
    body = httpx.get(stack.url("/api/status"), timeout=30).json()
    assert {"version", "gpu", "models", "queue", "config", "languages"} <= set(body)
    model = body["models"]["qwen3-asr-0.6b"]
    assert {"state", "replicas", "load_seconds", "idle_seconds", "unload_in_seconds", "dtype", "device"} <= set(model)
    assert model["state"] in ("not_loaded", "loading", "loaded", "releasing")
    assert body["config"]["idle_timeout_s"] == 600
    # the UI's context box and its pre-upload checks read these limits from here
    assert body["config"]["max_context_chars"] == 2000 and body["config"]["min_audio_seconds"] == 0.1
    assert body["config"]["release_other_on_switch"] is False  # the test stack keeps both models warm
    assert len(body["languages"]) == 53


def test_transcribe_speech_returns_scripted_text_and_timing(stack, audio):
    response = post_audio(stack, audio["speech_en"], language="en")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == SCRIPTED
    assert body["language"] == "English"
    assert body["timestamps"] is None
    assert body["duration_seconds"] > 1
    assert body["rtf"] == pytest.approx(body["process_time_seconds"] / body["duration_seconds"], rel=0.01, abs=1e-3)
    for header in ("X-Time-Load", "X-Time-Process", "X-Time-Total"):
        assert float(response.headers[header]) >= 0


def test_auto_language_reports_detected_language(stack, audio):
    body = post_audio(stack, audio["speech_en"]).json()
    assert body["language"] == "English" and body["text"] == SCRIPTED


@pytest.mark.parametrize("code,name", [("en", "English"), ("zh", "Chinese"), ("ja", "Japanese")])
@pytest.mark.parametrize("model", [LARGE, SMALL])
def test_forced_languages_reach_the_model(stack, audio, code, name, model):
    body = post_audio(stack, audio[f"speech_{code}"], language=code, model=model).json()
    assert body["language"] == name
    assert body["text"] == expected_text(model, name), "the forced language did not reach the model"


def test_context_reaches_the_model(stack, audio):
    plain = post_audio(stack, audio["speech_en"], language="en").json()
    biased = post_audio(stack, audio["speech_en"], language="en", context="Qwen3-ASR, Ray Serve").json()
    assert plain["text"] == expected_text(LARGE, "English")
    assert biased["text"] == expected_text(LARGE, "English", context="Qwen3-ASR, Ray Serve")
    forced = post_audio(stack, audio["speech_zh"], language="zh", model=SMALL, context="阿里巴巴").json()
    assert forced["text"] == expected_text(SMALL, "Chinese", context="阿里巴巴")


def test_language_names_are_accepted_case_insensitively(stack, audio):
    assert post_audio(stack, audio["speech_en"], language="JAPANESE").json()["language"] == "Japanese"


def test_dialect_is_sent_as_its_base_language(stack, audio):
    assert post_audio(stack, audio["speech_zh"], language="zh-sichuan").json()["language"] == "Chinese"


def test_timestamps_from_the_aligner_lie_over_the_speech(stack, audio):
    body = post_audio(stack, audio["speech_en_padded"], language="en", return_timestamps="true").json()
    words = body["timestamps"]
    assert [w["text"] for w in words] == SCRIPTED.split()
    speech_from, speech_to = voiced_region(load_16k(audio["speech_en_padded"]))
    assert speech_from > 0.9  # the fixture has a second of silence before the speech
    for word in words:
        assert speech_from - 0.2 <= word["start"] < word["end"] <= speech_to + 0.2, (word, speech_from, speech_to)
    assert words[0]["end"] <= words[1]["start"]


def test_timestamps_move_with_the_speech(stack, audio):
    """A second more of silence in front moves every word a second later: the times come from the audio."""
    early = post_audio(stack, audio["speech_en"], language="en", return_timestamps="true").json()["timestamps"]
    late = post_audio(stack, audio["speech_en_padded"], language="en", return_timestamps="true").json()["timestamps"]
    assert [w["text"] for w in early] == [w["text"] for w in late]
    for before, after in zip(early, late):
        assert after["start"] - before["start"] == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("model", ["qwen3-asr-1.7b", "qwen3-asr-0.6b"])
def test_both_models(stack, audio, model):
    body = post_audio(stack, audio["speech_en"], model=model).json()
    assert body["model"] == model
    assert body["text"] == expected_text(model), "the request was served by the other model's replica"


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "ogg", "opus", "m4a", "webm"])
def test_every_format_transcribes(stack, audio, ext):
    response = post_audio(stack, audio[f"en_{ext}"], language="en")
    assert response.status_code == 200, response.text
    assert response.json()["text"] == SCRIPTED


def test_no_file(stack):
    response = httpx.post(stack.url("/api/transcribe"), data={"language": "en"}, timeout=30)
    assert_error(response, 400, "missing_file")


def test_empty_file(stack):
    response = httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", b"")}, timeout=30)
    assert_error(response, 400, "empty_file")


def test_text_file_named_wav_is_unsupported_media(stack):
    response = httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", b"not audio " * 100)}, timeout=30)
    assert_error(response, 415, "not_audio")


def test_png_is_unsupported_media(stack):
    response = httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", b"\x89PNG\r\n\x1a\n" + bytes(500))},
                          timeout=30)
    assert_error(response, 415, "not_audio")


def test_corrupt_audio(stack, audio):
    truncated = audio["speech_en"].read_bytes()[:44] + b"\x00"
    response = httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", truncated)}, timeout=30)
    assert response.status_code in (415, 422)
    assert response.json()["error"]["code"] in ("corrupt_audio", "audio_too_short", "not_audio")


def test_silence_and_too_short_audio(stack, audio):
    assert_error(post_audio(stack, audio["silence"]), 422, "silent_audio")
    assert_error(post_audio(stack, audio["tiny_clip"]), 422, "audio_too_short")


def test_oversized_upload_is_413_by_content_length(stack):
    big = bytes(3 * 1024 * 1024)  # the test stack's limit is 2 MB
    response = httpx.post(stack.url("/api/transcribe"), files={"file": ("big.wav", big)}, timeout=30)
    assert_error(response, 413, "file_too_large")


def test_oversized_chunked_upload_is_413_while_streaming(stack):
    def body():
        boundary = b"--xyz\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
        for _ in range(48):
            yield bytes(64 * 1024)
        yield b"\r\n--xyz--\r\n"

    response = httpx.post(stack.url("/api/transcribe"), content=body(), timeout=30,
                          headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert_error(response, 413, "file_too_large")


@pytest.mark.parametrize("field,value,code", [
    ("language", "klingon", "unsupported_language"),
    ("model", "whisper-large", "unknown_model"),
    ("dtype", "int8", "invalid_dtype"),
    ("context", "x" * 2001, "context_too_long"),
])
def test_bad_parameters_are_400(stack, audio, field, value, code):
    response = post_audio(stack, audio["speech_en"], **{field: value})
    assert_error(response, 400, code)
    assert response.json()["error"]["param"] == field


def test_timestamps_for_a_language_the_aligner_cannot_time(stack, audio):
    response = post_audio(stack, audio["speech_en"], language="th", return_timestamps="true")
    assert_error(response, 400, "timestamps_unsupported_language")


def test_languages_endpoint(stack):
    body = httpx.get(stack.url("/api/languages"), timeout=30).json()
    assert body["count"] == 52 and len(body["languages"]) == 53
    assert body["languages"][0]["code"] == "auto"
    groups = {entry["group"] for entry in body["languages"][1:]}
    assert groups == {"common", "dialect", "other"}


def test_docs_and_openapi(stack):
    docs = httpx.get(stack.url("/docs"), timeout=30)
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "swagger-ui" in docs.text.lower() and "/openapi.json" in docs.text
    spec = httpx.get(stack.url("/openapi.json"), timeout=30).json()
    for path in ("/health", "/api/status", "/api/transcribe", "/api/languages", "/api/gpu-offload"):
        assert path in spec["paths"]
    assert "413" in spec["paths"]["/api/transcribe"]["post"]["responses"]


def test_sixteen_concurrent_requests_complete(stack, audio):
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda _: post_audio(stack, audio["speech_en"], language="en"), range(16)))
    assert [r.status_code for r in responses] == [200] * 16
    assert {r.json()["text"] for r in responses} == {SCRIPTED}


def test_health_answers_during_transcriptions(stack, audio):
    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        work = [pool.submit(post_audio, stack, audio["speech_en"]) for _ in range(8)]
        health = pool.submit(lambda: httpx.get(stack.url("/health"), timeout=30))
        assert health.result().status_code == 200
        assert all(w.result().status_code == 200 for w in work)


def test_cors_on_simple_and_preflight_requests(stack):
    origin = {"Origin": "http://example.test"}
    response = httpx.get(stack.url("/api/languages"), headers=origin, timeout=30)
    assert response.headers["access-control-allow-origin"] in ("*", "http://example.test")
    preflight = httpx.options(stack.url("/api/transcribe"), timeout=30, headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


def test_unknown_route_is_json_404(stack):
    assert_error(httpx.get(stack.url("/api/nope"), timeout=30), 404)


def test_ui_is_served(stack):
    response = httpx.get(stack.url("/"), timeout=30)
    assert response.status_code == 200 and "<html" in response.text.lower()
