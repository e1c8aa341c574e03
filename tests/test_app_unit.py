"""The FastAPI app without Serve: upload limit, API key, error shape, request validation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serve_app.app import create_app
from serve_app.services.composition import build_services
from serve_app.settings import Settings


def client(**settings) -> TestClient:
    services = build_services(Settings(**settings), None, None, None, None)
    return TestClient(create_app(services))


def test_content_length_over_the_limit_is_refused_before_reading():
    response = client(max_upload_mb=1).post("/api/transcribe", files={"file": ("a.wav", bytes(2 * 1024 * 1024))})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


def test_streamed_body_over_the_limit_is_cut_off():
    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        for _ in range(40):
            yield bytes(64 * 1024)
        yield b"\r\n--b--\r\n"

    response = client(max_upload_mb=1).post("/api/transcribe", content=chunks(),
                                            headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413


@pytest.mark.parametrize("headers,status", [
    ({}, 401), ({"Authorization": "Bearer wrong"}, 401),
    ({"Authorization": "Bearer s3cret"}, 200), ({"X-API-Key": "s3cret"}, 200),
])
def test_api_key_guards_the_api(headers, status):
    response = client(api_key="s3cret").get("/api/languages", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.json()["error"]["code"] == "unauthorized"


def test_api_key_guards_release_and_transcribe():
    app = client(api_key="s3cret")
    assert app.post("/api/gpu-offload").status_code == 401
    assert app.post("/api/transcribe", files={"file": ("a.wav", b"x")}).status_code == 401


def test_ui_docs_stay_open_with_a_key():
    app = client(api_key="s3cret")
    assert app.get("/docs").status_code == 200
    assert app.get("/openapi.json").status_code == 200


def test_unknown_path_and_wrong_method_use_the_error_shape():
    app = client()
    missing = app.get("/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = app.get("/api/transcribe")
    assert wrong.status_code == 405 and wrong.json()["error"]["status"] == 405


def test_form_field_of_the_wrong_type_is_400():
    response = client().post("/api/transcribe", data={"return_timestamps": "maybe"}, files={"file": ("a.wav", b"x")})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "return_timestamps"


def test_cors_origins_are_configurable():
    app = client(cors_origins="https://asr.example")
    allowed = app.get("/api/languages", headers={"Origin": "https://asr.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://asr.example"
    denied = app.get("/api/languages", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in denied.headers


def test_the_real_app_names_the_request_in_its_errors():
    # create_app's own middleware order: the 413 of the upload limit, the 401 of the key check
    # and a route's 400 all carry the request's id.
    app = client(max_upload_mb=1, api_key="s3cret")
    too_big = app.post("/api/transcribe", files={"file": ("a.wav", bytes(2 * 1024 * 1024))},
                       headers={"X-Request-Id": "r-413", "X-API-Key": "s3cret"})
    no_key = app.get("/api/status", headers={"X-Request-Id": "r-401"})
    bad_form = app.post("/api/transcribe", files={"file": ("a.wav", b"RIFF")}, data={"model": "gpt-5"},
                        headers={"X-Request-Id": "r-400", "X-API-Key": "s3cret"})
    assert [(r.status_code, r.json()["error"]["request_id"]) for r in (too_big, no_key, bad_form)] == [
        (413, "r-413"), (401, "r-401"), (400, "r-400")]
