"""One table from the error tree to HTTP statuses, and the JSON every error answers.

Every error body is ``{"error": {"code": ..., "message": ..., <fields>}}``;
a validation error names the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelrouter.errors import (
    BudgetExceeded,
    CatalogVersionError,
    InvalidInputError,
    ModelRouterError,
    NoRouteError,
    ReplayMismatchError,
    RequestIdReused,
    StaleWrite,
    StoreUnavailable,
    UnknownModelError,
    UnknownPriceError,
    first_problem,
)
from modelrouter.observability.json_codec import dumps

__all__ = [
    "ERROR_RESPONSES",
    "STATUS",
    "error_body",
    "error_response",
    "install_error_handlers",
    "json_response",
]

# Most specific first.
STATUS: tuple[tuple[type[ModelRouterError], int], ...] = (
    (BudgetExceeded, 402),
    (UnknownModelError, 422),
    (NoRouteError, 422),
    (UnknownPriceError, 422),
    (StaleWrite, 412),
    (CatalogVersionError, 409),
    (ReplayMismatchError, 409),
    (RequestIdReused, 409),
    (StoreUnavailable, 503),
    (InvalidInputError, 422),
)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: error_response("The body is not JSON"),
    401: error_response("No valid API key"),
    403: error_response("The key's role may not do this"),
    404: error_response("Not found (or not visible to this key)"),
    413: error_response("Body too large"),
    422: error_response("Invalid input (the field is named), or no admissible route"),
    409: error_response("A catalog version the store does not hold"),
    503: error_response("The store is unavailable, or the decision is not stored yet"),
}


def json_response(content: Any, status_code: int = 200) -> Response:
    """A JSON answer for content already made of JSON types, encoded once."""
    return Response(dumps(content), status_code=status_code, media_type="application/json")


def error_body(code: str, message: str, **fields: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **fields}}


def status_of(exc: ModelRouterError) -> int:
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 500)


def line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset (as ``json`` counts them)."""
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def malformed_json(exc: RequestValidationError) -> str | None:
    """For a body that is not JSON at all: where and why, by line and column
    (FastAPI reports a character offset as if it were a field); else None."""
    errors = exc.errors()
    if len(errors) != 1 or errors[0].get("type") != "json_invalid":
        return None
    first = errors[0]
    why = str((first.get("ctx") or {}).get("error", "invalid JSON"))
    loc = tuple(first.get("loc", ()))
    position = loc[-1] if loc and isinstance(loc[-1], int) else None
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if position is None or not isinstance(body, str):
        return f"malformed JSON: {why}"
    line, column = line_and_column(body, position)
    return f"malformed JSON at line {line}, column {column}: {why}"


# Seconds a client is asked to wait before retrying what needs the database.
RETRY_AFTER_SECONDS = 2


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ModelRouterError)
    async def _router_error(_: Request, exc: ModelRouterError) -> JSONResponse:
        status = status_of(exc)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
        return JSONResponse({"error": exc.to_dict()}, status_code=status, headers=headers)

    @app.exception_handler(SQLAlchemyError)
    async def _store_error(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        # What needs the database while it is away: 503 with a named cause, never 500.
        cause = type(getattr(exc, "orig", None) or exc).__name__
        return JSONResponse(
            error_body(
                "store_unavailable",
                f"the database cannot be reached ({cause}); retry shortly",
            ),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        malformed = malformed_json(exc)
        if malformed is not None:
            return JSONResponse(
                error_body("invalid_input", malformed, field="body"), status_code=422
            )
        # The library's formatter, so a field path reads the same everywhere.
        field, message = first_problem(exc.errors(), strip=("body",))
        return JSONResponse(
            error_body("invalid_input", f"{field}: {message}", field=field), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            400: "malformed_body",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            412: "precondition_failed",
            413: "body_too_large",
            428: "precondition_required",
        }
        suggestions = getattr(exc, "suggestions", ())
        fields = {"suggestions": list(suggestions)} if suggestions else {}
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), str(exc.detail), **fields),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
