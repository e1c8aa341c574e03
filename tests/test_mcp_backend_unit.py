"""serve_app/mcp_backend.py: the MCP server's HTTP client for the service, against a fake API."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from fastmcp.exceptions import ToolError

from serve_app.mcp_backend import (
    USER_AGENT,
    ServiceClient,
    ServiceError,
    error_from_response,
)


class FakeApi:
    """An httpx MockTransport that records requests and answers from a table."""

    def __init__(self, answers: dict[tuple[str, str], httpx.Response] | None = None, raise_exc=None) -> None:
        self.answers = answers or {}
        self.raise_exc = raise_exc
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.raise_exc is not None:
            raise self.raise_exc
        answer = self.answers.get((request.method, request.url.path))
        return answer if answer is not None else httpx.Response(404, json={"error": {"code": "not_found",
                                                                                      "message": "No route."}})

    def client(self, base_url: str = "http://asr.test", **kwargs) -> ServiceClient:
        return ServiceClient(base_url, transport=self.transport, **kwargs)


def error_of(response: httpx.Response) -> ServiceError:
    return error_from_response(response)


async def service_error(coro) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        await coro
    return caught.value


def multipart_fields(request: httpx.Request) -> dict[str, bytes]:
    """name -> value of a multipart body (enough for these small forms)."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    fields = {}
    for part in request.content.split(b"--" + boundary):
        if b"name=\"" not in part:
            continue
        head, _, value = part.partition(b"\r\n\r\n")
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        fields[name] = value.rstrip(b"\r\n")
    return fields


# --- error_from_response -----------------------------------------------------------------------


def test_api_error_becomes_its_message_and_code():
    error = error_of(httpx.Response(422, json={"error": {"code": "audio_too_short", "message": "Too short.",
                                                         "status": 422}}))
    assert isinstance(error, ToolError)
    assert str(error) == "Too short. [audio_too_short]"
    assert (error.code, error.status, error.message) == ("audio_too_short", 422, "Too short. [audio_too_short]")


def test_401_says_which_setting_carries_the_key():
    error = error_of(httpx.Response(401, json={"error": {"code": "unauthorized", "message": "Key needed."}}))
    assert error.status == 401 and error.code == "unauthorized"
    assert "QWEN_ASR_API_KEY" in str(error) and str(error).startswith("Key needed.")


def test_503_says_when_to_retry():
    response = httpx.Response(503, headers={"Retry-After": "7"},
                              json={"error": {"code": "overloaded", "message": "Busy."}})
    assert "Retry after 7 s." in str(error_of(response))
    without = httpx.Response(503, json={"error": {"code": "overloaded", "message": "Busy."}})
    assert "Retry" not in str(error_of(without))


def test_error_without_a_code_gets_a_generic_one():
    error = error_of(httpx.Response(400, json={"error": {"message": "Nope."}}))
    assert error.code == "service_error" and str(error) == "Nope. [service_error]"


@pytest.mark.parametrize("response", [
    httpx.Response(502, text="<html>\n  <body>Bad   gateway</body>\n</html>"),
    httpx.Response(500, json={"detail": "FastAPI default shape"}),
    httpx.Response(500, json={"error": "a string, not an object"}),
    httpx.Response(500, json=["a", "list"]),
])
def test_other_error_bodies_report_the_status_and_the_text(response):
    error = error_of(response)
    assert error.code == "service_error" and error.status == response.status_code
    assert str(error).startswith(f"The ASR service answered HTTP {response.status_code}: ")


def test_html_error_whitespace_is_collapsed_and_long_text_cut():
    error = error_of(httpx.Response(502, text="<html>\n  <body>Bad   gateway</body>\n</html>"))
    assert str(error).endswith("<html> <body>Bad gateway</body> </html>")
    long = error_of(httpx.Response(500, text="x" * 5000))
    assert len(str(long)) < 400


def test_empty_error_body_uses_the_reason_phrase():
    assert str(error_of(httpx.Response(504))).endswith("HTTP 504: Gateway Timeout")


# --- requests ----------------------------------------------------------------------------------


async def test_headers_carry_the_key_as_bearer_and_a_user_agent():
    api = FakeApi({("GET", "/api/status"): httpx.Response(200, json={"ok": True})})
    client = api.client(api_key="s3cret")
    assert await client.status() == {"ok": True}
    request = api.requests[0]
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["accept"] == "application/json"
    await client.aclose()


async def test_no_key_no_authorization_header():
    api = FakeApi({("GET", "/api/languages"): httpx.Response(200, json={"languages": []})})
    client = api.client()
    await client.languages()
    assert "authorization" not in api.requests[0].headers
    await client.aclose()


@pytest.mark.parametrize("base", ["http://asr.test/auth", "http://asr.test/auth/"])
async def test_a_base_url_with_a_route_prefix_keeps_it(base):
    """The service may live below a prefix (Serve's route_prefix): /auth + /api/status."""
    api = FakeApi({("GET", "/auth/api/status"): httpx.Response(200, json={"ok": 1})})
    client = api.client(base)
    assert await client.status() == {"ok": 1}
    assert str(api.requests[0].url) == "http://asr.test/auth/api/status"
    await client.aclose()


async def test_transcribe_sends_the_form_and_the_file():
    api = FakeApi({("POST", "/api/transcribe"): httpx.Response(200, json={"text": "hi"})})
    client = api.client()
    body = await client.transcribe("speech.wav", b"RIFF1234", language="en", model="qwen3-asr-0.6b",
                                   return_timestamps=True, context="Qwen")
    assert body == {"text": "hi"}
    fields = multipart_fields(api.requests[0])
    assert fields == {"language": b"en", "model": b"qwen3-asr-0.6b", "return_timestamps": b"true",
                      "context": b"Qwen", "file": b"RIFF1234"}
    assert b'filename="speech.wav"' in api.requests[0].content
    await client.aclose()


async def test_transcribe_leaves_out_an_empty_context_and_streams_a_file_object():
    api = FakeApi({("POST", "/api/transcribe"): httpx.Response(200, json={"text": "hi"})})
    client = api.client()
    await client.transcribe("a.flac", io.BytesIO(b"fLaC" + bytes(100)), language="auto", model="qwen3-asr-1.7b",
                            return_timestamps=False, context="")
    fields = multipart_fields(api.requests[0])
    assert "context" not in fields
    assert fields["return_timestamps"] == b"false"
    assert fields["file"] == b"fLaC" + bytes(100)
    await client.aclose()


@pytest.mark.parametrize("models,sent", [(None, None), ([], None), (["qwen3-asr-0.6b"], ["qwen3-asr-0.6b"])])
async def test_offload_sends_the_models_or_null_for_all(models, sent):
    api = FakeApi({("POST", "/api/gpu-offload"): httpx.Response(200, json={"released": []})})
    client = api.client()
    assert await client.offload(models) == {"released": []}
    assert json.loads(api.requests[0].content) == {"models": sent}
    await client.aclose()


async def test_api_errors_raise_service_errors():
    api = FakeApi({("GET", "/api/status"): httpx.Response(401, json={"error": {"code": "unauthorized",
                                                                               "message": "Key."}})})
    client = api.client()
    error = await service_error(client.status())
    assert error.status == 401 and error.code == "unauthorized"
    await client.aclose()


async def test_a_success_that_is_not_json_is_an_error():
    api = FakeApi({("GET", "/api/status"): httpx.Response(200, text="<html>proxy login</html>")})
    client = api.client()
    error = await service_error(client.status())
    assert "not JSON" in error.message and error.status == 200
    await client.aclose()


async def test_a_timeout_names_the_setting_to_raise():
    api = FakeApi(raise_exc=httpx.ReadTimeout("slow"))
    client = api.client(timeout_s=12)
    error = await service_error(client.status())
    assert error.code == "service_timeout"
    assert "12 s" in error.message and "QWEN_ASR_MCP_TIMEOUT_S" in error.message
    await client.aclose()


async def test_an_unreachable_service_says_where_it_was_looked_for():
    api = FakeApi(raise_exc=httpx.ConnectError("connection refused"))
    client = api.client("http://gpu-box:8200")
    error = await service_error(client.languages())
    assert error.code == "service_unreachable" and error.status is None
    assert "http://gpu-box:8200" in error.message and "connection refused" in error.message
    assert "--api-url" in error.message
    await client.aclose()


async def test_one_connection_pool_reused_and_rebuilt_after_close():
    api = FakeApi({("GET", "/api/status"): httpx.Response(200, json={})})
    client = api.client()
    first = await client.client()
    await client.status()
    assert await client.client() is first
    await client.aclose()
    assert first.is_closed
    await client.status()  # works again after close, on a new pool
    assert (await client.client()) is not first
    assert len(api.requests) == 2
    await client.aclose()


async def test_aclose_without_use_is_harmless():
    await ServiceClient("http://asr.test").aclose()


def test_trailing_slash_of_the_base_url_is_dropped():
    assert ServiceClient("http://asr.test:8200/").base_url == "http://asr.test:8200"
