"""The MCP server's way into the running service: its own HTTP API, through httpx.

Going through the API (instead of loading models here) keeps one copy of every model: the
Serve graph's batching, lazy loading, idle unload and limits apply to MCP calls exactly as to
web calls. The configured API key is sent as `Authorization: Bearer`. An API error
`{"error": {"code", "message"}}` becomes a `ServiceError` (a fastmcp `ToolError`) that carries
the API's message, so an agent reads the same explanation a web client would.
"""

from __future__ import annotations

import asyncio
from typing import Any, BinaryIO

import httpx
from fastmcp.exceptions import ToolError

USER_AGENT = "qwen3-asr-mcp"


class ServiceError(ToolError):
    """A failed service call, with the API's error code and HTTP status when there was one."""

    def __init__(self, message: str, *, code: str = "service_error", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def error_from_response(response: httpx.Response) -> ServiceError:
    """Turn an error response of the API into a readable `ServiceError`."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict) and detail.get("message"):
        code = str(detail.get("code") or "service_error")
        message = str(detail["message"])
        if status == 401:
            message += " (The MCP server sends QWEN_ASR_API_KEY to the service: set it to the service's key.)"
        elif status == 503 and response.headers.get("retry-after"):
            message += f" Retry after {response.headers['retry-after']} s."
        return ServiceError(f"{message} [{code}]", code=code, status=status)
    text = " ".join(response.text.split())[:300] or response.reason_phrase
    return ServiceError(f"The ASR service answered HTTP {status}: {text}", status=status)


class ServiceClient:
    """Async client for the service's HTTP API (one connection pool, made on first use)."""

    def __init__(self, base_url: str, api_key: str = "", timeout_s: float = 900.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = httpx.Timeout(timeout_s, connect=10.0)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    async def client(self) -> httpx.AsyncClient:
        async with self._lock:
            if self._client is None or self._client.is_closed:
                self._client = httpx.AsyncClient(base_url=self.base_url, headers=self._headers(),
                                                 timeout=self.timeout, transport=self._transport)
            return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; the decoded JSON body, or `ServiceError` with a readable message."""
        client = await self.client()
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ServiceError(
                f"The ASR service at {self.base_url} did not answer {method} {path} within "
                f"{self.timeout.read:g} s (QWEN_ASR_MCP_TIMEOUT_S).", code="service_timeout") from None
        except httpx.TransportError as exc:
            raise ServiceError(
                f"Cannot reach the ASR service at {self.base_url} ({type(exc).__name__}: {exc or 'no detail'}). "
                "Is it running? The MCP server finds it through QWEN_ASR_MCP_API_URL or --api-url.",
                code="service_unreachable") from None
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            return response.json()
        except ValueError:
            raise ServiceError(f"The ASR service answered {method} {path} with something that is not JSON.",
                               status=response.status_code) from None

    async def transcribe(self, filename: str, audio: bytes | BinaryIO, *, language: str, model: str,
                         return_timestamps: bool, context: str | None = None) -> dict:
        """POST /api/transcribe; `audio` is bytes or an open binary file (streamed, not read whole)."""
        data = {"language": language, "model": model, "return_timestamps": "true" if return_timestamps else "false"}
        if context:
            data["context"] = context
        return await self.request("POST", "/api/transcribe", data=data,
                                  files={"file": (filename, audio, "application/octet-stream")})

    async def status(self) -> dict:
        """GET /api/status."""
        return await self.request("GET", "/api/status")

    async def languages(self) -> dict:
        """GET /api/languages: `{"default", "count", "languages": [...]}`."""
        return await self.request("GET", "/api/languages")

    async def offload(self, models: list[str] | None = None) -> dict:
        """POST /api/gpu-offload for the given models (all when None or empty)."""
        return await self.request("POST", "/api/gpu-offload", json={"models": models or None})
