"""Snapshots: every input of a decision and its output, as canonical JSON; and replay.

``replay(snapshot, catalog)`` recomputes the plan from the recorded inputs and
reports a match (same ``plan_hash``) or the exact difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from modelrouter.budgets import BudgetContext
from modelrouter.catalog.catalog import Catalog
from modelrouter.errors import (
    CatalogVersionError,
    InvalidInputError,
    NoRouteError,
    ReplayMismatchError,
)
from modelrouter.normalize import NormalizedRequest
from modelrouter.planner import PlanInputs, plan
from modelrouter.policy import PolicyStack
from modelrouter.types import (
    Candidate,
    CostEstimate,
    DeploymentSignals,
    Rejection,
    RejectionCode,
    RoutingPlan,
)

__all__ = ["SNAPSHOT_FORMAT", "ReplayResult", "make_snapshot", "plan_from_dict", "replay"]

SNAPSHOT_FORMAT = "modelrouter.snapshot/v1"


def make_snapshot(
    inputs: PlanInputs, result: RoutingPlan, *, read: Mapping[str, DeploymentSignals]
) -> dict[str, Any]:
    """Every input of ``result`` and the result itself, as JSON types only."""
    return {
        "format": SNAPSHOT_FORMAT,
        "decision_id": result.decision_id,
        "inputs": {
            "request": inputs.request.to_dict(),
            "catalog_version": inputs.catalog.version,
            "policy": inputs.policy.content(),
            "policy_version": inputs.policy.version,
            "policy_versions": inputs.policy.versions,
            "effective_policy": inputs.policy.effective_content,
            "signals": {key: read[key].to_dict() for key in sorted(read)},
            "budget": None if inputs.budget is None else inputs.budget.to_dict(),
        },
        "output": result.to_dict(),
        "plan_hash": result.plan_hash,
    }


@dataclass(frozen=True, slots=True)
class ReplayResult:
    matched: bool
    expected_hash: str
    actual_hash: str | None
    differences: tuple[str, ...]
    plan: RoutingPlan | None

    def raise_for_mismatch(self) -> None:
        """For callers that treat a mismatch as an error: ``ReplayMismatchError``."""
        if not self.matched:
            raise ReplayMismatchError(
                self.expected_hash, self.actual_hash or "none", self.differences
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "expected_plan_hash": self.expected_hash,
            "actual_plan_hash": self.actual_hash,
            "differences": list(self.differences),
        }


def _diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual)):
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{where}: missing in replay")
            elif key not in expected:
                out.append(f"{where}: only in replay")
            else:
                out += _diff(expected[key], actual[key], where)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        out = []
        for index, (a, b) in enumerate(zip(expected, actual, strict=False)):
            out += _diff(a, b, f"{path}[{index}]")
        if len(expected) != len(actual):
            out.append(f"{path}: {len(expected)} items recorded, {len(actual)} replayed")
        return out
    if expected != actual:
        return [f"{path}: recorded {expected!r}, replayed {actual!r}"]
    return []


def _unwrap(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept a snapshot, or a plan that carries one (``route --json``)."""
    if document.get("format") == SNAPSHOT_FORMAT:
        return document
    inner = document.get("snapshot")
    if isinstance(inner, Mapping) and inner.get("format") == SNAPSHOT_FORMAT:
        return inner
    raise InvalidInputError(
        f"not a snapshot: expected 'format': {SNAPSHOT_FORMAT!r}, or a plan with a 'snapshot'",
        field="format",
    )


def replay(document: Mapping[str, Any], catalog: Catalog) -> ReplayResult:
    snapshot = _unwrap(document)
    try:
        inputs = snapshot["inputs"]
        expected_hash = snapshot["plan_hash"]
        expected_output = snapshot["output"]
        wanted_version = inputs["catalog_version"]
        request = NormalizedRequest.from_dict(inputs["request"])
        policy = PolicyStack.from_content(inputs["policy"])
        signals = {
            key: DeploymentSignals.from_dict(value) for key, value in inputs["signals"].items()
        }
        raw_budget = inputs.get("budget")
        budget = None if raw_budget is None else BudgetContext.from_dict(raw_budget)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"malformed snapshot: {exc}") from None
    if wanted_version != catalog.version:
        raise CatalogVersionError(wanted_version, catalog.version)
    try:
        result = plan(PlanInputs(request, catalog, policy, signals, budget))
    except NoRouteError as exc:
        return ReplayResult(
            False, expected_hash, None, (f"replay found no route: {exc.message}",), None
        )
    actual_output = result.to_dict()
    differences = tuple(_diff(expected_output, actual_output))
    if result.plan_hash != expected_hash and not differences:
        differences = ("plan_hash differs although every recorded field matches",)
    return ReplayResult(
        result.plan_hash == expected_hash and not differences,
        expected_hash,
        result.plan_hash,
        differences,
        result,
    )


def _candidate(raw: Mapping[str, Any]) -> Candidate:
    estimate = raw["estimate"]
    worst = estimate["worst_case_usd"]
    latency = raw["expected_latency_ms"]
    quality = raw["quality"]
    return Candidate(
        deployment=raw["deployment"],
        provider=raw["provider"],
        model=raw["model"],
        estimate=CostEstimate(
            input_tokens=int(estimate["input_tokens"]),
            expected_output_tokens=int(estimate["expected_output_tokens"]),
            max_output_tokens=estimate["max_output_tokens"],
            expected_usd=Decimal(estimate["expected_usd"]),
            worst_case_usd=None if worst is None else Decimal(worst),
            price_rule=estimate["price_rule"],
        ),
        expected_latency_ms=None if latency is None else Decimal(latency),
        quality=None if quality is None else Decimal(quality),
        via=raw["via"],
    )


def plan_from_dict(raw: Mapping[str, Any]) -> RoutingPlan:
    """A plan as ``to_dict`` wrote it (``route --json``, a stored decision).
    Its ``plan_hash`` must still match its content, or it was altered."""
    try:
        plan = RoutingPlan(
            decision_id=raw["decision_id"],
            request_id=raw["request_id"],
            tenant_id=raw.get("tenant_id"),
            model=raw["model"],
            strategy=raw["strategy"],
            primary=_candidate(raw["primary"]),
            fallbacks=tuple(_candidate(c) for c in raw["fallbacks"]),
            rejected=tuple(
                Rejection(
                    deployment=r["deployment"],
                    code=RejectionCode(r["code"]),
                    message=r["message"],
                    need=r.get("need"),
                    have=r.get("have"),
                    via=r.get("via"),
                    rule=r.get("rule"),
                )
                for r in raw["rejected"]
            ),
            catalog_version=raw["catalog_version"],
            policy_version=raw["policy_version"],
            timestamp=datetime.fromisoformat(raw["timestamp"]),
            price_context=tuple(sorted(raw.get("price_context", {}).items())),
            notes=tuple(raw.get("notes", ())),
            reserved_usd=None if raw.get("reserved_usd") is None else Decimal(raw["reserved_usd"]),
            budget_keys=tuple(raw.get("budget_keys", ())),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidInputError(f"malformed plan: {exc!r}") from None
    if plan.plan_hash != raw.get("plan_hash"):
        raise InvalidInputError(
            f"plan {plan.decision_id} does not match its plan_hash: it was altered",
            field="plan_hash",
        )
    return plan
