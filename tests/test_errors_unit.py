"""serve_app/errors.py: one error shape (ours, or OpenAI's under /v1) for every failure, on a bare app."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Form
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException

from serve_app.errors import (
    ApiError,
    bad_request,
    body_for_scope,
    error_body,
    install_error_handlers,
    is_openai_path,
    openai_error_body,
)
from serve_app.openai_protocol import OpenAIErrorResponse
from serve_app.protocol import ErrorResponse


def build_app(render=None) -> FastAPI:
    app = FastAPI()
    if render is None:
        install_error_handlers(app)
    else:
        install_error_handlers(app, render=render)

    @app.get("/api/fail")
    async def api_fail():
        raise ApiError(422, "audio_too_short", "Too short.", param="file", headers={"X-Extra": "yes"})

    @app.get("/v1/fail")
    async def v1_fail():
        raise ApiError(404, "model_not_found", "No such model.", param="model")

    @app.get("/api/crash")
    async def api_crash():
        raise RuntimeError("secret path /etc/shadow in the message")

    @app.get("/v1/crash")
    async def v1_crash():
        raise KeyError("boom")

    @app.get("/api/teapot")
    async def teapot():
        raise HTTPException(418, "I am a teapot", headers={"X-Tea": "earl grey"})

    @app.post("/api/form")
    async def form(count: int = Form(...), name: str = Form("x")):
        return {"count": count, "name": name}

    @app.post("/v1/form")
    async def v1_form(count: int = Form(...)):
        return {"count": count}

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(build_app(), raise_server_exceptions=False)


# --- the bodies ------------------------------------------------------------------------------


def test_error_body_has_code_message_status_and_param_only_when_given():
    assert error_body(400, "bad", "Bad.") == {"error": {"code": "bad", "message": "Bad.", "status": 400}}
    assert error_body(400, "bad", "Bad.", "file")["error"]["param"] == "file"
    assert "param" not in error_body(400, "bad", "Bad.", "")["error"]


def test_error_body_matches_the_documented_model():
    body = error_body(415, "not_audio", "Not audio.", "file")
    assert ErrorResponse.model_validate(body).error.status == 415


@pytest.mark.parametrize("status,kind", [
    (400, "invalid_request_error"), (404, "invalid_request_error"), (413, "invalid_request_error"),
    (422, "invalid_request_error"), (401, "authentication_error"), (429, "rate_limit_error"),
    (500, "server_error"), (503, "server_error"),
])
def test_openai_error_type_follows_the_status(status, kind):
    body = openai_error_body(status, "code", "Message.", "model")
    assert body == {"error": {"message": "Message.", "type": kind, "param": "model", "code": "code"}}
    OpenAIErrorResponse.model_validate(body)


def test_openai_body_keeps_a_null_param():
    """The SDK reads `param`; it is present (null) rather than missing."""
    assert openai_error_body(400, "c", "m")["error"]["param"] is None


def test_bad_request_is_a_400_api_error():
    error = bad_request("missing_file", "No file.", "file")
    assert isinstance(error, Exception) and str(error) == "No file."
    assert (error.status, error.code, error.param, error.headers) == (400, "missing_file", "file", {})


@pytest.mark.parametrize("path,root,expected", [
    ("/v1", "", True),
    ("/v1/audio/transcriptions", "", True),
    ("/v1models", "", False),            # only the /v1 segment, not a prefix of a word
    ("/api/v1/x", "", False),
    ("/lc/v1/models", "/lc", True),      # Serve passes the app's route prefix as root_path
    ("/lc/api/status", "/lc", False),
    ("/v1/models", "/lc", True),         # a path without the root prefix is taken as it is
    ("", "", False),
])
def test_openai_paths_below_the_route_prefix(path, root, expected):
    assert is_openai_path({"path": path, "root_path": root}) is expected


def test_body_for_scope_chooses_the_shape_by_path():
    ours = body_for_scope({"path": "/api/transcribe"}, 413, "file_too_large", "Too big.")
    theirs = body_for_scope({"path": "/v1/audio/transcriptions"}, 413, "file_too_large", "Too big.")
    assert ours["error"]["status"] == 413 and "type" not in ours["error"]
    assert theirs["error"]["type"] == "invalid_request_error" and "status" not in theirs["error"]
    custom = body_for_scope({"path": "/x"}, 400, "c", "m", render=lambda *a: {"args": list(a)})
    assert custom == {"args": [400, "c", "m", None]}


# --- the handlers ------------------------------------------------------------------------------


def test_api_error_keeps_status_param_and_headers(client):
    response = client.get("/api/fail")
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "audio_too_short", "message": "Too short.", "status": 422,
                                         "param": "file"}}
    assert response.headers["x-extra"] == "yes"


def test_api_error_under_v1_has_openai_shape(client):
    response = client.get("/v1/fail")
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "No such model.", "type": "invalid_request_error",
                                         "param": "model", "code": "model_not_found"}}


def test_unexpected_exception_is_500_without_its_message(client):
    response = client.get("/api/crash")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and error["status"] == 500
    assert error["message"] == "Internal error: RuntimeError"
    assert "shadow" not in response.text


def test_unexpected_exception_under_v1_is_a_server_error(client):
    response = client.get("/v1/crash")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert response.json()["error"]["code"] == "internal_error"


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/nope", 404, "not_found"),
    ("GET", "/v1/nope", 404, "not_found"),
    ("DELETE", "/api/fail", 405, "method_not_allowed"),
])
def test_routing_errors_use_the_shape(client, method, path, status, code):
    response = client.request(method, path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    if path.startswith("/v1"):
        assert error["type"] == "invalid_request_error"
    else:
        assert error["status"] == status


def test_other_http_exceptions_keep_status_detail_and_headers(client):
    response = client.get("/api/teapot")
    assert response.status_code == 418
    assert response.json()["error"] == {"code": "http_error", "message": "I am a teapot", "status": 418}
    assert response.headers["x-tea"] == "earl grey"


def test_wrong_method_keeps_the_allow_header(client):
    response = client.post("/api/fail")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


def test_missing_form_field_is_400_naming_the_field(client):
    response = client.post("/api/form", data={"name": "y"})
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_request", "message": "Missing required field 'count'.",
                                        "status": 400, "param": "count"}


def test_wrongly_typed_form_field_is_400_with_the_reason(client):
    response = client.post("/api/form", data={"count": "many"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "count"
    assert error["message"].startswith("Invalid value for 'count':")
    assert "integer" in error["message"]


def test_validation_error_under_v1_has_openai_shape(client):
    response = client.post("/v1/form", data={})
    assert response.status_code == 400
    assert response.json()["error"] == {"message": "Missing required field 'count'.",
                                        "type": "invalid_request_error", "param": "count",
                                        "code": "invalid_request"}


def test_valid_form_passes_untouched(client):
    assert client.post("/api/form", data={"count": "3"}).json() == {"count": 3, "name": "x"}


def test_install_takes_a_default_renderer_for_non_v1_paths():
    calls = []

    def render(status, code, message, param):
        calls.append(code)
        return {"problem": code, "http": status}

    app = TestClient(build_app(render=render), raise_server_exceptions=False)
    assert app.get("/api/fail").json() == {"problem": "audio_too_short", "http": 422}
    assert app.get("/nope").json() == {"problem": "not_found", "http": 404}
    # /v1 keeps OpenAI's shape whatever the default renderer is
    assert app.get("/v1/fail").json()["error"]["type"] == "invalid_request_error"
    assert calls == ["audio_too_short", "not_found"]
