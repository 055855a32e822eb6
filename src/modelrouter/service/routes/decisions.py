"""Outcomes, decisions and replays."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from modelrouter.bounds import Amount, Name, Timestamp
from modelrouter.routing.replay import replay
from modelrouter.service.auth import authenticate, can_see_tenant, not_found, state_of
from modelrouter.service.catalogs import REPLAY_RETRY_AFTER_SECONDS, replays_of
from modelrouter.service.errors import ERROR_RESPONSES, error_body, error_response, json_response
from modelrouter.store.keys import Principal

router = APIRouter(tags=["decisions"])

DecisionId = Annotated[Name, Field(max_length=64)]

# The only ids the router makes (``routing.planner.decision_id_for``): ``dec_``
# and 24 hex digits of sha256(tenant NUL request id). Any other cannot exist.
DECISION_ID = re.compile(r"dec_[0-9a-f]{24}")
# An outcome for a decision not stored yet: ask again after this long (the
# routing instance's writer commits within a fraction of a second).
NOT_STORED_RETRY_AFTER_SECONDS = 1

UsageSource = Literal["measured", "partial", "estimated", "reported"]
# Usage that tells how long a whole reply is: what the learner and the
# estimate calibration are taught from. A stream cut short, or the plan's own
# estimate, would teach them their own guesses or truncated replies.
TEACHING_SOURCES: frozenset[str] = frozenset({"measured", "reported"})

_RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before asking again",
        "schema": {"type": "integer"},
    }
}
_OBJECT = {"content": {"application/json": {"schema": {"type": "object"}}}}

OUTCOME_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The stored cost, and whether this report stored it", **_OBJECT},
    **ERROR_RESPONSES,
    503: {
        **error_response(
            "The decision is not stored yet (decision_not_stored_yet: it may be in flight "
            "from another instance), or the store is unavailable: retry after Retry-After"
        ),
        "headers": _RETRY_AFTER_HEADER,
    },
}

REPLAY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The replayed plan compared with the stored one", **_OBJECT},
    **ERROR_RESPONSES,
    429: {
        **error_response("Too many replays at once (replay_busy): retry after Retry-After"),
        "headers": _RETRY_AFTER_HEADER,
    },
}


def _retry_later(status: int, code: str, message: str, seconds: int) -> Response:
    return JSONResponse(
        error_body(code, message), status_code=status, headers={"Retry-After": str(seconds)}
    )


def tenant_scope(principal: Principal) -> str | None:
    """The tenant a key's reads are filtered by, in the query itself (None: all)."""
    return principal.tenant_id if principal.role == "tenant" else None


def usage_source_fits(value: str | None, info: ValidationInfo) -> str | None:
    """A report's ``usage_source`` must agree with whether it sent usage."""
    sent = info.data.get("usage") is not None
    if value == "estimated" and sent:
        raise ValueError("estimated usage is the plan's estimate: send it without usage")
    if value not in (None, "estimated") and not sent:
        raise ValueError(f"{value} usage needs the usage body")
    return value


class Outcome(BaseModel):
    """What happened: the usage the provider reported (our normalised shape, or
    a raw body with its ``api``), which hop served, and how it went.

    ``usage_source`` says where the usage came from, and is stored with the
    cost: ``measured`` (the provider's usage block; the default when ``usage``
    is sent), ``partial`` (a stream cut before its final usage event: what was
    counted so far), ``reported`` (typed by hand), ``estimated`` (no usage at
    all; the default when ``usage`` is left out: settled at the served hop's
    estimate, its input tokens and expected reply)."""

    model_config = ConfigDict(extra="forbid")

    usage: dict[str, Any] | None = None
    api: Literal[
        "normalized", "openai-chat", "openai-responses", "anthropic", "gemini", "bedrock"
    ] = "normalized"
    usage_source: UsageSource | None = None
    deployment: Annotated[Name, Field(max_length=400)] | None = None
    latency_ms: Amount | None = None
    ttft_ms: Amount | None = None
    status: Literal["ok", "error"] = "ok"
    error_class: Name | None = None

    _fits_the_usage = field_validator("usage_source")(usage_source_fits)

    @property
    def source(self) -> UsageSource:
        if self.usage_source is not None:
            return self.usage_source
        return "estimated" if self.usage is None else "measured"


def not_stored_yet(decision_id: str) -> Response:
    return _retry_later(
        503,
        "decision_not_stored_yet",
        f"decision {decision_id} is not stored yet (it may still be on its way from the "
        "instance that routed it); report it again",
        NOT_STORED_RETRY_AFTER_SECONDS,
    )


@router.get("/v1/decisions/{decision_id}", responses=ERROR_RESPONSES)
def get_decision(
    decision_id: DecisionId, http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    """A decision and its cost. For a tenant key another tenant's decision is
    not read at all: it answers exactly what a missing one answers."""
    state = state_of(http)
    # Read before the store: the recent plans let a plan go once the writer
    # has committed it, so one gone by the time the store is read is in it.
    plan = state.recent.get(decision_id)
    stored = state.repository.load_decision(decision_id, tenant=tenant_scope(principal))
    if stored is None:
        if plan is None or not can_see_tenant(principal, plan.tenant_id):
            raise not_found(f"decision {decision_id}")
        return {"decision": plan.to_dict(), "actual_cost": None, "status": "routed"}
    if not can_see_tenant(principal, stored.tenant_id):
        raise not_found(f"decision {decision_id}")
    attempts = [a.to_dict() for a in state.attempt_log.attempts(decision_id)]
    return {
        "decision": stored.plan,
        "actual_cost": stored.actual_cost,
        "status": stored.status,
        "attempts": attempts,
    }


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


@router.post(
    "/v1/decisions/{decision_id}/replay",
    responses=REPLAY_RESPONSES,
    response_class=JSONResponse,
)
def replay_decision(
    decision_id: DecisionId, http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> Response:
    """Recompute a stored decision from its snapshot and compare plan hashes.

    A sync endpoint: it runs in the thread pool, never on the event loop that
    routes. The catalog versions replay loads are kept (the last few); a few
    replays run at once, and one more answers 429 ``replay_busy`` with
    Retry-After instead of waiting."""
    state = state_of(http)
    stored = state.repository.load_decision(decision_id, tenant=tenant_scope(principal))
    if stored is None or not can_see_tenant(principal, stored.tenant_id):
        raise not_found(f"decision {decision_id}")
    replays = replays_of(http.app.state)
    with replays.slots.slot() as admitted:
        if not admitted:
            return _retry_later(
                429,
                "replay_busy",
                f"{replays.slots.limit} replays are running; replay again shortly",
                REPLAY_RETRY_AFTER_SECONDS,
            )
        version = stored.snapshot["inputs"]["catalog_version"]
        catalog = state.catalog_at(version)
        if catalog is None:
            raise HTTPException(409, f"catalog {version} is not in the store")
        result = replay(stored.snapshot, catalog)
    return json_response({"decision_id": decision_id, **result.to_dict()})
