"""Decision and outcome events: one JSON document per routing decision and per
settled outcome, handed to a sink that publishes it off the hot path.

Outer ring: the core never imports this module.

Documents (``version`` 1; money as exact decimal strings, never floats)::

    decision   type, version, event_id (= decision_id), time (the routing time),
               decision_id, request_id, tenant_id, model, strategy,
               primary {deployment, provider, model}, fallbacks [deployment...],
               plan_hash, catalog_version, policy_version,
               estimate {expected_usd, worst_case_usd, input_tokens,
                         expected_output_tokens, max_output_tokens, price_rule},
               reserved_usd, rejected {reason code: count}
    outcome    the same identity and plan fields, event_id "<decision_id>:outcome",
               time (when the outcome was recorded), routed_at,
               served {deployment, provider, model, hop (0 = primary)},
               estimate (of the hop that served), actual {total_usd, components,
               price_rule, priced_at, catalog_version}, usage

Sinks that publish them are in ``observability.sinks``.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Protocol

from modelrouter.money import exact_str
from modelrouter.observability.json_codec import dumps
from modelrouter.pricing.cost import ActualCost
from modelrouter.types import Candidate, CostEstimate, Rejection, RoutingPlan

__all__ = [
    "DECISIONS_SUBJECT",
    "EVENT_VERSION",
    "OUTCOMES_SUBJECT",
    "Event",
    "EventSink",
    "decision_event",
    "encode_event",
    "outcome_event",
]

EVENT_VERSION: Final = 1
DECISIONS_SUBJECT: Final = "modelrouter.decisions"
OUTCOMES_SUBJECT: Final = "modelrouter.outcomes"

Event = dict[str, Any]


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else exact_str(amount)


def _estimate(estimate: CostEstimate) -> dict[str, Any]:
    return {
        "expected_usd": exact_str(estimate.expected_usd),
        "worst_case_usd": _money(estimate.worst_case_usd),
        "input_tokens": estimate.input_tokens,
        "expected_output_tokens": estimate.expected_output_tokens,
        "max_output_tokens": estimate.max_output_tokens,
        "price_rule": estimate.price_rule,
    }


def _hop(candidate: Candidate) -> dict[str, Any]:
    return {
        "deployment": candidate.deployment,
        "provider": candidate.provider,
        "model": candidate.model,
    }


def _rejected(rejections: tuple[Rejection, ...]) -> dict[str, int]:
    return dict(sorted(Counter(r.code.value for r in rejections).items()))


def _plan_fields(plan: RoutingPlan) -> dict[str, Any]:
    return {
        "decision_id": plan.decision_id,
        "request_id": plan.request_id,
        "tenant_id": plan.tenant_id,
        "model": plan.model,
        "strategy": plan.strategy,
        "primary": _hop(plan.primary),
        "fallbacks": [candidate.deployment for candidate in plan.fallbacks],
        "plan_hash": plan.plan_hash,
        "catalog_version": plan.catalog_version,
        "policy_version": plan.policy_version,
        "reserved_usd": _money(plan.reserved_usd),
        "rejected": _rejected(plan.rejected),
    }


def decision_event(plan: RoutingPlan) -> Event:
    """The ``decision`` document of a routed request (its time is the routing
    time the plan was made at, so the document is a pure function of the plan)."""
    return {
        "type": "decision",
        "version": EVENT_VERSION,
        "event_id": plan.decision_id,
        "time": plan.timestamp.isoformat(),
        **_plan_fields(plan),
        "estimate": _estimate(plan.primary.estimate),
    }


def outcome_event(
    plan: RoutingPlan,
    cost: ActualCost,
    deployment: str | None = None,
    *,
    at: datetime | None = None,
) -> Event:
    """The ``outcome`` document of a served request: ``cost`` as
    ``Router.record_outcome`` returned it, ``deployment`` the hop that served
    (default ``cost.deployment``; ValueError if it is not one of the plan's hops
    or not the deployment the cost was priced for), ``at`` when the outcome was
    recorded (default now)."""
    served = deployment or cost.deployment
    if served != cost.deployment:
        raise ValueError(f"the cost was priced for {cost.deployment}, not {served}")
    index = next((i for i, c in enumerate(plan.hops) if c.deployment == served), None)
    if index is None:
        hops = ", ".join(c.deployment for c in plan.hops)
        raise ValueError(f"{served} is not a hop of decision {plan.decision_id}; hops: {hops}")
    hop = plan.hops[index]
    return {
        "type": "outcome",
        "version": EVENT_VERSION,
        "event_id": f"{plan.decision_id}:outcome",
        "time": (at or datetime.now(UTC)).isoformat(),
        "routed_at": plan.timestamp.isoformat(),
        **_plan_fields(plan),
        "served": {**_hop(hop), "hop": index},
        "estimate": _estimate(hop.estimate),
        "actual": {
            "total_usd": exact_str(cost.total_usd),
            "components": {name: exact_str(value) for name, value in cost.components.items()},
            "price_rule": cost.price_rule,
            "priced_at": cost.priced_at.isoformat(),
            "catalog_version": cost.catalog_version,
        },
        "usage": cost.usage.to_dict(),
    }


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return exact_str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_event(event: Event) -> bytes:
    """A document as compact UTF-8 JSON (Decimals as exact strings)."""
    return dumps(event, default=_json_default)


class EventSink(Protocol):
    """Where events go. ``publish`` never blocks and never raises for a sink
    that is slow or away (the event is dropped and counted instead);
    ``close`` publishes what is queued, within a bounded time."""

    def publish(self, event: Event) -> None: ...

    def close(self) -> None: ...
