"""Probes and metrics: no key needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from modelrouter.service.auth import state_of

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, Any]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: the reason is named"}})
def readyz(http: Request) -> JSONResponse:
    """Ready when the database answers and a catalog is loaded."""
    state = state_of(http)
    checks: dict[str, Any] = {"catalog": state.catalog.version}
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports, it does not raise
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = checks["database"] == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", response_class=Response)
def metrics(http: Request) -> Response:
    """Prometheus text exposition."""
    body, content_type = state_of(http).metrics.render(http.headers.get("accept"))
    return Response(body, media_type=content_type)
