"""Probes and metrics: no key needed."""

from __future__ import annotations

from datetime import UTC, datetime
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


@router.get("/readyz")
def readyz(http: Request) -> JSONResponse:
    """Ready when the database answers and a catalog is loaded; ``degraded``
    (still 200: routing goes on under the policies last read, decisions go to
    the spool) while the database is unreachable, or while the shared signal
    store is (routing goes on with the last signals, each decision says so)."""
    state = state_of(http)
    checks: dict[str, Any] = {"catalog": state.catalog.version}
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # a probe reports, it does not raise
        checks["database"] = f"unreachable: {type(exc).__name__}"
    stale = state.policy_cache.stale_since
    if stale is not None:
        checks["policies"] = (
            f"as last read; the store has been unreachable since {stale.isoformat()}"
        )
    view = state.signals.view(state.catalog, datetime.now(UTC))
    if view.age_ms is not None or view.stale:
        if not view.stale:
            checks["signals"] = "ok"
        elif view.age_ms is None:
            checks["signals"] = "the shared signal store has not answered since start-up"
        else:
            checks["signals"] = (
                f"as last read, {view.age_ms} ms old: the shared signal store is not answering"
            )
    ready = checks["database"] == "ok" and stale is None and not view.stale
    return JSONResponse({"status": "ready" if ready else "degraded", **checks})


@router.get("/metrics", response_class=Response)
def metrics(http: Request) -> Response:
    """Prometheus text exposition."""
    body, content_type = state_of(http).metrics.render(http.headers.get("accept"))
    return Response(body, media_type=content_type)
