"""The service's answers as typed values, built from the library's own types
(``RoutingPlan``, ``CostEstimate``, ``Rejection``, ``ActualCost``, ``Usage``).

Each value keeps the answer it was read from in ``raw``, for the fields a
newer service may add."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from modelrouter.pricing.cost import ActualCost
from modelrouter.pricing.usage import Usage
from modelrouter.types import Candidate, CostEstimate, Rejection, RoutingPlan

__all__ = [
    "AttemptAnswer",
    "BudgetSpend",
    "Decision",
    "DecisionCost",
    "Estimate",
    "EstimatedHop",
    "ReportedAttempt",
    "Spend",
    "cost_from_dict",
]


def cost_from_dict(raw: Mapping[str, Any]) -> ActualCost:
    """An attempt's cost as the service stores it (``ActualCost.to_dict``)."""
    return ActualCost(
        deployment=raw["deployment"],
        total_usd=Decimal(raw["total_usd"]),
        components={name: Decimal(value) for name, value in raw["components"].items()},
        usage=Usage.from_dict(raw["usage"]),
        price_rule=raw["price_rule"],
        priced_at=datetime.fromisoformat(raw["priced_at"]),
        catalog_version=raw["catalog_version"],
    )


@dataclass(frozen=True, slots=True)
class DecisionCost:
    """A decision's cost: the sum of its priced attempts."""

    total_usd: Decimal
    deployment: str | None  # the hop that served
    components: Mapping[str, Decimal]
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DecisionCost:
        return cls(
            total_usd=Decimal(raw["total_usd"]),
            deployment=raw.get("deployment"),
            components={k: Decimal(v) for k, v in (raw.get("components") or {}).items()},
            raw=raw,
        )


def _decision_cost(raw: Any) -> DecisionCost | None:
    return None if raw is None else DecisionCost.from_dict(raw)


@dataclass(frozen=True, slots=True)
class ReportedAttempt:
    attempt_id: str
    deployment: str
    status: str
    final: bool
    cost: ActualCost | None
    duplicate: bool  # reported before: nothing changed
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ReportedAttempt:
        cost = raw.get("cost")
        return cls(
            attempt_id=raw["attempt_id"],
            deployment=raw["deployment"],
            status=raw["status"],
            final=bool(raw.get("final")),
            cost=None if cost is None else cost_from_dict(cost),
            duplicate=bool(raw.get("duplicate")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class AttemptAnswer:
    """What ``POST /v1/decisions/{id}/attempts`` answers. ``next`` is the hop
    to try next (after a ``content_policy`` failure, from the plan's content
    policy chain; None after a bad request or when none is left);
    ``has_next`` says whether the answer named one at all (a final attempt's
    does not)."""

    decision_id: str
    attempts: tuple[ReportedAttempt, ...]
    actual_cost: DecisionCost | None
    next: Candidate | None
    has_next: bool
    over_budget: Any
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AttemptAnswer:
        after = raw.get("next")
        return cls(
            decision_id=raw["decision_id"],
            attempts=tuple(ReportedAttempt.from_dict(a) for a in raw.get("attempts", ())),
            actual_cost=_decision_cost(raw.get("actual_cost")),
            next=None if after is None else Candidate.from_dict(after),
            has_next="next" in raw,
            over_budget=raw.get("over_budget"),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """A stored decision: its plan, status, cost and attempts."""

    plan: RoutingPlan
    status: str
    actual_cost: DecisionCost | None
    attempts: tuple[ReportedAttempt, ...]
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Decision:
        return cls(
            plan=RoutingPlan.from_dict(raw["decision"]),
            status=raw["status"],
            actual_cost=_decision_cost(raw.get("actual_cost")),
            attempts=tuple(ReportedAttempt.from_dict(a) for a in raw.get("attempts") or ()),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class EstimatedHop:
    deployment: str
    estimate: CostEstimate
    expected_latency_ms: Decimal | None


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a request would cost on each hop (nothing recorded, nothing held)."""

    model: str
    strategy: str
    catalog_version: str
    hops: tuple[EstimatedHop, ...]
    rejected: tuple[Rejection, ...]
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Estimate:
        return cls(
            model=raw["model"],
            strategy=raw["strategy"],
            catalog_version=raw["catalog_version"],
            hops=tuple(
                EstimatedHop(
                    deployment=hop["deployment"],
                    estimate=CostEstimate.from_dict(hop["estimate"]),
                    expected_latency_ms=None
                    if hop.get("expected_latency_ms") is None
                    else Decimal(hop["expected_latency_ms"]),
                )
                for hop in raw["hops"]
            ),
            rejected=tuple(Rejection.from_dict(r) for r in raw.get("rejected", ())),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class BudgetSpend:
    period: str
    limit_usd: Decimal
    spent_usd: Decimal
    reserved_usd: Decimal
    resets_at: datetime


@dataclass(frozen=True, slots=True)
class Spend:
    """A tenant's budget windows, and its settled spend by usage source
    (``usage_sources``, as the service answers it)."""

    tenant_id: str
    budgets: tuple[BudgetSpend, ...]
    usage_sources: Mapping[str, Any]
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Spend:
        return cls(
            tenant_id=raw["tenant_id"],
            budgets=tuple(
                BudgetSpend(
                    period=b["period"],
                    limit_usd=Decimal(b["limit_usd"]),
                    spent_usd=Decimal(b["spent_usd"]),
                    reserved_usd=Decimal(b["reserved_usd"]),
                    resets_at=datetime.fromisoformat(b["resets_at"]),
                )
                for b in raw.get("budgets", ())
            ),
            usage_sources=raw.get("usage_sources") or {},
            raw=raw,
        )
