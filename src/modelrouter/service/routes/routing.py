"""POST /v1/route and POST /v1/estimate."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from modelrouter.errors import (
    InvalidInputError,
    ModelRouterError,
    NoRouteError,
    RequestIdReused,
    StoreUnavailable,
)
from modelrouter.observability.events import decision_event
from modelrouter.observability.metrics import failure_result
from modelrouter.observability.tracing import record_plan, span
from modelrouter.policy.document import PolicyDocument
from modelrouter.request.model import RouteRequest
from modelrouter.router import Router, new_request_id
from modelrouter.routing.planner import PlanInputs, decision_id_for
from modelrouter.service.auth import authenticate, require, state_of
from modelrouter.service.errors import ERROR_RESPONSES, error_response, json_response
from modelrouter.service.routes.decisions import not_stored_yet
from modelrouter.service.state import ServiceState
from modelrouter.store.keys import Principal, Role
from modelrouter.types import RoutingPlan

router = APIRouter(tags=["routing"])

ROUTE_RESPONSES = {
    **ERROR_RESPONSES,
    402: error_response("A budget (the tenant's, the key's, a provider's...) cannot cover it"),
}


# The roles whose keys may route (and estimate).
ROUTING_ROLES: tuple[Role, ...] = ("admin", "gateway", "tenant")


def _scoped(principal: Principal, request: RouteRequest) -> RouteRequest:
    require(principal, *ROUTING_ROLES)
    if principal.role != "tenant":
        return request
    if request.tenant_id not in (None, principal.tenant_id):
        raise HTTPException(403, "a tenant key routes for its own tenant only")
    return request.model_copy(update={"tenant_id": principal.tenant_id})


def _admits_on_outage(platform: PolicyDocument, tenant: PolicyDocument | None) -> bool:
    return platform.budget_outage == "admit" and (
        tenant is None or tenant.budget_outage != "refuse"
    )


Policies = tuple[Router, PolicyDocument | None]


def _policies(state: ServiceState, request: RouteRequest) -> Policies:
    """The router under the platform policy, and the tenant's overlay: looked
    up once per request, so its plan and its budget check see the same ones."""
    tenant_policy, _ = state.tenant_policy(request.tenant_id)
    return state.router(), tenant_policy


def _plan(
    http: Request,
    request: RouteRequest,
    reserve: bool,
    api_key_id: str | None = None,
    policies: Policies | None = None,
) -> RoutingPlan:
    """The plan for ``request``; ``api_key_id`` is the caller's key (budgets of
    scope ``key`` count its spend)."""
    state = state_of(http)
    router_, tenant_policy = policies or _policies(state, request)
    stale = state.policy_cache.stale_since
    started = time.perf_counter()
    try:
        with span("route", model=request.model, tenant=request.tenant_id) as current:
            try:
                plan = router_.route(
                    request,
                    tenant_policy=tenant_policy,
                    reserve=reserve,
                    policy_stale_since=stale,
                    api_key_id=api_key_id,
                )
            except SQLAlchemyError:
                # Only the budget ledger is read while routing.
                if not _admits_on_outage(router_.platform_policy, tenant_policy):
                    raise StoreUnavailable(
                        "the budget ledger is unreachable, and budgeted requests are refused "
                        "while it is (platform policy budget_outage: refuse)"
                    ) from None
                state.metrics.count_unchecked_budget()
                plan = router_.route(
                    request,
                    tenant_policy=tenant_policy,
                    skip_budgets=True,
                    policy_stale_since=stale,
                )
            record_plan(current, plan)
    except ModelRouterError as exc:
        result = failure_result(exc)
        if result is not None:
            rejections = exc.rejections if isinstance(exc, NoRouteError) else ()
            strategy = request.strategy.value if request.strategy else None
            state.metrics.observe_failure(
                result, strategy, time.perf_counter() - started, rejections=rejections
            )
        raise
    state.metrics.observe_decision(plan, time.perf_counter() - started)
    if stale is not None:
        state.metrics.count_stale_policy()
    if isinstance(plan.inputs, PlanInputs) and plan.inputs.signals_stale:
        state.metrics.count_stale_signals()
    return plan


def _holds_budget(policies: Policies) -> bool:
    router_, tenant_policy = policies
    return bool(router_.platform_policy.budgets or (tenant_policy and tenant_policy.budgets))


PLAN_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The plan: decision_id, primary, fallbacks, rejected, plan_hash",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _identified(principal: Principal, request: RouteRequest) -> RouteRequest:
    """The request as routed: the router's clock, and a fresh id when it has none."""
    if request.timestamp is not None and principal.role != "admin":
        # A claimed time would pick its price rule and budget window.
        raise InvalidInputError(
            "timestamp: the router's clock times a routed decision; "
            "a timestamp is accepted by /v1/estimate",
            field="timestamp",
        )
    if request.request_id is None:
        return request.model_copy(update={"request_id": new_request_id()})
    return request


def fingerprint(request: RouteRequest) -> bytes:
    """What a retry must repeat: the whole body as routed. 16 bytes of its
    sha256 (a chance collision is beyond reach; each of the 50,000 remembered
    decisions keeps one)."""
    return hashlib.sha256(request.model_dump_json().encode("utf-8")).digest()[:16]


def _answer(plan: RoutingPlan, include: str | None, *, repeat: bool) -> Response:
    body = plan.to_dict(include_snapshot=include == "snapshot")
    body["repeat"] = repeat
    return json_response(body)


def _stored_answer(state: ServiceState, decision_id: str, include: str | None) -> Response:
    """A repeated request id's decision, once only the store holds it whole:
    the plan as first answered (the snapshot's output), and its snapshot."""
    stored = state.repository.load_decision(decision_id)
    if stored is None:
        # Routed and answered here, and not in the database yet (it is away,
        # or the writer is behind): never a second decision under the same id.
        return not_stored_yet(decision_id)
    body = dict(stored.plan)
    if include == "snapshot":
        body["snapshot"] = stored.snapshot
    body["repeat"] = True
    return json_response(body)


@router.post(
    "/v1/route", responses={**PLAN_RESPONSE, **ROUTE_RESPONSES}, response_class=JSONResponse
)
async def route(
    body: RouteRequest,
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    include: Annotated[Literal["snapshot"] | None, Query()] = None,
) -> Response:
    """Plan a request: primary, fallbacks, estimates, every rejection. The
    decision is recorded (off the hot path) and answers by ``decision_id``.
    A request id already routed with the same body answers that decision again
    (``"repeat": true``, nothing reserved twice); with another body, 409."""
    return await route_for(http, principal, body, include)


async def route_for(
    http: Request, principal: Principal, body: RouteRequest, include: str | None
) -> Response:
    """``POST /v1/route`` once its body and key are known: for the declared
    route above and for its fast path (``service.fast_route``)."""
    request = _identified(principal, _scoped(principal, body))
    assert request.request_id is not None
    state = state_of(http)
    if state.policy_cache.tenant(request.tenant_id) is None:
        # A tenant seen for the first time: its policy is read off the event loop.
        await run_in_threadpool(state.policy_cache.load_tenant, request.tenant_id or "")
    decision_id = decision_id_for(request.tenant_id, request.request_id)
    mark = fingerprint(request)
    while True:
        pending = state.routing.get(decision_id)
        if pending is not None:
            # The same request id is being routed right now: wait for its answer
            # (then it is remembered, or it failed and this one routes afresh).
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)
            continue
        seen = state.recent.entry(decision_id)
        if seen is None:
            break
        first, seen_mark = seen
        if seen_mark != mark:
            raise RequestIdReused(request.request_id, decision_id)
        if first is not None:
            return _answer(first, include, repeat=True)
        # Committed by the writer: the store answers (a database read, off the loop).
        return await run_in_threadpool(_stored_answer, state, decision_id, include)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    state.routing[decision_id] = done
    try:
        policies = _policies(state, request)
        if _holds_budget(policies):
            # Reserving budget is a database transaction: off the event loop.
            plan = await run_in_threadpool(_plan, http, request, True, principal.key_id, policies)
        else:
            plan = _plan(http, request, True, principal.key_id, policies)
        # Remembered before the journal has it: the writer may commit it (and
        # tell the recent plans so) before this coroutine runs again. A retry
        # meanwhile waits on ``state.routing``, so nothing is answered before it
        # is durable.
        state.recent.put(plan, mark)
        try:
            # Answered only once durable: fsynced in the journal (a group commit).
            await state.writer.acknowledge(plan)
        except BaseException:
            state.recent.discard(decision_id)
            raise
    finally:
        del state.routing[decision_id]
        done.set_result(None)
    state.events.publish(decision_event(plan))
    # Without budgets, routing is CPU work with no blocking I/O (policies and
    # keys are cached, the decision is queued), so it runs on the event loop; the plan,
    # already made of JSON types, is encoded once without FastAPI's re-encoding.
    return _answer(plan, include, repeat=False)


@router.post("/v1/estimate", responses=ROUTE_RESPONSES)
def estimate(
    body: RouteRequest, http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    """What the request would cost on each hop, without recording a decision or
    holding budget."""
    plan = _plan(http, _scoped(principal, body), reserve=False, api_key_id=principal.key_id)
    return {
        "model": plan.model,
        "strategy": plan.strategy,
        "catalog_version": plan.catalog_version,
        "hops": [
            {
                "deployment": hop.deployment,
                "estimate": hop.estimate.to_dict(),
                "expected_latency_ms": hop.to_dict()["expected_latency_ms"],
            }
            for hop in plan.chain
        ],
        "rejected": [rejection.to_dict() for rejection in plan.rejected],
    }
