"""API-key protection through the real stack: the `auth` app (tests/stack.py) has a key configured.

Every route of the app's route table is tried without a key, with wrong keys and with the right
one, so a route added later without `require_api_key` fails here unless it is listed as public on
purpose. The WebSocket, the OpenAI SDK and the MCP server (pointed at the auth app) are driven by
their real clients.
"""

from __future__ import annotations

import base64
import json
import re

import httpx
import numpy as np
import openai
import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastmcp import Client
from fastmcp.exceptions import MCPError, ToolError
from openai import OpenAI
from starlette.routing import Mount, Route
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from deployments.protocol import ALIGNER, ASR_MODELS
from serve_app.app import create_app
from serve_app.audio import decode_file
from serve_app.services.composition import build_services
from serve_app.settings import Settings
from tests.stack import AUTH_APP, AUTH_KEY
from tests.test_mcp import McpProcess, mcp_env

SCRIPTED = "hello world"
WRONG_KEY = "not-the-key"
STREAM_PATH = "/api/transcribe/stream"
REALTIME_PATH = "/v1/realtime"

# Routes that answer without a key, on purpose: what each one gives away is checked below.
PUBLIC = {
    ("GET", "/"),                         # the UI page: it must load to ask for the key
    ("GET", "/health"),                   # liveness for load balancers and Docker
    ("GET", "/docs"),                     # Swagger UI (the brief: "/docs reachable")
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),             # the schema /docs renders
    ("GET", STREAM_PATH),                 # plain HTTP on the WebSocket path: 426 and how to connect
    ("GET", REALTIME_PATH),               # the same for the Realtime socket
}
PUBLIC_MOUNTS = {"/ui", "/docs-assets"}   # static assets of the UI and of /docs (Swagger UI, ReDoc)

# A request per protected route that passes validation once the key is accepted, and the
# status it then gets. Cheap on purpose: no model is loaded by these.
WITH_KEY = {
    ("GET", "/api/status"): ({}, 200),
    ("GET", "/api/languages"): ({}, 200),
    ("POST", "/api/gpu-offload"): ({"json": {"models": [ALIGNER], "wait": True}}, 200),  # never loaded here
    ("POST", "/api/transcribe"): ({"data": {"language": "en"}}, 400),          # no file: missing_file
    ("POST", "/api/subtitles"): ({"json": {"text": "a", "timestamps": [{"text": "a", "start": 0, "end": 1}],
                                  "format": "srt"}}, 200),
    ("POST", "/v1/audio/transcriptions"): ({"data": {"model": "whisper-1"}}, 400),
    ("GET", "/v1/models"): ({}, 200),
    ("GET", "/v1/models/{model_id}"): ({}, 200),
    ("GET", "/api/samples"): ({}, 200),
    ("GET", "/api/samples/{sample_id}.wav"): ({}, 404),  # no such clip: the key was accepted all the same
}
PATH_PARAMS = {"model_id": ASR_MODELS[1]}


def route_table() -> tuple[set[tuple[str, str]], set[str], set[str]]:
    """(method, path) of every HTTP route, the WebSocket paths and the mounts of the real app."""
    app = create_app(build_services(Settings(api_key=AUTH_KEY), None, None, None, None))
    http, sockets, mounts = set(), set(), set()
    for context in iter_route_contexts(app.routes):  # routes of included routers too, with their prefix
        route = context.original_route
        if isinstance(route, APIWebSocketRoute):
            sockets.add(context.path)
        elif isinstance(route, (APIRoute, Route)):
            http.update((method, context.path) for method in route.methods - {"HEAD"})
        elif isinstance(route, Mount):
            mounts.add(context.path)
        else:
            raise AssertionError(f"unclassified route {route!r}")
    return http, sockets, mounts


HTTP_ROUTES, SOCKET_ROUTES, MOUNTS = route_table()
PROTECTED = sorted(HTTP_ROUTES - PUBLIC)


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_PARAMS.get(m.group(1), "x"), path)


def call(stack, method: str, path: str, headers: dict | None = None, **kwargs) -> httpx.Response:
    return httpx.request(method, stack.url(concrete(path), AUTH_APP), headers=headers or {}, timeout=120,
                         **kwargs)


def assert_unauthorized(response: httpx.Response, path: str) -> None:
    assert response.status_code == 401, (path, response.status_code, response.text[:300])
    assert response.headers["www-authenticate"].lower().startswith("bearer"), path
    error = response.json()["error"]
    if path.startswith("/v1"):  # OpenAI's shape, so the SDK raises AuthenticationError
        assert error["type"] == "authentication_error" and error["code"] == "unauthorized", error
        assert error["message"] and "param" in error
    else:
        assert error == {"code": "unauthorized", "status": 401, "message": error["message"],
                         "request_id": response.headers["x-request-id"]}, error
        assert "api key" in error["message"].lower()


def speech_pcm(audio) -> bytes:
    samples = decode_file(audio["speech_en"]).samples
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def ws_url(stack, query: str = "") -> str:
    return stack.ws_url(STREAM_PATH, AUTH_APP) + query


# --- the route table ---------------------------------------------------------------------------


def test_route_table_is_what_this_file_knows():
    """A new route must be classified here: public on purpose, or protected with a request above."""
    assert PUBLIC <= HTTP_ROUTES, PUBLIC - HTTP_ROUTES
    assert set(PROTECTED) == set(WITH_KEY), (
        f"routes to classify: {sorted(set(PROTECTED) ^ set(WITH_KEY))}")
    assert SOCKET_ROUTES == {STREAM_PATH, REALTIME_PATH}
    assert MOUNTS == PUBLIC_MOUNTS


def test_deployed_schema_lists_the_same_routes(stack):
    spec = call(stack, "GET", "/openapi.json").json()
    deployed = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    schema_routes = {r for r in HTTP_ROUTES if r[1] not in ("/", "/docs", "/docs/oauth2-redirect", "/redoc",
                                                            "/openapi.json")}
    assert deployed == schema_routes


# --- HTTP: refused without the right key, accepted with it ------------------------------------


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": f"Bearer {WRONG_KEY}"},
    {"X-API-Key": WRONG_KEY},
    {"Authorization": f"Basic {AUTH_KEY}"},            # the key, but not as a Bearer token
    {"Authorization": f"Bearer {AUTH_KEY}x"},          # a longer key is not the key
    {"Authorization": f"Bearer {AUTH_KEY[:-1]}"},      # nor a prefix of it
    {"X-API-Key": ""},
], ids=["none", "bearer-wrong", "x-api-key-wrong", "basic", "longer", "prefix", "empty"])
def test_protected_route_refuses(stack, method, path, headers):
    kwargs = WITH_KEY.get((method, path), ({}, None))[0]
    assert_unauthorized(call(stack, method, path, headers, **kwargs), path)


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {AUTH_KEY}"}, {"X-API-Key": AUTH_KEY},
                                     {"Authorization": f"bearer {AUTH_KEY}"}],
                         ids=["bearer", "x-api-key", "bearer-lowercase"])
def test_protected_route_accepts_the_key(stack, method, path, headers):
    kwargs, expected = WITH_KEY[(method, path)]
    response = call(stack, method, path, headers, **kwargs)
    assert response.status_code == expected, (path, response.text[:300])


def test_wrong_bearer_is_not_rescued_by_a_right_x_api_key(stack):
    """Bearer wins when both are sent: a wrong Bearer token is refused whatever else comes along."""
    headers = {"Authorization": f"Bearer {WRONG_KEY}", "X-API-Key": AUTH_KEY}
    assert_unauthorized(call(stack, "GET", "/api/status", headers), "/api/status")


def test_accepted_answers_carry_real_data(stack):
    key = {"X-API-Key": AUTH_KEY}
    languages = call(stack, "GET", "/api/languages", key).json()
    assert languages["count"] == 52 and languages["languages"][0]["code"] == "auto"
    status = call(stack, "GET", "/api/status", key).json()
    assert set(ASR_MODELS) <= set(status["models"]) and status["config"]["api_key_required"] is True
    missing = call(stack, "POST", "/api/transcribe", key, data={"language": "en"}).json()
    assert missing["error"]["code"] == "missing_file"


def test_transcription_through_the_auth_app(stack, audio):
    """One real transcription with the key (cold-starts the auth app's 1.7B replica)."""
    with open(audio["speech_en"], "rb") as handle:
        response = call(stack, "POST", "/api/transcribe", {"Authorization": f"Bearer {AUTH_KEY}"},
                        files={"file": ("speech.wav", handle)}, data={"language": "en"})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == SCRIPTED
    assert float(response.headers["X-Time-Total"]) > 0


def test_an_upload_without_the_key_is_refused_before_it_reaches_a_model(stack, audio):
    before = call(stack, "GET", "/api/status", {"X-API-Key": AUTH_KEY}).json()["queue"]
    with open(audio["speech_en"], "rb") as handle:
        response = call(stack, "POST", "/api/transcribe", {}, files={"file": ("speech.wav", handle)})
    assert_unauthorized(response, "/api/transcribe")
    after = call(stack, "GET", "/api/status", {"X-API-Key": AUTH_KEY}).json()["queue"]
    assert after == before


# --- what stays public -------------------------------------------------------------------------


def test_health_is_public_and_reports_no_configuration(stack):
    response = call(stack, "GET", "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and set(ASR_MODELS) <= set(body["models"]) and "model_loaded" in body
    text = response.text
    assert AUTH_KEY not in text
    assert "config" not in body, "the configuration belongs to /api/status, behind the key"


def test_ui_page_and_assets_are_public(stack):
    page = call(stack, "GET", "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="opt-apikey"' in page.text  # where a user types the key
    script = call(stack, "GET", "/ui/js/api.js")
    assert script.status_code == 200 and "Authorization" in script.text


def test_docs_and_schema_are_public_but_hold_no_secret(stack):
    docs = call(stack, "GET", "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = call(stack, "GET", "/openapi.json")
    assert spec.status_code == 200
    assert AUTH_KEY not in spec.text
    # the schema documents the 401 of the protected routes
    paths = spec.json()["paths"]
    assert "401" in paths["/api/status"]["get"]["responses"]
    assert "401" in paths["/v1/audio/transcriptions"]["post"]["responses"]


def test_plain_http_on_the_stream_path_is_426_without_a_key(stack):
    response = call(stack, "GET", STREAM_PATH)
    assert response.status_code == 426
    assert response.json()["error"]["code"] == "upgrade_required"


def test_unknown_paths_are_404_not_401(stack):
    response = call(stack, "GET", "/api/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_cors_preflight_needs_no_key(stack):
    """Browsers send preflights without credentials; the real request still needs the key."""
    response = call(stack, "OPTIONS", "/api/transcribe", {
        "Origin": "https://asr.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert response.status_code == 200
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_the_unprotected_main_app_still_answers_without_a_key(stack):
    """The key is per application: the same code without one stays open."""
    assert httpx.get(stack.url("/api/status"), timeout=60).status_code == 200


# --- WebSocket ---------------------------------------------------------------------------------


def ws_refusal(url: str, headers: dict | None = None) -> tuple[dict, int]:
    """The server accepts the handshake, sends one error, then closes: (message, close code)."""
    with connect(url, additional_headers=headers, open_timeout=30, close_timeout=5) as ws:
        message = json.loads(ws.recv(timeout=30))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    return message, closed.value.rcvd.code


@pytest.mark.parametrize("query,headers", [
    ("", None),
    (f"?api_key={WRONG_KEY}", None),
    ("", {"Authorization": f"Bearer {WRONG_KEY}"}),
    ("", {"X-API-Key": WRONG_KEY}),
    ("?api_key=", None),
], ids=["none", "query-wrong", "bearer-wrong", "x-api-key-wrong", "query-empty"])
def test_stream_refuses_a_missing_or_wrong_key(stack, query, headers):
    message, code = ws_refusal(ws_url(stack, query), headers)
    assert message["type"] == "error" and message["code"] == "unauthorized", message
    assert "api_key" in message["message"]
    assert code == 1008


def test_stream_refuses_before_reading_audio(stack, audio):
    """A client that sends start and audio without a key gets nothing but the refusal."""
    with connect(ws_url(stack), open_timeout=30, close_timeout=5) as ws:
        try:
            ws.send(json.dumps({"type": "start", "language": "en"}))
            ws.send(speech_pcm(audio)[:32000])
        except ConnectionClosed:
            pass  # the server may already have closed
        messages = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                messages.append(json.loads(ws.recv(timeout=30)))
    assert [m["type"] for m in messages] == ["error"] and messages[0]["code"] == "unauthorized"
    assert closed.value.rcvd.code == 1008


def ws_session(url: str, pcm: bytes, headers: dict | None = None) -> list[dict]:
    with connect(url, additional_headers=headers, open_timeout=30, close_timeout=10) as ws:
        ws.send(json.dumps({"type": "start", "model": "qwen3-asr-1.7b", "language": "en",
                            "sample_rate": 16000, "format": "pcm_s16le"}))
        for start in range(0, len(pcm), 16000):
            ws.send(pcm[start:start + 16000])
        ws.send(json.dumps({"type": "stop"}))
        messages = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                messages.append(json.loads(ws.recv(timeout=240)))
    assert closed.value.rcvd.code == 1000, (closed.value.rcvd, messages[-1:])
    return messages


def test_stream_accepts_the_key_in_the_query_like_the_ui(stack, audio):
    """The UI (ui/js/streaming.js) sends `?api_key=`: browsers cannot set WebSocket headers."""
    messages = ws_session(ws_url(stack, f"?api_key={AUTH_KEY}"), speech_pcm(audio))
    kinds = [m["type"] for m in messages]
    assert "error" not in kinds, messages
    assert "ready" in kinds and kinds[-1] == "final"
    assert messages[-1]["text"] == SCRIPTED


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {AUTH_KEY}"}, {"X-API-Key": AUTH_KEY}],
                         ids=["bearer", "x-api-key"])
def test_stream_accepts_the_key_as_a_header(stack, audio, headers):
    messages = ws_session(ws_url(stack), speech_pcm(audio)[:16000 * 2], headers)
    assert [m["type"] for m in messages if m["type"] in ("ready", "final", "error")] == ["ready", "final"]


# --- OpenAI SDK --------------------------------------------------------------------------------


def openai_client(stack, key: str) -> OpenAI:
    return OpenAI(base_url=stack.url("/v1", AUTH_APP), api_key=key, max_retries=0, timeout=300)


def test_openai_sdk_with_a_wrong_key_raises_authentication_error(stack, audio):
    client = openai_client(stack, WRONG_KEY)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert caught.value.status_code == 401 and caught.value.code == "unauthorized"
    with pytest.raises(openai.AuthenticationError):
        client.models.retrieve(ASR_MODELS[0])
    with pytest.raises(openai.AuthenticationError) as caught, open(audio["speech_en"], "rb") as handle:
        client.audio.transcriptions.create(file=("a.wav", handle), model="whisper-1")
    assert "api key" in caught.value.message.lower()


def test_openai_sdk_with_the_key(stack, audio):
    client = openai_client(stack, AUTH_KEY)
    assert {m.id for m in client.models.list().data} == set(ASR_MODELS)
    with open(audio["speech_en"], "rb") as handle:
        result = client.audio.transcriptions.create(file=("a.wav", handle), model="qwen3-asr-1.7b", language="en")
    assert result.text == SCRIPTED


# --- MCP server against the auth app -----------------------------------------------------------


@pytest.fixture(scope="module")
def mcp_roots(tmp_path_factory, audio):
    root = tmp_path_factory.mktemp("mcp-auth-roots")
    (root / "speech_en.wav").write_bytes(audio["speech_en"].read_bytes())
    return root


@pytest.fixture(scope="module")
def mcp_keyed(stack, mcp_roots, tmp_path_factory) -> McpProcess:
    """MCP with the service's key: it requires it from clients and sends it to the auth app."""
    server = McpProcess(stack.url("", AUTH_APP), mcp_env(mcp_roots, QWEN_ASR_API_KEY=AUTH_KEY),
                        tmp_path_factory.mktemp("mcp-auth-log") / "mcp.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp_wrong_service_key(stack, mcp_roots, tmp_path_factory) -> McpProcess:
    """MCP configured with a key the auth app does not know."""
    server = McpProcess(stack.url("", AUTH_APP), mcp_env(mcp_roots, QWEN_ASR_API_KEY=WRONG_KEY),
                        tmp_path_factory.mktemp("mcp-auth-log") / "mcp-wrong.log")
    yield server
    server.stop()


@pytest.mark.parametrize("headers", [{}, {"Authorization": f"Bearer {WRONG_KEY}"},
                                     {"X-API-Key": AUTH_KEY}],  # MCP takes Bearer only
                         ids=["none", "bearer-wrong", "x-api-key"])
def test_mcp_endpoint_refuses_without_the_bearer_key(mcp_keyed, headers):
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx.post(mcp_keyed.url, json=ping, timeout=30,
                          headers={"Accept": "application/json, text/event-stream", **headers})
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.lower().startswith("bearer")
    # fastmcp's bearer auth answers as RFC 6750 says, not in the service's error shape: no credentials
    # get a bare challenge and an empty body, a wrong token `invalid_token` (what MCP clients expect).
    if "Authorization" in headers:
        assert 'error="invalid_token"' in challenge
        assert response.json()["error"] == "invalid_token"
    else:
        assert response.content == b"" and "error=" not in challenge


async def test_mcp_client_without_the_key_cannot_call_tools(mcp_keyed):
    for auth in (None, WRONG_KEY):
        with pytest.raises((MCPError, httpx.HTTPError)):
            async with Client(mcp_keyed.url, auth=auth, timeout=30) as client:
                await client.call_tool("get_languages", {})


async def test_mcp_client_with_the_key_reaches_the_protected_service(mcp_keyed, audio):
    async with Client(mcp_keyed.url, auth=AUTH_KEY, timeout=240) as client:
        languages = (await client.call_tool("get_languages", {})).data
        status = (await client.call_tool("get_status", {})).structured_content
        by_path = await client.call_tool("transcribe", {"audio_path": "speech_en.wav", "language": "en"})
        clip = base64.b64encode(audio["speech_en"].read_bytes()).decode()
        by_b64 = await client.call_tool("transcribe", {"audio_base64": clip, "language": "en"})
    assert len(languages) == 53
    assert set(ASR_MODELS) <= set(status["models"])
    assert by_path.structured_content["text"] == SCRIPTED == by_b64.structured_content["text"]


async def test_mcp_with_a_key_the_service_refuses_explains_it(mcp_wrong_service_key):
    async with Client(mcp_wrong_service_key.url, auth=WRONG_KEY, timeout=60) as client:
        for tool in ("get_status", "get_languages", "gpu_offload"):
            with pytest.raises(ToolError) as caught:
                await client.call_tool(tool, {})
            message = str(caught.value)
            assert "[unauthorized]" in message and "QWEN_ASR_API_KEY" in message, (tool, message)
