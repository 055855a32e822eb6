"""Outcomes, decisions and replays."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from modelrouter.bounds import Name, Timestamp
from modelrouter.money import parse_decimal
from modelrouter.observability.events import outcome_event
from modelrouter.observability.tracing import record_cost, span
from modelrouter.pricing.extract import extract_usage
from modelrouter.routing.replay import replay
from modelrouter.service.auth import authenticate, can_see_tenant, not_found, require, state_of
from modelrouter.service.errors import ERROR_RESPONSES
from modelrouter.store.keys import Principal
from modelrouter.types import RoutingPlan

router = APIRouter(tags=["decisions"])

DecisionId = Annotated[Name, Field(max_length=64)]


class Outcome(BaseModel):
    """What happened: the usage the provider reported (our normalised shape, or
    a raw body with its ``api``), which hop served, and how it went."""

    model_config = ConfigDict(extra="forbid")

    usage: dict[str, Any]
    api: Literal[
        "normalized", "openai-chat", "openai-responses", "anthropic", "gemini", "bedrock"
    ] = "normalized"
    deployment: Annotated[Name, Field(max_length=400)] | None = None
    latency_ms: Decimal | None = None
    ttft_ms: Decimal | None = None
    status: Literal["ok", "error"] = "ok"
    error_class: Name | None = None

    @field_validator("latency_ms", "ttft_ms", mode="before")
    @classmethod
    def _milliseconds(cls, value: Any, info: ValidationInfo) -> Decimal | None:
        return None if value is None else parse_decimal(value, what=str(info.field_name))


def _plan_for(http: Request, principal: Principal, decision_id: str) -> RoutingPlan:
    state = state_of(http)
    plan = state.recent.get(decision_id)
    if plan is None:
        stored = state.repository.load_decision(decision_id)
        if stored is None:
            raise not_found(f"decision {decision_id}")
        plan = RoutingPlan.from_dict(stored.plan)
    if not can_see_tenant(principal, plan.tenant_id):
        raise not_found(f"decision {decision_id}")
    return plan


@router.post("/v1/decisions/{decision_id}/outcome", responses=ERROR_RESPONSES)
def record_outcome(
    decision_id: DecisionId,
    body: Outcome,
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """Settle a decision: its exact cost (idempotent: a repeated report
    answers the first cost and changes nothing)."""
    require(principal, "admin", "gateway")
    state = state_of(http)
    plan = _plan_for(http, principal, decision_id)
    stored = state.repository.load_decision(decision_id)
    if stored is not None and stored.actual_cost is not None:
        return {"decision_id": decision_id, "actual_cost": stored.actual_cost, "duplicate": True}
    usage = extract_usage(body.usage, body.api).usage
    with span("outcome", decision=decision_id, deployment=body.deployment) as current:
        cost = state.router().record_outcome(plan, usage, deployment=body.deployment)
        record_cost(current, cost)
    if stored is None:
        state.writer.flush(timeout=5)  # the decision may still be on its way to the database
    report = body.model_dump(mode="json", exclude={"usage", "api"}, exclude_none=True)
    try:
        payload, new = state.repository.record_outcome(decision_id, cost, report)
    except LookupError:
        raise HTTPException(503, "the decision is not stored yet; report again") from None
    if new:
        state.metrics.observe_outcome(plan, cost)
        state.events.publish(outcome_event(plan, cost, body.deployment))
    return {"decision_id": decision_id, "actual_cost": payload, "duplicate": not new}


@router.get("/v1/decisions/{decision_id}", responses=ERROR_RESPONSES)
def get_decision(
    decision_id: DecisionId, http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    state = state_of(http)
    stored = state.repository.load_decision(decision_id)
    if stored is None:
        plan = state.recent.get(decision_id)
        if plan is None or not can_see_tenant(principal, plan.tenant_id):
            raise not_found(f"decision {decision_id}")
        return {"decision": plan.to_dict(), "actual_cost": None, "status": "routed"}
    if not can_see_tenant(principal, stored.tenant_id):
        raise not_found(f"decision {decision_id}")
    return {"decision": stored.plan, "actual_cost": stored.actual_cost, "status": stored.status}


@router.get("/v1/decisions", responses=ERROR_RESPONSES)
def list_decisions(
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    tenant: Annotated[Name | None, Query()] = None,
    since: Annotated[Timestamp | None, Query()] = None,
    until: Annotated[Timestamp | None, Query()] = None,
    cursor: Annotated[Annotated[Name, Field(max_length=400)] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Oldest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    if principal.role == "tenant":
        if tenant not in (None, principal.tenant_id):
            raise not_found(f"tenant {tenant}")
        tenant = principal.tenant_id
    page = state_of(http).repository.list_decisions(
        tenant=tenant, since=since, until=until, cursor=cursor, limit=limit
    )
    return {
        "decisions": [
            {"decision": d.plan, "actual_cost": d.actual_cost, "status": d.status}
            for d in page.decisions
        ],
        "next_cursor": page.next_cursor,
    }


@router.post("/v1/decisions/{decision_id}/replay", responses=ERROR_RESPONSES)
def replay_decision(
    decision_id: DecisionId, http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    """Recompute a stored decision from its snapshot and compare plan hashes."""
    state = state_of(http)
    stored = state.repository.load_decision(decision_id)
    if stored is None or not can_see_tenant(principal, stored.tenant_id):
        raise not_found(f"decision {decision_id}")
    version = stored.snapshot["inputs"]["catalog_version"]
    catalog = (
        state.catalog
        if version == state.catalog.version
        else state.repository.load_catalog(version)
    )
    if catalog is None:
        raise HTTPException(409, f"catalog {version} is not in the store")
    return {"decision_id": decision_id, **replay(stored.snapshot, catalog).to_dict()}
