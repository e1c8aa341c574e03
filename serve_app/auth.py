"""Optional shared API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from __future__ import annotations

import hmac

from fastapi import Request

from serve_app.errors import ApiError


def presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key", "").strip()


def key_matches(expected: str, presented: str) -> bool:
    return not expected or hmac.compare_digest(expected.encode(), presented.encode())


async def require_api_key(request: Request) -> None:
    expected = request.app.state.settings.api_key_value
    if not key_matches(expected, presented_key(request)):
        raise ApiError(401, "unauthorized", "A valid API key is required (Authorization: Bearer <key>).",
                       headers={"WWW-Authenticate": "Bearer"})
