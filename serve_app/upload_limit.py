"""Refuse oversized request bodies with 413 as soon as they pass the limit.

A `Content-Length` over the limit is refused before a byte is read; a body without one
is counted as it streams in (Starlette spools file parts to a temporary file, so nothing
is held whole in memory) and cut off at the limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.errors import body_for_scope


class BodyTooLarge(Exception):
    pass


def too_large_body(limit_bytes: int, scope: Scope | None = None) -> bytes:
    """Our error shape, or OpenAI's under /v1 (see serve_app.errors.body_for_scope)."""
    message = f"The upload exceeds the {limit_bytes / (1024 * 1024):g} MB limit."
    return json.dumps(body_for_scope(scope or {}, 413, "file_too_large", message)).encode()


class UploadLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_bytes: int, render=None) -> None:
        self.app = app
        self.limit_bytes = limit_bytes
        self.render = render or (lambda scope: too_large_body(self.limit_bytes, scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit_bytes:
            await self._reject(scope, send)
            return

        received = 0
        tripped = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, tripped
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit_bytes:
                    tripped = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if tripped:
                return  # the app's own error response is replaced by our 413
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not tripped:
                raise
        if tripped and not response_started:
            await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        body = self.render(scope)
        await send({
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        })
        await send({"type": "http.response.body", "body": body})
