"""`POST /api/subtitles` through the real stack (Serve proxy, ingress, tiny checkpoints) over HTTP.

The UI downloads SRT/VTT from this endpoint with the `/api/transcribe` answer it shows; the file
must be the one `/v1/audio/transcriptions` gives for the same audio (one cue builder for both).
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.audio_fixtures import long_speech
from tests.stack import AUTH_APP, AUTH_KEY, LIFECYCLE_APP, MAIN_APP

CUE = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d{3}) --> (\d\d):(\d\d):(\d\d)[,.](\d{3})")
SMALL = "qwen3-asr-0.6b"


def transcribe(stack, path, app=MAIN_APP, **form) -> dict:
    with open(path, "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe", app), files={"file": (path.name, handle)},
                              data={"return_timestamps": "true", "language": "en", **form}, timeout=300)
    assert response.status_code == 200, response.text
    return response.json()


def v1_subtitles(stack, path, fmt, app=MAIN_APP, **form) -> str:
    with open(path, "rb") as handle:
        response = httpx.post(stack.url("/v1/audio/transcriptions", app), files={"file": (path.name, handle)},
                              data={"response_format": fmt, "language": "en", **form}, timeout=300)
    assert response.status_code == 200, response.text
    return response.text


def subtitles(stack, body, app=MAIN_APP, **kwargs) -> httpx.Response:
    return httpx.post(stack.url("/api/subtitles", app), json=body, timeout=120, **kwargs)


def cue_times(text: str) -> list[tuple[float, float]]:
    def seconds(h, m, s, ms):
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    return [(seconds(*m.groups()[:4]), seconds(*m.groups()[4:])) for m in CUE.finditer(text)]


@pytest.mark.parametrize("fmt,media", [("srt", "application/x-subrip"), ("vtt", "text/vtt")])
def test_the_ui_download_is_the_v1_file_for_the_same_audio(stack, audio, fmt, media):
    answer = transcribe(stack, audio["speech_en"])
    assert answer["timestamps"], "the scripted stack times its words"
    response = subtitles(stack, {**answer, "format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{media}; charset=utf-8"
    assert response.text == v1_subtitles(stack, audio["speech_en"], fmt)
    assert " ".join(line for line in response.text.split("\n") if line and not CUE.match(line)
                    and line != "WEBVTT" and not line.isdigit()) == answer["text"]


def test_a_multi_piece_file_gives_the_same_multi_cue_file_as_v1(stack, audio, tmp_path):
    """11 s cut into 8 s pieces on the lifecycle app: several cues, offsets applied, same bytes."""
    path = long_speech(audio["speech_en"], tmp_path / "long.wav", 10)[0]
    answer = transcribe(stack, path, app=LIFECYCLE_APP, model=SMALL)
    for fmt in ("srt", "vtt"):
        response = subtitles(stack, {"text": answer["text"], "timestamps": answer["timestamps"], "format": fmt,
                                     "duration_seconds": answer["duration_seconds"]}, app=LIFECYCLE_APP)
        assert response.status_code == 200, response.text
        assert response.text == v1_subtitles(stack, path, fmt, app=LIFECYCLE_APP, model=SMALL), fmt
        times = cue_times(response.text)
        assert len(times) >= 2, response.text
        assert all(a <= b <= answer["duration_seconds"] + 1e-3 for a, b in times)
        assert all(times[i][1] <= times[i + 1][0] + 1e-3 for i in range(len(times) - 1))


def test_escaping_and_utf8_through_http(stack):
    body = {"text": "Fish & <chips> --> now. 你好。",
            "timestamps": [{"text": "Fish", "start": 0, "end": 0.3}, {"text": "chips", "start": 0.4, "end": 0.8},
                           {"text": "now", "start": 0.9, "end": 1.0}, {"text": "你", "start": 1.2, "end": 1.3},
                           {"text": "好", "start": 1.3, "end": 1.5}]}
    vtt = subtitles(stack, {**body, "format": "vtt"})
    assert vtt.content.decode("utf-8") == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nFish &amp; &lt;chips&gt; --&gt; now.\n\n"
        "00:00:01.200 --> 00:00:01.500\n你好。\n\n")
    srt = subtitles(stack, {**body, "format": "srt"})
    assert srt.content.decode("utf-8") == (
        "1\n00:00:00,000 --> 00:00:01,000\nFish & <chips> -> now.\n\n2\n00:00:01,200 --> 00:00:01,500\n你好。\n\n")


@pytest.mark.parametrize("body,code,param", [
    ({"text": "hello world", "timestamps": None, "format": "srt"}, "missing_timestamps", "timestamps"),
    ({"text": "a", "timestamps": [{"text": "a", "start": 2, "end": 1}], "format": "vtt"}, "invalid_timestamps",
     "timestamps"),
    ({"text": "a", "timestamps": [{"text": "a", "start": 0, "end": 1}], "format": "docx"}, "invalid_request", "format"),
])
def test_bad_input_is_400_in_the_service_error_shape(stack, body, code, param):
    response = subtitles(stack, body)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": {"code": code, "status": 400, "param": param,
                                         "message": response.json()["error"]["message"],
                                         "request_id": response.headers["x-request-id"]}}


def test_non_finite_numbers_are_400_not_500(stack):
    raw = '{"text":"a","timestamps":[{"text":"a","start":0,"end":NaN}],"format":"srt"}'
    response = httpx.post(stack.url("/api/subtitles"), content=raw, headers={"content-type": "application/json"},
                          timeout=60)
    assert response.status_code == 400 and response.json()["error"]["param"] == "end"


def test_a_huge_word_list_is_refused_in_the_error_shape_and_the_service_stays_up(stack):
    """200,001 words are ~6 MB of JSON: past the test stack's 2 MB body limit, so the upload limit
    refuses them (413) before anything is parsed; the 200,000-word bound itself (400) is checked
    in-process in tests/test_subtitles_unit.py, where bodies may be larger."""
    words = [{"text": "w", "start": 0, "end": 0}] * 200_001
    response = subtitles(stack, {"text": "", "timestamps": words, "format": "srt"})
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "file_too_large"
    assert httpx.get(stack.url("/health"), timeout=30).status_code == 200


def test_the_api_key_guards_it_like_the_other_api_routes(stack):
    body = {"text": "a", "timestamps": [{"text": "a", "start": 0, "end": 1}], "format": "srt"}
    refused = subtitles(stack, body, app=AUTH_APP)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert refused.headers["www-authenticate"].lower().startswith("bearer")
    for headers in ({"Authorization": f"Bearer {AUTH_KEY}"}, {"X-API-Key": AUTH_KEY}):
        allowed = subtitles(stack, body, app=AUTH_APP, headers=headers)
        assert allowed.status_code == 200 and allowed.text == "1\n00:00:00,000 --> 00:00:01,000\na\n\n"
