"""One id per request: in every error body, WebSocket error and log line of that request.

Serve's proxy gives every HTTP request an `X-Request-Id` (the client's own, or a new one),
forwards it in the request's headers and returns it on the response; Serve's access logs
carry it. This module makes the service's own output carry the same id: the ASGI
middleware reads it into a context variable (inherited by the tasks and threads the
request starts), error bodies add it, and records of this service's loggers end with it.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# What is echoed back or logged: anything else a client sends is replaced by a fresh id.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Loggers whose records get the id (ours; Serve's own logs have theirs).
LOGGER_PREFIXES = ("serve_app", "deployments")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_from(scope: Scope) -> str:
    """The request's id from its headers when it is a safe token, else a new one."""
    for key, value in scope.get("headers") or []:
        if key.lower() == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            if _SAFE_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Outermost: sets `current_request_id` for the whole of one HTTP request or WebSocket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = current_request_id.set(request_id_from(scope))
        await self.app(scope, receive, send)
        # Reset only on success: an exception goes on to Starlette's ServerErrorMiddleware, which
        # sits outside every middleware and renders the 500 body, still needing the id. (Each
        # request runs in its own task, so the value never reaches another request.)
        current_request_id.reset(token)


def _tag(record: logging.LogRecord) -> None:
    request_id = current_request_id.get()
    if request_id and record.name.startswith(LOGGER_PREFIXES) and not hasattr(record, "request_id"):
        record.request_id = request_id
        # The id has no '%' (see _SAFE_ID), so the message stays a valid format string.
        record.msg = f"{record.msg} [request_id={request_id}]"


_installed = False


def install_log_tagging() -> None:
    """Once per process: records created while a request runs end with its id."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _tag(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
