"""One WebSocket's outbound side: serialised sends, the close, and the errors that end a session."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import suppress

from pydantic import BaseModel

from serve_app.request_id import current_request_id
from serve_app.stream_protocol import CLOSE_NORMAL, CLOSE_POLICY, ErrorMessage, dump


class StreamError(Exception):
    """Ends a session with an `error` message and a close code."""

    def __init__(self, code: str, message: str, close_code: int = CLOSE_POLICY, text: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code
        self.text = text


class ClientGone(Exception):
    """The socket is closed: nothing more can be sent."""


class Channel:
    """Serialised sends over one socket; a failed send means the client is gone."""

    def __init__(self, websocket) -> None:
        self.websocket = websocket
        self.closed = False
        self.last_heard = time.monotonic()  # when the client's latest message *arrived* (not when handled)
        self._lock = asyncio.Lock()

    def encode(self, message: BaseModel) -> str:
        return json.dumps(dump(message), ensure_ascii=False)

    async def send(self, message: BaseModel) -> None:
        async with self._lock:
            if self.closed:
                raise ClientGone()
            try:
                await self.websocket.send_text(self.encode(message))
            except Exception as exc:
                self.closed = True
                raise ClientGone() from exc

    async def receive(self) -> dict | None:
        """The next raw ASGI message; None once the client has disconnected."""
        try:
            message = await self.websocket.receive()
        except Exception as exc:  # the transport went away under us
            self.closed = True
            raise ClientGone() from exc
        if message["type"] == "websocket.disconnect":
            self.closed = True
            return None
        return message

    async def read_into(self, inbox: asyncio.Queue) -> None:
        """Raw receive -> inbox; returns when the client disconnects. Never cancelled mid-receive but at the end."""
        while (message := await self.receive()) is not None:
            self.last_heard = time.monotonic()
            await inbox.put(message)

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        async with self._lock:
            if self.closed:
                return
            self.closed = True
            with suppress(Exception):
                await self.websocket.close(code=code, reason=reason[:120])

    async def fail(self, error: StreamError) -> None:
        with suppress(ClientGone):
            await self.send(ErrorMessage(code=error.code, message=error.message, text=error.text,
                                         request_id=current_request_id.get()))
        await self.close(error.close_code, error.code)
