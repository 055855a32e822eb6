"""The inference runtime's capability feed: deployments coming and going."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from modelrouter.catalog.runtime import apply_report, parse_report
from modelrouter.service.auth import authenticate, require, state_of
from modelrouter.service.errors import ERROR_RESPONSES
from modelrouter.store.keys import Principal

router = APIRouter(tags=["catalog"])


@router.put("/v1/runtime/deployments", responses=ERROR_RESPONSES)
def report_deployments(
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    report: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """What the runtime serves now: deployments that came or went
    (``available``), and their context window, output cap, features and
    regions. The report is validated and becomes a new catalog version over
    the one in force (stored, audited, replayable, in force on every worker
    within a second). A report that would leave an alias with no deployment is
    refused (422, the alias named) unless it says ``force``."""
    require(principal, "runtime", "admin")
    state = state_of(http)
    parsed = parse_report(report)
    current = state.catalog
    catalog, problems = apply_report(current, parsed, at=datetime.now(UTC))
    changed = catalog.version != current.version
    if changed:
        gone = sum(1 for d in parsed.deployments if not d.available)
        state.put_in_force(
            catalog,
            origin="runtime",
            source=f"PUT /v1/runtime/deployments ({len(parsed.deployments)} reported, {gone} gone)",
            author=principal.key_id,
        )
    return {
        "version": catalog.version,
        "changed": changed,
        "deployments": len(catalog.deployments),
        "forced": [p.to_dict() for p in problems],
    }
