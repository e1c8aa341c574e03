"""The MCP server `qwen3-asr` over streamable HTTP (and stdio), against the real stack.

The server runs as a subprocess (`python -m serve_app.mcp_server`) pointed at the test stack's
HTTP API, with one temporary folder as its only audio root; the fastmcp `Client` talks to it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import MCPError, ToolError

from serve_app.protocol import TranscriptionResponse
from tests.stack import expected_text, free_port

ROOT = Path(__file__).resolve().parents[1]
SCRIPTED = expected_text("qwen3-asr-1.7b")  # the default model's sentence
TOOLS = {"transcribe", "get_status", "get_languages", "gpu_offload"}
MCP_MAX_UPLOAD_MB = 1  # the MCP server's own limit here; the test stack's API allows 2 MB
TOKEN = "mcp-test-token"


def mcp_env(roots: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_ASR_")}
    env.update({
        "QWEN_ASR_MCP_AUDIO_ROOTS": str(roots),
        "QWEN_ASR_MAX_UPLOAD_MB": str(MCP_MAX_UPLOAD_MB),
        "QWEN_ASR_API_KEY": "",
        "FASTMCP_SHOW_SERVER_BANNER": "false",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class McpProcess:
    def __init__(self, api_url: str, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.log = log
        self._log_handle = open(log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "serve_app.mcp_server", "--port", str(self.port), "--api-url", api_url],
            cwd=ROOT, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"MCP server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"MCP server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_handle.close()


@pytest.fixture(scope="module")
def roots(tmp_path_factory, audio) -> Path:
    base = tmp_path_factory.mktemp("mcp")
    root = base / "audio"
    (root / "sub").mkdir(parents=True)
    shutil.copy(audio["speech_en"], root / "speech_en.wav")
    shutil.copy(audio["speech_zh"], root / "sub" / "speech_zh.wav")
    shutil.copy(audio["en_mp3"], root / "speech_en.mp3")
    (root / "notes.wav").write_text("these are meeting notes, not audio\n" * 20)
    (root / "big.wav").write_bytes(audio["speech_en"].read_bytes()[:44] + bytes(int(1.5 * 1024 * 1024)))
    outside = base / "private"
    outside.mkdir()
    shutil.copy(audio["speech_en"], outside / "secret.wav")
    (root / "escape.wav").symlink_to(outside / "secret.wav")
    (root / "escape_dir").symlink_to(outside, target_is_directory=True)
    (root / "inside_link.wav").symlink_to(root / "speech_en.wav")
    return root


@pytest.fixture(scope="module")
def mcp(stack, roots, tmp_path_factory) -> McpProcess:
    server = McpProcess(stack.base_url, mcp_env(roots), tmp_path_factory.mktemp("mcp-log") / "mcp.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp_with_token(stack, roots, tmp_path_factory) -> McpProcess:
    env = mcp_env(roots, QWEN_ASR_API_KEY=TOKEN)
    server = McpProcess(stack.base_url, env, tmp_path_factory.mktemp("mcp-log") / "mcp-token.log")
    yield server
    server.stop()


async def call(mcp: McpProcess, tool: str, **args):
    async with Client(mcp.url, timeout=180) as client:
        return await client.call_tool(tool, args)


async def tool_error(mcp: McpProcess, tool: str, **args) -> str:
    with pytest.raises(ToolError) as info:
        await call(mcp, tool, **args)
    message = str(info.value)
    assert message
    return message


def http_transcribe(stack, path: Path, **form) -> httpx.Response:
    with open(path, "rb") as handle:
        return httpx.post(stack.url("/api/transcribe"), files={"file": (path.name, handle)},
                          data={k: str(v) for k, v in form.items()}, timeout=120)


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


# --- discovery -------------------------------------------------------------------------------


async def test_server_name_and_tools_with_schemas(mcp):
    async with Client(mcp.url) as client:
        assert client.server_info.name == "qwen3-asr"
        tools = {tool.name: tool for tool in await client.list_tools()}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40, tool.name
        assert tool.input_schema["type"] == "object"

    transcribe = tools["transcribe"].input_schema
    assert set(transcribe["properties"]) == {"audio_path", "language", "model", "return_timestamps",
                                             "audio_base64", "context"}
    assert transcribe.get("required", []) == []
    assert transcribe["properties"]["language"]["default"] == "auto"
    assert transcribe["properties"]["model"]["default"] == "qwen3-asr-1.7b"
    assert transcribe["properties"]["return_timestamps"]["default"] is False
    assert transcribe["properties"]["return_timestamps"]["type"] == "boolean"
    for name, prop in transcribe["properties"].items():
        assert prop.get("description"), name
    output = tools["transcribe"].output_schema
    assert set(TranscriptionResponse.model_fields) <= set(output["properties"])

    assert tools["get_status"].input_schema["properties"] == {}
    assert tools["get_languages"].input_schema["properties"] == {}
    assert tools["get_languages"].output_schema["properties"]["result"]["type"] == "array"
    models = tools["gpu_offload"].input_schema["properties"]["models"]
    assert models["default"] is None and {"type": "array", "items": {"type": "string"}} in models["anyOf"]


async def test_get_languages_matches_the_api(stack, mcp):
    result = await call(mcp, "get_languages")
    languages = result.data
    assert isinstance(languages, list) and len(languages) == 53
    assert languages[0]["code"] == "auto"
    assert languages == httpx.get(stack.url("/api/languages"), timeout=30).json()["languages"]


async def test_get_status_matches_the_api(stack, mcp):
    status = (await call(mcp, "get_status")).data
    expected = httpx.get(stack.url("/api/status"), timeout=30).json()
    assert {"version", "gpu", "models", "queue", "config", "languages"} <= set(status)
    assert set(status) == set(expected)
    assert set(status["models"]) == {"qwen3-asr-1.7b", "qwen3-asr-0.6b", "qwen3-forced-aligner-0.6b"}
    assert status["config"] == expected["config"]
    assert len(status["languages"]) == 53


# --- transcription ---------------------------------------------------------------------------


async def test_transcribe_by_relative_path(mcp):
    result = await call(mcp, "transcribe", audio_path="speech_en.wav", language="en")
    body = result.structured_content
    assert set(body) == set(TranscriptionResponse.model_fields)
    assert body["text"] == SCRIPTED and body["language"] == "English"
    assert body["model"] == "qwen3-asr-1.7b" and body["timestamps"] is None
    assert body["duration_seconds"] > 1 and body["process_time_seconds"] >= 0 and body["rtf"] >= 0
    assert result.data.text == SCRIPTED


@pytest.mark.parametrize("name", ["sub/speech_zh.wav", "speech_en.mp3", "inside_link.wav", "./speech_en.wav"])
async def test_transcribe_other_paths_inside_the_root(mcp, name):
    body = (await call(mcp, "transcribe", audio_path=name)).structured_content
    assert body["text"] == SCRIPTED


async def test_transcribe_by_absolute_path(mcp, roots):
    body = (await call(mcp, "transcribe", audio_path=str(roots / "speech_en.wav"))).structured_content
    assert body["text"] == SCRIPTED


async def test_transcribe_by_base64(mcp, audio):
    body = (await call(mcp, "transcribe", audio_base64=b64(audio["speech_en"]), language="English")).structured_content
    assert body["text"] == SCRIPTED and body["model"] == "qwen3-asr-1.7b" and body["language"] == "English"


async def test_transcribe_by_base64_data_url_and_urlsafe(mcp, audio):
    data_url = "data:audio/mpeg;base64," + b64(audio["en_mp3"])
    assert (await call(mcp, "transcribe", audio_base64=data_url)).structured_content["text"] == SCRIPTED
    urlsafe = base64.urlsafe_b64encode(audio["en_ogg"].read_bytes()).decode().rstrip("=")
    assert (await call(mcp, "transcribe", audio_base64=urlsafe)).structured_content["text"] == SCRIPTED


async def test_transcribe_with_timestamps(mcp):
    body = (await call(mcp, "transcribe", audio_path="speech_en.wav", language="en",
                       return_timestamps=True)).structured_content
    words = body["timestamps"]
    assert [w["text"] for w in words] == ["hello", "world"]
    for word in words:
        assert 0 <= word["start"] <= word["end"] <= body["duration_seconds"]


async def test_transcribe_with_context(mcp):
    body = (await call(mcp, "transcribe", audio_path="speech_en.wav", context="Qwen, Ray Serve")).structured_content
    assert body["text"] == expected_text("qwen3-asr-1.7b", context="Qwen, Ray Serve"), "the context was dropped"


async def test_mcp_and_http_give_the_same_result(stack, mcp, audio, roots):
    for name, language, canonical in (("speech_en.wav", "auto", None), ("sub/speech_zh.wav", "zh", "Chinese")):
        mcp_body = (await call(mcp, "transcribe", audio_path=name, language=language)).structured_content
        response = http_transcribe(stack, roots / name, language=language)
        assert response.status_code == 200, response.text
        http_body = response.json()
        for key in ("text", "language", "model", "dtype", "timestamps", "duration_seconds"):
            assert mcp_body[key] == http_body[key], key
        assert mcp_body["text"] == expected_text("qwen3-asr-1.7b", canonical)


async def test_concurrent_tool_calls(mcp, audio):
    encoded = b64(audio["speech_en"])
    async with Client(mcp.url, timeout=180) as client:
        calls = [client.call_tool("transcribe", {"audio_path": "speech_en.wav"}) for _ in range(3)]
        calls += [client.call_tool("transcribe", {"audio_base64": encoded, "language": "en"}) for _ in range(3)]
        calls += [client.call_tool("get_status", {}), client.call_tool("get_languages", {})]
        started = time.monotonic()
        results = await asyncio.gather(*calls)
        took = time.monotonic() - started
    assert [r.structured_content["text"] for r in results[:6]] == [SCRIPTED] * 6
    assert "models" in results[6].data and len(results[7].data) == 53
    print(f"6 concurrent MCP transcriptions + status + languages: {took:.2f}s")


# --- errors: readable tool errors, and the server keeps going ---------------------------------


@pytest.mark.parametrize("field,value,code", [
    ("language", "klingon", "unsupported_language"),
    ("model", "whisper-large", "unknown_model"),
    ("context", "x" * 2001, "context_too_long"),
])
async def test_bad_parameters_give_the_api_message(stack, mcp, roots, field, value, code):
    api = http_transcribe(stack, roots / "speech_en.wav", **{field: value}).json()["error"]
    assert api["code"] == code
    message = await tool_error(mcp, "transcribe", audio_path="speech_en.wav", **{field: value})
    assert api["message"] in message and code in message


async def test_unknown_model_for_offload(mcp):
    message = await tool_error(mcp, "gpu_offload", models=["gpt-5"])
    assert "gpt-5" in message and "unknown_model" in message


@pytest.mark.parametrize("raw,words", [
    ("../private/secret.wav", ["'..'"]),
    ("sub/../../private/secret.wav", ["'..'"]),
    ("escape.wav", ["symbolic link", "outside"]),
    ("escape_dir/secret.wav", ["symbolic link", "outside"]),
    ("sub", ["directory"]),
    ("missing.wav", ["No file", "missing.wav"]),
    ("/etc/passwd", ["outside the audio folders"]),
])
async def test_paths_the_server_will_not_read(mcp, raw, words):
    message = await tool_error(mcp, "transcribe", audio_path=raw)
    assert message.startswith("Cannot read audio_path")
    for word in words:
        assert word in message, message


async def test_absolute_path_outside_the_root(mcp, audio):
    message = await tool_error(mcp, "transcribe", audio_path=str(audio["speech_en"]))
    assert "outside the audio folders" in message


async def test_non_audio_file_inside_the_root(mcp):
    message = await tool_error(mcp, "transcribe", audio_path="notes.wav")
    assert "not_audio" in message


async def test_files_and_base64_over_the_size_limit_are_refused_before_sending(mcp, roots):
    message = await tool_error(mcp, "transcribe", audio_path="big.wav")
    assert "limit is 1 MB" in message
    message = await tool_error(mcp, "transcribe", audio_base64=b64(roots / "big.wav"))
    assert "1 MB" in message and "limit" in message


@pytest.mark.parametrize("args,words", [
    ({}, ["exactly one"]),
    ({"audio_path": "speech_en.wav", "audio_base64": "UklGRg=="}, ["exactly one", "not both"]),
    ({"audio_base64": "this is not base64!"}, ["not valid base64"]),
    ({"audio_base64": "data:audio/wav,plain"}, ["data: URL"]),
    ({"audio_base64": base64.b64encode(b"plain text, not audio " * 20).decode()}, ["not_audio"]),
    ({"audio_path": "speech_en.wav", "language": 5}, ["language"]),
    ({"audio_path": "speech_en.wav", "return_timestamps": "sometimes"}, ["return_timestamps"]),
    ({"audio_path": "speech_en.wav", "speed": 2}, ["speed"]),
])
async def test_bad_arguments_are_tool_errors(mcp, args, words):
    message = await tool_error(mcp, "transcribe", **args)
    for word in words:
        assert word in message, message


async def test_server_survives_errors(mcp):
    async with Client(mcp.url, timeout=120) as client:
        for args in ({"audio_path": "../x"}, {"audio_base64": "%%%"}, {"language": "xx", "audio_path": "notes.wav"}):
            with pytest.raises(ToolError):
                await client.call_tool("transcribe", args)
        result = await client.call_tool("transcribe", {"audio_path": "speech_en.wav"})
        assert result.structured_content["text"] == SCRIPTED
    assert mcp.proc.poll() is None


async def test_service_unreachable_is_a_readable_error(roots):
    from serve_app.mcp_server import build_server
    from serve_app.settings import Settings

    settings = Settings(_env_file=None, mcp_audio_roots=str(roots), api_key="")
    server = build_server(settings, api_url=f"http://127.0.0.1:{free_port()}")
    async with Client(server) as client:
        with pytest.raises(ToolError) as info:
            await client.call_tool("get_status", {})
    assert "Cannot reach the ASR service" in str(info.value)


# --- the shared token ------------------------------------------------------------------------


def test_token_is_required_when_configured(mcp_with_token):
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    for extra in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = httpx.post(mcp_with_token.url, json=ping, headers={**headers, **extra}, timeout=30)
        assert response.status_code == 401, (extra, response.text)
        assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert httpx.get(f"http://127.0.0.1:{mcp_with_token.port}/health", timeout=10).status_code == 200


async def test_clients_without_the_token_cannot_call_tools(mcp_with_token):
    for auth in (None, "wrong-token"):
        with pytest.raises((MCPError, httpx.HTTPError)):
            async with Client(mcp_with_token.url, auth=auth, timeout=30) as client:
                await client.list_tools()


async def test_clients_with_the_token_can(mcp_with_token):
    async with Client(mcp_with_token.url, auth=TOKEN, timeout=120) as client:
        assert {t.name for t in await client.list_tools()} == TOOLS
        result = await client.call_tool("transcribe", {"audio_path": "speech_en.wav"})
    assert result.structured_content["text"] == SCRIPTED


async def test_server_without_a_token_is_open(mcp):
    async with Client(mcp.url) as client:
        assert {t.name for t in await client.list_tools()} == TOOLS


# --- stdio -----------------------------------------------------------------------------------


async def test_stdio_transport(stack, roots, audio):
    transport = StdioTransport(command=sys.executable,
                               args=["-m", "serve_app.mcp_server", "--stdio", "--api-url", stack.base_url],
                               env=mcp_env(roots), cwd=str(ROOT))
    async with Client(transport, timeout=120) as client:
        assert client.server_info.name == "qwen3-asr"
        assert len((await client.call_tool("get_languages", {})).data) == 53
        by_path = await client.call_tool("transcribe", {"audio_path": "speech_en.wav"})
        by_b64 = await client.call_tool("transcribe", {"audio_base64": b64(audio["speech_zh"])})
    assert by_path.structured_content["text"] == SCRIPTED == by_b64.structured_content["text"]


# --- models and GPU memory (last: they load, switch and release models) ------------------------


async def test_transcribe_with_the_small_model(mcp, audio):
    body = (await call(mcp, "transcribe", audio_base64=b64(audio["speech_en"]),
                       model="qwen3-asr-0.6b")).structured_content
    assert body["text"] == expected_text("qwen3-asr-0.6b") and body["model"] == "qwen3-asr-0.6b"


@pytest.mark.releases_models
async def test_gpu_offload_then_transcribe_reloads(mcp):
    await call(mcp, "transcribe", audio_path="speech_en.wav", model="qwen3-asr-1.7b")
    result = (await call(mcp, "gpu_offload", models=["qwen3-asr-1.7b"])).data
    assert "qwen3-asr-1.7b" in result["released"] + result["already_unloaded"]
    assert {"gpu_before", "gpu_after", "seconds", "models", "complete"} <= set(result)
    state = result["models"]["qwen3-asr-1.7b"]["state"]
    # Answered once the replica exited, or (past release_wait_s) truthfully still releasing.
    assert (result["complete"], state) in ((True, "not_loaded"), (False, "releasing")), result["models"]

    body = (await call(mcp, "transcribe", audio_path="speech_en.wav", model="qwen3-asr-1.7b")).structured_content
    assert body["text"] == SCRIPTED and body["load_time_seconds"] > 0
    status = (await call(mcp, "get_status")).data
    assert status["models"]["qwen3-asr-1.7b"]["replicas"] == 1


@pytest.mark.releases_models
async def test_gpu_offload_of_everything(mcp):
    result = (await call(mcp, "gpu_offload")).data
    assert set(result["released"]) | set(result["already_unloaded"]) == {
        "qwen3-asr-1.7b", "qwen3-asr-0.6b", "qwen3-forced-aligner-0.6b"}
