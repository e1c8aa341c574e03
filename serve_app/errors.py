"""One error type and one JSON shape for every failure the API reports."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serve_app.request_id import current_request_id

logger = logging.getLogger(__name__)

ECHO_MAX_CHARS = 64        # at most this much of one client value is quoted back in an error message
MESSAGE_MAX_CHARS = 1000   # and no error message is longer than this, whatever it quotes


def echo(value: object, limit: int = ECHO_MAX_CHARS) -> str:
    """A client's value as an error message quotes it: `repr()`, cut to `limit` characters.

    `f"Unknown model {echo(model)}"` reads like `{model!r}` for normal input; a 1 MB value becomes
    `'aaaa…' (1048576 characters)` instead of being sent back whole."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


def cap_message(message: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    """The backstop for messages that quote client input without `echo`: never more than `limit`."""
    message = str(message)
    return message if len(message) <= limit else message[:limit - 1] + "…"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        message = cap_message(message)
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}


def bad_request(code: str, message: str, param: str | None = None) -> ApiError:
    return ApiError(400, code, message, param=param)


def _with_request_id(body: dict) -> dict:
    """Every error names its request (the `X-Request-Id` of the response) when it has one."""
    request_id = current_request_id.get()
    if request_id:
        body["request_id"] = request_id
    return body


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict:
    body = {"code": code, "message": cap_message(message), "status": status}
    if param:
        body["param"] = param
    return {"error": _with_request_id(body)}


OPENAI_PREFIX = "/v1"

_OPENAI_TYPES = {401: "authentication_error", 429: "rate_limit_error"}


def openai_error_body(status: int, code: str, message: str, param: str | None = None) -> dict:
    """OpenAI's error shape, so the `openai` SDK raises BadRequestError & co. with our message."""
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": _with_request_id({"message": cap_message(message), "type": kind, "param": param, "code": code})}


def is_openai_path(scope) -> bool:
    """`/v1/...` below the app's route prefix (Serve passes that prefix as `root_path`)."""
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/")


def body_for_scope(scope, status: int, code: str, message: str, param: str | None = None,
                   render=error_body) -> dict:
    """The error body for a request: OpenAI's shape under /v1, ours (`render`) elsewhere."""
    return (openai_error_body if is_openai_path(scope) else render)(status, code, message, param)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header", "form")]
    param = location[-1] if location else None
    if first.get("type") == "missing" and param:
        return f"Missing required field '{param}'.", param
    return f"Invalid value for '{param or 'request'}': {first.get('msg', 'invalid input')}.", param


def _renderer(request: Request, render):
    return openai_error_body if is_openai_path(request.scope) else render


def install_error_handlers(app: FastAPI, render=error_body) -> None:
    """`render(status, code, message, param)` builds the body; paths under /v1 get OpenAI's shape
    whatever `render` is."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        renderer = _renderer(request, render)
        return JSONResponse(renderer(exc.status, exc.code, exc.message, exc.param), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        renderer = _renderer(request, render)
        return JSONResponse(renderer(400, "invalid_request", message, param), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "file_too_large"}.get(exc.status_code, "http_error")
        renderer = _renderer(request, render)
        return JSONResponse(renderer(exc.status_code, code, str(exc.detail), None), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        renderer = _renderer(request, render)
        return JSONResponse(renderer(500, "internal_error", f"Internal error: {type(exc).__name__}", None), 500)
