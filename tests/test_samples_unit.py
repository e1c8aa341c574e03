"""Built-in sample clips (GET /api/samples): synthesised on the server by espeak-ng, real WAV audio
that the service itself decodes to the clip's length; unknown ids are 404, a missing espeak-ng 503."""

from __future__ import annotations

import io
import shutil

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from serve_app.app import create_app
from serve_app.audio import decode_file
from serve_app.services import samples
from serve_app.services.composition import build_services
from serve_app.settings import Settings

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def client(**settings) -> TestClient:
    return TestClient(create_app(build_services(Settings(**settings), None, None, None, None)))


@needs_espeak
def test_the_catalogue_lists_three_languages_with_urls():
    body = client().get("/api/samples").json()
    assert body["available"] is True
    assert [s["language"] for s in body["samples"]] == ["en", "zh", "ja"]
    assert all(s["url"] == f"/api/samples/{s['id']}.wav" and s["transcript"] for s in body["samples"])


@needs_espeak
@pytest.mark.parametrize("clip", [c.id for c in samples.SAMPLES])
def test_each_clip_is_speech_the_service_decodes(clip):
    response = client().get(f"/api/samples/{clip}.wav")
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    info = sf.info(io.BytesIO(response.content))
    # the header's sizes are real (espeak-ng's pipe output says 2 GB): frames match the bytes sent
    assert info.frames * 2 + 44 <= len(response.content) <= info.frames * 2 + 200
    decoded = decode_file(io.BytesIO(response.content))
    assert 1.0 < decoded.duration < 10.0
    assert float(abs(decoded.samples).max()) > 0.05  # not silence


def test_an_unknown_clip_is_404_with_the_error_shape():
    response = client().get("/api/samples/klingon.wav")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_sample"


def test_without_espeak_the_list_is_empty_and_a_clip_is_503(monkeypatch):
    monkeypatch.setattr(samples.shutil, "which", lambda name: None)
    assert client().get("/api/samples").json() == {"available": False, "samples": []}
    response = client().get("/api/samples/english.wav")
    assert response.status_code == 503 and response.json()["error"]["code"] == "samples_unavailable"


def test_samples_need_the_api_key_when_one_is_set():
    assert client(api_key="k").get("/api/samples").status_code == 401
    assert client(api_key="k").get("/api/samples", headers={"Authorization": "Bearer k"}).status_code == 200


def test_with_real_sizes_fixes_the_placeholder_header():
    pipe = b"RIFF\xff\xff\xff\x7fWAVEfmt " + bytes(20) + b"data\xff\xff\xff\x7f" + bytes(10)
    fixed = samples.with_real_sizes(pipe)
    assert int.from_bytes(fixed[4:8], "little") == len(fixed) - 8
    assert int.from_bytes(fixed[fixed.find(b"data") + 4:][:4], "little") == 10
