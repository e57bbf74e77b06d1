"""RFC 9457 problem documents: every error the API returns has this shape, made here from the
one error hierarchy; no route builds an error body of its own."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from silkguard.core.errors import RateLimited, SilkguardError

__all__ = ["PROBLEM_MEDIA_TYPE", "Problem", "install_problem_handlers", "problem_responses"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("silkguard.api")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal error",
    502: "A remote server failed",
    503: "Service unavailable",
}


class InvalidParam(BaseModel):
    name: str = Field(description="The field, query parameter or header at fault.")
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["incident 0b7c... does not exist; list incidents to find its id"])
    instance: str | None = Field(default=None, examples=["/api/v1/incidents/0b7c..."])
    request_id: str | None = None
    invalid_params: list[InvalidParam] | None = None


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the given error codes."""
    return {
        code: {
            "model": Problem,
            "description": _TITLES.get(code, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }


def _respond(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    invalid: list[InvalidParam] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        title=title or _TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        invalid_params=invalid,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _loc_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


async def _silkguard_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SilkguardError)
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, round(exc.retry_after_s)))}
    if exc.http_status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    field = getattr(exc, "field", None)
    invalid = [InvalidParam(name=field, reason=exc.msg)] if field else None
    return _respond(
        request, exc.http_status, exc.msg, title=exc.title, headers=headers, invalid=invalid
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    invalid = [
        InvalidParam(name=_loc_name(err.get("loc", ())), reason=str(err.get("msg", "invalid")))
        for err in exc.errors()
    ]
    names = ", ".join(p.name for p in invalid[:5])
    detail = f"the request is not valid: check {names}" if names else "the request is not valid"
    return _respond(request, 422, detail, invalid=invalid)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path. Starlette's own ``Allow`` names only the
    methods of the first route whose path matches, though GET and POST of one path are often
    two routes."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    ]


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    headers = getattr(exc, "headers", None)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}; see /api/v1/docs for the routes"
    if exc.status_code == 405:
        allow = _allowed_methods(request)
        detail = f"{request.method} is not allowed on {request.url.path}; use {', '.join(allow)}"
        headers = {**(headers or {}), "Allow": ", ".join(allow)}
    return _respond(request, exc.status_code, detail, headers=headers)


async def _stale(request: Request, exc: Exception) -> JSONResponse:
    # Two writers passed the If-Match check at once; the versioned UPDATE of the later one
    # matched no row. The same answer as a stale If-Match: nothing of this request was kept.
    assert isinstance(exc, StaleDataError)
    detail = (
        "the object was changed by someone else while this request was being handled; "
        "nothing was changed; GET it again and reapply your change"
    )
    return _respond(request, 409, detail, title="Conflict")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = getattr(request.state, "request_id", "?")
    _log.exception("unhandled error in request %s", rid, exc_info=exc)
    return _respond(
        request,
        500,
        f"the server failed to handle this request (request id {rid}); it was logged, and "
        "retrying will not help until it is fixed",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SilkguardError, _silkguard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(Exception, _unexpected)
