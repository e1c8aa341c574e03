"""One error type and one JSON shape for every failure the API reports."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}


def bad_request(code: str, message: str, param: str | None = None) -> ApiError:
    return ApiError(400, code, message, param=param)


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict:
    body = {"code": code, "message": message, "status": status}
    if param:
        body["param"] = param
    return {"error": body}


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header", "form")]
    param = location[-1] if location else None
    if first.get("type") == "missing" and param:
        return f"Missing required field '{param}'.", param
    return f"Invalid value for '{param or 'request'}': {first.get('msg', 'invalid input')}.", param


def install_error_handlers(app: FastAPI, render=error_body) -> None:
    """`render(status, code, message, param)` builds the body; OpenAI routes use their own shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        renderer = getattr(request.state, "error_renderer", render)
        return JSONResponse(renderer(exc.status, exc.code, exc.message, exc.param), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        renderer = getattr(request.state, "error_renderer", render)
        return JSONResponse(renderer(400, "invalid_request", message, param), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "file_too_large"}.get(exc.status_code, "http_error")
        renderer = getattr(request.state, "error_renderer", render)
        return JSONResponse(renderer(exc.status_code, code, str(exc.detail), None), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        renderer = getattr(request.state, "error_renderer", render)
        return JSONResponse(renderer(500, "internal_error", f"Internal error: {type(exc).__name__}", None), 500)
