"""Tenant and platform policies (ETag and If-Match), and tenant spend."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request, Response

from modelrouter.bounds import Name, Timestamp
from modelrouter.errors import InvalidInputError
from modelrouter.money import exact_str
from modelrouter.policy.document import parse_policy
from modelrouter.policy.effective import PolicyStack
from modelrouter.routing.resolver import check_policy_names
from modelrouter.service.auth import authenticate, can_see_tenant, not_found, require, state_of
from modelrouter.service.errors import ERROR_RESPONSES, error_response
from modelrouter.store.keys import Principal

# A tenant id in a path: the same bounds as everywhere (no NUL, at most 200 characters).
TenantId = Annotated[Name, Path()]

router = APIRouter(tags=["policies"])

PUT_RESPONSES = {
    **ERROR_RESPONSES,
    412: error_response("If-Match does not name the current revision"),
    428: error_response("If-Match is required to change an existing policy"),
}


def _etag(revision: int) -> str:
    return f'"r{revision}"'


def _revision(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.startswith("r") or not tag[1:].isdigit():
        raise HTTPException(412, f"If-Match {if_match!r} is not an ETag this API returned")
    return int(tag[1:])


@router.get("/v1/tenants/{tenant_id}/policy", responses=ERROR_RESPONSES)
def get_tenant_policy(
    tenant_id: TenantId,
    http: Request,
    response: Response,
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    require(principal, "admin", "tenant")
    if not can_see_tenant(principal, tenant_id):
        raise not_found(f"tenant {tenant_id}")
    stored = state_of(http).repository.get_tenant_policy(tenant_id)
    if stored is None:
        raise not_found(f"policy for tenant {tenant_id}")
    policy, revision = stored
    response.headers["ETag"] = _etag(revision)
    return {"tenant_id": tenant_id, "version": policy.version, "policy": policy.content()}


@router.put("/v1/tenants/{tenant_id}/policy", responses=PUT_RESPONSES)
def put_tenant_policy(
    tenant_id: TenantId,
    http: Request,
    response: Response,
    principal: Annotated[Principal, Depends(authenticate)],
    document: Annotated[dict[str, Any], Body()],
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Replace a tenant's overlay. Changing an existing one needs the ETag it
    was read with in If-Match; a stale one answers 412."""
    require(principal, "admin")
    state = state_of(http)
    policy = parse_policy(document, source=f"tenant {tenant_id} policy")
    check_policy_names(policy, state.catalog)
    if "health" in document:
        # Circuits are shared by every tenant: only the platform sets when they open.
        raise InvalidInputError(
            "health settings belong to the platform policy; a tenant overlay may not set them",
            field="health",
        )
    current = state.repository.get_tenant_policy(tenant_id)
    expected = _revision(if_match)
    if current is not None and expected is None:
        raise HTTPException(428, "this tenant has a policy: send If-Match with its ETag")
    revision = state.repository.put_tenant_policy(tenant_id, policy, expected_revision=expected)
    state.forget_policies(tenant_id)
    # Every other worker re-reads it on the notice.
    state.config_log.publish(
        "tenant_policy",
        policy.version,
        origin="api",
        source=f"PUT /v1/tenants/{tenant_id}/policy",
        author=principal.key_id,
        subject=tenant_id,
    )
    response.headers["ETag"] = _etag(revision)
    return {"tenant_id": tenant_id, "version": policy.version, "revision": revision}


USAGE_SOURCES = ("measured", "partial", "estimated", "reported")
_SHARE = Decimal("0.0001")


def _share(part: Decimal, whole: Decimal) -> str:
    """``part`` of ``whole`` to four places (half-even); 0 of nothing is 0."""
    return "0" if whole == 0 else exact_str((part / whole).quantize(_SHARE, ROUND_HALF_EVEN))


def _usage_sources(
    counted: dict[str, tuple[int, Decimal]], since: datetime, until: datetime | None
) -> dict[str, Any]:
    outcomes = sum(count for count, _ in counted.values())
    spent = sum((amount for _, amount in counted.values()), Decimal(0))
    by_source = {}
    for source in (*USAGE_SOURCES, *sorted(set(counted) - set(USAGE_SOURCES))):
        count, amount = counted.get(source, (0, Decimal(0)))
        by_source[source] = {
            "outcomes": count,
            "outcome_share": _share(Decimal(count), Decimal(outcomes)),
            "spent_usd": exact_str(amount),
            "spend_share": _share(amount, spent),
        }
    return {
        "since": since.isoformat(),
        "until": None if until is None else until.isoformat(),
        "outcomes": outcomes,
        "spent_usd": exact_str(spent),
        "by_source": by_source,
    }


@router.get("/v1/tenants/{tenant_id}/spend", responses=ERROR_RESPONSES)
def get_spend(
    tenant_id: TenantId,
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    since: Annotated[Timestamp | None, Query()] = None,
    until: Annotated[Timestamp | None, Query()] = None,
) -> dict[str, Any]:
    """Spent and reserved money in every budget window that applies to the
    tenant, each with its budget's name and scope (and the key, provider,
    model, deployment or tag it counts); and, in ``usage_sources``, the
    settled outcomes of decisions routed in [since, until) (default: this
    calendar month, UTC) by where their usage came from (measured, partial,
    estimated, reported), each source's share of the outcomes and of the
    spend. A share of spend that is estimated or partial is money known less
    exactly."""
    require(principal, "admin", "tenant")
    if not can_see_tenant(principal, tenant_id):
        raise not_found(f"tenant {tenant_id}")
    state = state_of(http)
    router_ = state.router()
    tenant_policy, _ = state.tenant_policy(tenant_id)
    stack = PolicyStack(router_.platform_policy, tenant_policy)
    now = router_.now()
    if since is None:
        since = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    counted = state.repository.spend_by_usage_source(tenant_id, since=since, until=until)
    # Key budgets: a window for each of the tenant's keys.
    api_keys = (
        [key.id for key in state.keys.list() if key.tenant_id == tenant_id]
        if any(budget.scope == "key" for budget in stack.effective.budgets)
        else []
    )
    budgets = []
    for window, usage in router_.budget_windows(tenant_id, tenant_policy, api_keys=api_keys):
        matched = {} if window.value is None else {"matched": window.value}
        budgets.append(
            {
                "name": window.name,
                "scope": window.scope,
                **matched,
                "period": window.period,
                "limit_usd": exact_str(window.limit_usd),
                "spent_usd": exact_str(usage.spent),
                "reserved_usd": exact_str(usage.reserved),
                "resets_at": window.resets_at.isoformat(),
            }
        )
    return {
        "tenant_id": tenant_id,
        "budgets": budgets,
        "usage_sources": _usage_sources(counted, since, until),
    }


@router.get("/v1/platform/policy", responses=ERROR_RESPONSES)
def get_platform_policy(
    http: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    require(principal, "admin")
    policy = state_of(http).router().platform_policy
    return {"version": policy.version, "policy": policy.content()}


@router.put("/v1/platform/policy", responses=ERROR_RESPONSES)
def put_platform_policy(
    http: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    document: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Put a new platform policy in force (every version is kept)."""
    require(principal, "admin")
    state = state_of(http)
    policy = parse_policy(document, source="platform policy")
    check_policy_names(policy, state.catalog)
    state.repository.put_platform_policy(policy)
    state.forget_policies()
    state.config_log.publish(
        "platform_policy",
        policy.version,
        origin="api",
        source="PUT /v1/platform/policy",
        author=principal.key_id,
    )
    return {"version": policy.version}
