"""Bounded echoes and one file per upload: REST and /v1 without Serve (the FastAPI app alone)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serve_app.app import create_app
from serve_app.errors import (
    ECHO_MAX_CHARS,
    MESSAGE_MAX_CHARS,
    ApiError,
    cap_message,
    echo,
    error_body,
)
from serve_app.services.composition import build_services
from serve_app.settings import Settings

MEGA = 1_000_000


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(build_services(Settings(), None, None, None, None)))


def message_of(response) -> str:
    return response.json()["error"]["message"]


# ---------------------------------------------------------------------- the helper
def test_echo_reads_like_repr_for_normal_values_and_is_cut_for_long_ones():
    assert echo("whisper") == "'whisper'"
    assert echo(None) == "None" and echo(5) == "5"
    long = echo("a" * MEGA)
    assert long.startswith("'" + "a" * ECHO_MAX_CHARS + "'…") and f"({MEGA} characters)" in long
    assert len(long) < ECHO_MAX_CHARS + 40
    assert len(echo(list(range(MEGA)))) <= ECHO_MAX_CHARS + 1


def test_every_error_message_is_capped():
    assert cap_message("x" * 10) == "x" * 10
    assert len(cap_message("x" * MEGA)) == MESSAGE_MAX_CHARS
    assert len(ApiError(400, "c", "y" * MEGA).message) == MESSAGE_MAX_CHARS
    assert len(error_body(400, "c", "z" * MEGA)["error"]["message"]) == MESSAGE_MAX_CHARS


# ---------------------------------------------------------------------- echoes over HTTP
@pytest.mark.parametrize("path", ["/api/transcribe", "/v1/audio/transcriptions"])
@pytest.mark.parametrize("field", ["model", "language"])
def test_form_values_are_not_echoed_whole(client, path, field):
    response = client.post(path, data={field: "q" * MEGA}, files={"file": ("a.wav", b"RIFF")})
    assert 400 <= response.status_code < 500  # /v1 maps unknown model names to the default: then the file fails
    assert len(message_of(response)) <= MESSAGE_MAX_CHARS
    assert len(response.content) < 4 * MESSAGE_MAX_CHARS


@pytest.mark.parametrize("data", [
    {"response_format": "r" * MEGA},
    {"timestamp_granularities[]": "g" * MEGA, "response_format": "verbose_json"},
    {"stream": "true", "response_format": "verbose_json" + "v" * MEGA},
])
def test_openai_parameters_are_echoed_short(client, data):
    response = client.post("/v1/audio/transcriptions", data=data, files={"file": ("a.wav", b"RIFF")})
    assert response.status_code == 400
    message = message_of(response)
    assert len(message) <= ECHO_MAX_CHARS + 200 and "characters)" in message, message


def test_openai_strict_model_and_model_lookup_are_echoed_short():
    strict = TestClient(create_app(build_services(Settings(openai_strict_models=True), None, None, None, None)))
    response = strict.post("/v1/audio/transcriptions", data={"model": "m" * MEGA}, files={"file": ("a.wav", b"R")})
    assert response.status_code == 400 and len(message_of(response)) <= ECHO_MAX_CHARS + 200
    response = strict.get("/v1/models/" + "n" * 5000)
    assert response.status_code == 404 and len(message_of(response)) <= ECHO_MAX_CHARS + 100


# ---------------------------------------------------------------------- one file per request
@pytest.mark.parametrize("path", ["/api/transcribe", "/v1/audio/transcriptions"])
def test_a_second_file_part_is_refused(client, path):
    response = client.post(path, files=[("file", ("a.wav", b"first")), ("file", ("b.wav", b"second"))])
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "multiple_files" and body["param"] == "file"
    assert "2 times" in body["message"]


@pytest.mark.parametrize("path,status", [("/api/transcribe", 415),
                                         ("/v1/audio/transcriptions", 400)])  # OpenAI's answer: BadRequestError
def test_one_file_part_still_reaches_the_decoder(client, path, status):
    response = client.post(path, files={"file": ("a.wav", b"not audio at all")})
    assert response.status_code == status and response.json()["error"]["code"] == "not_audio"


def test_an_unknown_language_and_an_mcp_path_are_echoed_short(tmp_path):
    from serve_app.languages import UnknownLanguage, resolve_language
    from serve_app.mcp_paths import PathRefused, resolve_audio_path

    with pytest.raises(UnknownLanguage) as caught:
        resolve_language("x" * 100_000)
    assert len(str(caught.value)) < 600 and "100000 characters" in str(caught.value)
    with pytest.raises(PathRefused) as refused:
        resolve_audio_path("y" * 50_000 + ".wav", [tmp_path])
    assert len(str(refused.value)) < 800 and "50004 characters" in str(refused.value)
