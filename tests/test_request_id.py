"""X-Request-Id through the real Serve proxy: the response header, the error body and the
WebSocket error name the same request, whether the client chose the id or Serve made one."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from websockets.asyncio.client import connect

from tests.stack import AUTH_APP, MAIN_APP


def bad_model(stack, app: str = MAIN_APP, **headers) -> httpx.Response:
    return httpx.post(stack.url("/api/transcribe", app), files={"file": ("a.wav", b"RIFF0000WAVE")},
                      data={"model": "gpt-5"}, headers=headers, timeout=60)


def test_the_clients_id_comes_back_in_the_header_and_the_error(stack):
    response = bad_model(stack, **{"X-Request-Id": "client-trace-1"})
    assert response.status_code == 400
    assert response.headers["x-request-id"] == "client-trace-1"
    assert response.json()["error"]["request_id"] == "client-trace-1"


def test_without_one_the_error_names_the_id_serve_gave_the_response(stack):
    first, second = bad_model(stack), bad_model(stack)
    for response in (first, second):
        assert response.status_code == 400
        assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_a_refused_key_names_the_request_too(stack):
    response = bad_model(stack, AUTH_APP, **{"X-Request-Id": "no-key-1"})
    assert response.status_code == 401 and response.json()["error"]["request_id"] == "no-key-1"


def test_a_success_has_the_header(stack, audio):
    with open(audio["speech_en"], "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", handle)},
                              headers={"X-Request-Id": "ok-1"}, timeout=120)
    assert response.status_code == 200 and response.headers["x-request-id"] == "ok-1"


def test_the_openai_sdk_sees_the_same_id_as_the_body(stack):
    client = openai.OpenAI(base_url=stack.url("/v1"), api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-5", extra_headers={"X-Request-Id": "sdk-1"})
    assert caught.value.request_id == "sdk-1"
    body = caught.value.body
    error = body.get("error", body) if isinstance(body, dict) else {}
    assert error.get("request_id") == "sdk-1", body


async def test_a_websocket_error_names_the_upgrades_id(stack):
    async with connect(stack.ws_url("/api/transcribe/stream"), open_timeout=60,
                       additional_headers={"X-Request-Id": "ws-1"}) as ws:
        await ws.send(json.dumps({"type": "start", "model": "whisper-large"}))
        message = json.loads(await ws.recv())
    assert message["type"] == "error" and message["code"] == "unknown_model"
    assert message["request_id"] == "ws-1"
