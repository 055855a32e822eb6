"""Attempts of a decision (``POST /v1/decisions/{id}/attempts``) and the
one-attempt shorthand (``POST /v1/decisions/{id}/outcome``).

Each attempt is priced if it has usage, settled once under its attempt id,
stored, and taught to the live signals: its error class (given, or read from
the provider's status and body), reset, latency and rate-limit headers.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)

from modelrouter.bounds import Amount, Name
from modelrouter.errors import UNION_TAG
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.classify import ErrorClass, classify
from modelrouter.feedback.ratelimits import parse_rate_limit_headers
from modelrouter.observability.events import outcome_event
from modelrouter.observability.tracing import record_cost, span
from modelrouter.pricing.extract import extract_usage
from modelrouter.pricing.usage import Usage
from modelrouter.service.auth import authenticate, can_see_tenant, not_found, require, state_of
from modelrouter.service.routes.decisions import (
    DECISION_ID,
    OUTCOME_RESPONSES,
    TEACHING_SOURCES,
    DecisionId,
    Outcome,
    UsageSource,
    not_stored_yet,
    tenant_scope,
    usage_source_fits,
)
from modelrouter.service.state import ServiceState
from modelrouter.store.attempts import AttemptRecord
from modelrouter.store.keys import Principal
from modelrouter.store.repository import StoredDecision, decision_row
from modelrouter.types import RoutingPlan

router = APIRouter(tags=["decisions"])

AttemptStatus = Literal[
    "ok",
    "error",
    "rate_limited",
    "quota_exhausted",
    "overloaded",
    "server_error",
    "timeout",
    "auth_error",
    "context_window_exceeded",
    "content_policy",
    "bad_request",
]
HeaderName = Annotated[str, Field(min_length=1, max_length=100)]
HeaderValue = Annotated[str, Field(max_length=1000)]


class AttemptReport(BaseModel):
    """One attempt: which hop, how it went, what it cost and what it took.

    ``status`` is ``ok``, an error class, or ``error`` with the provider's
    ``http_status`` and ``error`` body for the router to classify. ``headers``
    are the provider's answer headers (the rate-limit ones are read:
    ``retry-after``, ``x-ratelimit-*``, ``anthropic-ratelimit-*``). A repeated
    report under one ``attempt_id`` changes nothing; without one, the id is
    the hash of the report, so a resent identical report is the same attempt."""

    model_config = ConfigDict(extra="forbid")

    attempt_id: Annotated[Name, Field(max_length=64)] | None = None
    deployment: Annotated[Name, Field(max_length=400)]
    status: AttemptStatus
    http_status: int | None = Field(default=None, ge=100, le=599)
    error: dict[str, Any] | list[Any] | str | None = None
    headers: dict[HeaderName, HeaderValue] | None = Field(default=None, max_length=100)
    usage: dict[str, Any] | None = None
    api: Literal[
        "normalized", "openai-chat", "openai-responses", "anthropic", "gemini", "bedrock"
    ] = "normalized"
    usage_source: UsageSource | None = None
    latency_ms: Amount | None = None
    ttft_ms: Amount | None = None
    output_tokens_per_s: Amount | None = Field(default=None, gt=0)
    # The last attempt of the decision (default: a served one is, a failed one is not).
    final: bool | None = None

    _fits_the_usage = field_validator("usage_source")(usage_source_fits)

    @field_validator("error")
    @classmethod
    def _error_needs_status(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("status") == "ok":
            raise ValueError("an ok attempt has no error body")
        return value

    def identity(self) -> str:
        if self.attempt_id is not None:
            return self.attempt_id
        body = self.model_dump(mode="json", exclude_none=True)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return "auto_" + digest[:24]


class AttemptBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: list[AttemptReport] = Field(min_length=1, max_length=20)


def _shape(body: Any) -> str:
    # A body with ``attempts`` is a batch; any other is one attempt, whose own
    # errors (a bad status, say) are then the ones reported.
    many = isinstance(body, dict) and "attempts" in body
    return f"{UNION_TAG}batch" if many else f"{UNION_TAG}one"


AttemptBody = Annotated[
    Annotated[AttemptBatch, Tag(f"{UNION_TAG}batch")]
    | Annotated[AttemptReport, Tag(f"{UNION_TAG}one")],
    Discriminator(_shape),
]


def _source(report: AttemptReport | Outcome) -> UsageSource | None:
    if report.usage_source is not None:
        return report.usage_source
    if report.usage is not None:
        return "measured"
    return "estimated" if _served(report) else None


def _served(report: AttemptReport | Outcome) -> bool:
    return report.status == "ok" or isinstance(report, Outcome)


def _plan_of(
    state: ServiceState,
    decision_id: str,
    principal: Principal,
    stored: StoredDecision | None = None,
) -> tuple[RoutingPlan | None, Response | None]:
    """The decision's plan, storing it now if it was routed here and is still
    on its way to the database; or the answer to give instead (404, 503).
    ``stored`` is the row when the caller has read it already."""
    if DECISION_ID.fullmatch(decision_id) is None:
        raise not_found(f"decision {decision_id}")
    # Read before the store: the recent plans let a plan go once the writer
    # has committed it, so one gone by the time the store is read is in it.
    plan = state.recent.get(decision_id)
    if stored is None:
        stored = state.repository.load_decision(decision_id, tenant=tenant_scope(principal))
    if stored is None:
        if plan is None or not can_see_tenant(principal, plan.tenant_id):
            return None, not_stored_yet(decision_id)
        state.repository.save_decisions([decision_row(plan)])
    elif plan is None:
        plan = RoutingPlan.from_dict(stored.plan)
    if not can_see_tenant(principal, plan.tenant_id):
        raise not_found(f"decision {decision_id}")
    return plan, None


def _estimated(plan: RoutingPlan, deployment: str) -> Usage:
    hop = next((c for c in plan.hops if c.deployment == deployment), None)
    if hop is None:
        return Usage()  # not a hop: ``Router.record_attempt`` says which are
    return Usage(
        input_tokens=hop.estimate.input_tokens,
        output_tokens=hop.estimate.expected_output_tokens,
    )


def _attempt(
    state: ServiceState, plan: RoutingPlan, report: AttemptReport, now: datetime
) -> tuple[Attempt, dict[str, Any]]:
    """The library's attempt for one report, and what is stored beside its cost."""
    deployment = state.catalog.deployments.get(report.deployment)
    provider = None if deployment is None else deployment.provider
    error_class: ErrorClass | None = None
    reset = None
    detail = None
    if report.status == "error":
        if report.http_status is None and report.error is None:
            raise HTTPException(
                422, "an error attempt needs an error class as status, or http_status and error"
            )
        found = classify(
            report.http_status, report.error, headers=report.headers, provider=provider
        )
        error_class, reset, detail = found.error_class, found.reset_after_s, found.detail
    elif report.status != "ok":
        error_class = ErrorClass(report.status)
        if report.http_status is not None or report.error is not None:
            reset = classify(
                report.http_status, report.error, headers=report.headers, provider=provider
            ).reset_after_s
    limits = None if not report.headers else parse_rate_limit_headers(report.headers, now)
    usage = None
    if report.usage is not None:
        usage = extract_usage(report.usage, report.api).usage
    elif report.status == "ok" or report.usage_source == "estimated":
        usage = _estimated(plan, report.deployment)
    source = _source(report)
    attempt = Attempt(
        deployment=report.deployment,
        error_class=error_class,
        attempt_id=report.identity(),
        usage=usage,
        teaches=source in TEACHING_SOURCES,
        latency_ms=report.latency_ms,
        ttft_ms=report.ttft_ms,
        output_tokens_per_s=report.output_tokens_per_s,
        rate_limits=limits,
        reset_after_s=reset,
        final=report.final,
    )
    stored: dict[str, Any] = {
        "status": "ok" if error_class is None else error_class.value,
        **report.model_dump(
            mode="json",
            include={"http_status", "latency_ms", "ttft_ms", "output_tokens_per_s"},
            exclude_none=True,
        ),
    }
    if detail is not None:
        stored["detail"] = detail
    if limits is not None and limits.to_dict():
        stored["rate_limits"] = limits.to_dict()
    return attempt, stored


def _record(
    state: ServiceState,
    plan: RoutingPlan,
    reports: list[AttemptReport],
    *,
    stored_report: dict[str, Any] | None = None,
) -> dict[str, Any]:
    known = {a.attempt_id: a for a in state.attempt_log.attempts(plan.decision_id)}
    records: list[AttemptRecord] = []
    done: list[tuple[Attempt, Any]] = []
    now = datetime.now(UTC)
    for report in reports:
        identity = report.identity()
        if identity in known or any(r.attempt_id == identity for r in records):
            continue
        attempt, stored = _attempt(state, plan, report, now)
        with span("attempt", decision=plan.decision_id, deployment=attempt.deployment) as current:
            cost = state.router().record_attempt(plan, attempt)
            if cost is not None:
                record_cost(current, cost)
        records.append(
            AttemptRecord(
                attempt_id=identity,
                deployment=attempt.deployment,
                status=stored.pop("status"),
                final=attempt.is_final,
                cost=cost,
                usage_source=_source(report) if cost is not None else None,
                report=stored if stored_report is None else stored_report,
            )
        )
        done.append((attempt, cost))
    stored_attempts, new, decision_cost = (
        state.attempt_log.record(plan.decision_id, records)
        if records
        else (list(known.values()), [], _cost_of(state, plan))
    )
    for (attempt, cost), record, is_new in zip(done, records, new, strict=True):
        if not is_new:
            continue
        provider = plan.hops[[c.deployment for c in plan.hops].index(attempt.deployment)].provider
        state.metrics.count_attempt(provider, record.status)
        if cost is not None:
            state.metrics.observe_outcome(plan, cost)
            event = outcome_event(plan, cost, attempt.deployment)
            if attempt.attempt_id != "outcome":
                event["event_id"] = f"{plan.decision_id}:attempt:{attempt.attempt_id}"
            event["attempt"] = {"attempt_id": attempt.attempt_id, "status": record.status}
            state.events.publish(event)
    by_id = {a.attempt_id: a for a in stored_attempts}
    fresh = {r.attempt_id for r, is_new in zip(records, new, strict=True) if is_new}
    answer: dict[str, Any] = {
        "decision_id": plan.decision_id,
        "attempts": [
            {**by_id[r.identity()].to_dict(), "duplicate": r.identity() not in fresh}
            for r in reports
            if r.identity() in by_id
        ],
        "actual_cost": decision_cost,
    }
    last = done[-1][0] if done else None
    if last is not None and not last.is_final:
        # Where the gateway goes next: the error's own chain (content_policy) or the main one.
        tried = [a.deployment for a in stored_attempts]
        after = plan.next_hop(tried, None if last.error_class is None else last.error_class.value)
        answer["next"] = None if after is None else after.to_dict()
    if fresh and plan.reserved_usd is not None:
        tenant_policy, _ = state.tenant_policy(plan.tenant_id)
        over = state.router().over_budget(plan, tenant_policy)
        if over:
            answer["over_budget"] = over
            state.metrics.count_over_budget(plan)
    return answer


def _cost_of(state: ServiceState, plan: RoutingPlan) -> dict[str, Any] | None:
    stored = state.repository.load_decision(plan.decision_id)
    return None if stored is None else stored.actual_cost


@router.post(
    "/v1/decisions/{decision_id}/attempts",
    responses=OUTCOME_RESPONSES,
    response_class=JSONResponse,
)
def record_attempts(
    decision_id: DecisionId,
    body: AttemptBody,
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
) -> Response:
    """Report one attempt, or several (``{"attempts": [...]}``), of a decision.

    Every attempt with usage is priced at the prices of the decision's
    catalog version; the decision's cost is the sum, and each attempt is
    settled against the tenant's budget once. A served attempt (or one marked
    ``final``) releases the decision's reservation. Failed attempts move the
    deployment's circuit; latency and rate-limit headers move its estimates
    and headroom. Unknown decision ids are answered as the outcome endpoint
    answers them (404 malformed, 503 ``decision_not_stored_yet``)."""
    require(principal, "admin", "gateway")
    state = state_of(http)
    plan, refusal = _plan_of(state, decision_id, principal)
    if refusal is not None:
        return refusal
    assert plan is not None
    reports = body.attempts if isinstance(body, AttemptBatch) else [body]
    try:
        return JSONResponse(_record(state, plan, reports))
    except LookupError:
        return not_stored_yet(decision_id)


@router.post(
    "/v1/decisions/{decision_id}/outcome",
    responses=OUTCOME_RESPONSES,
    response_class=JSONResponse,
)
def record_outcome(
    decision_id: DecisionId,
    body: Outcome,
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
) -> Response:
    """Settle a decision with one attempt (its id is ``outcome``): its exact
    cost, idempotent (a repeated report answers the first cost and changes
    nothing).

    A decision is routed by one instance and stored by its writer a moment
    later, so an outcome sent to another instance may arrive first. An unknown
    id is answered by what it could be:

    - not ``dec_`` and 24 lowercase hex digits: no decision can have it; 404 at
      once, without reading the store;
    - routed by this instance and not stored yet: its row is written now (the
      insert skips it if the writer got there first) and the outcome settled;
    - well formed, and known to neither the store nor this instance: it may be
      in flight from another instance; 503 ``decision_not_stored_yet`` with
      Retry-After, and nothing is settled. An id is a hash, so one that was
      never routed cannot be told from one in flight: it answers 503 each time,
      and the gateway's bounded retries end it. Retry on 503, never on 404.
    """
    require(principal, "admin", "gateway")
    state = state_of(http)
    if DECISION_ID.fullmatch(decision_id) is None:
        raise not_found(f"decision {decision_id}")
    stored = state.repository.load_decision(decision_id, tenant=tenant_scope(principal))
    if stored is not None and stored.actual_cost is not None:
        earlier = {a.attempt_id for a in state.attempt_log.attempts(decision_id)}
        if not earlier or "outcome" in earlier:  # settled by an outcome (or before attempts)
            return JSONResponse(
                {"decision_id": decision_id, "actual_cost": stored.actual_cost, "duplicate": True}
            )
    plan, refusal = _plan_of(state, decision_id, principal, stored)
    if refusal is not None:
        return refusal
    assert plan is not None
    served = body.deployment or plan.primary.deployment
    health = _outcome_class(body)
    report = AttemptReport(
        attempt_id="outcome",
        deployment=served,
        status="ok" if health is None else health,
        usage=body.usage,
        api=body.api,
        usage_source=body.source,
        latency_ms=body.latency_ms,
        ttft_ms=body.ttft_ms,
        final=True,
    )
    # Stored as the outcome endpoint always stored it: what the gateway said beside the usage.
    said = body.model_dump(mode="json", exclude={"usage", "api", "usage_source"}, exclude_none=True)
    try:
        answer = _record(state, plan, [report], stored_report=said)
    except LookupError:
        return not_stored_yet(decision_id)
    duplicate = bool(answer["attempts"]) and answer["attempts"][0]["duplicate"]
    out: dict[str, Any] = {
        "decision_id": decision_id,
        "actual_cost": answer["actual_cost"],
        "duplicate": duplicate,
    }
    if "over_budget" in answer:
        out["over_budget"] = answer["over_budget"]
    return JSONResponse(out)


def _outcome_class(body: Outcome) -> str | None:
    """An outcome that says it failed with one of the error classes teaches the
    circuit; its usage (a stream cut short) is settled all the same."""
    if body.status != "error" or body.error_class is None:
        return None
    return body.error_class if body.error_class in _CLASSES else None


_CLASSES = frozenset(e.value for e in ErrorClass)
