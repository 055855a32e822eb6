"""What the router has learned: circuits, latency and headroom per deployment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from modelrouter.bounds import Name
from modelrouter.service.auth import authenticate, not_found, require, state_of
from modelrouter.service.errors import ERROR_RESPONSES
from modelrouter.signals.live import to_ms
from modelrouter.store.keys import Principal

router = APIRouter(tags=["signals"])


def _view_age(http: Request) -> dict[str, Any]:
    state = state_of(http)
    view = state.signals.view(state.catalog, datetime.now(UTC))
    return {
        "backend": type(state.signals).__name__,
        "view_age_ms": view.age_ms,
        "stale": view.stale,
    }


@router.get("/v1/signals", responses=ERROR_RESPONSES)
def list_signals(
    http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    """Every deployment something was observed of: its circuit (state, reason,
    when it reopens), latency percentiles with their sample counts, and rpm/tpm
    headroom, as this instance sees them now."""
    require(principal, "admin", "gateway")
    state = state_of(http)
    return {
        **_view_age(http),
        "deployments": state.signals.health(state.catalog, datetime.now(UTC)),
    }


@router.get("/v1/deployments/{deployment:path}/health", responses=ERROR_RESPONSES)
def deployment_health(
    deployment: Annotated[Name, Field(max_length=400)],
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """One deployment's circuit, latency and headroom (a deployment nothing
    was observed of is closed, with no samples)."""
    require(principal, "admin", "gateway")
    state = state_of(http)
    found = state.catalog.deployments.get(deployment)
    if found is None:
        raise not_found(f"deployment {deployment} in catalog {state.catalog.version}")
    report: dict[str, Any] = state.signals.health_of(found, to_ms(datetime.now(UTC)))
    return {**_view_age(http), **report}
