"""Replay: recompute a plan from the inputs its snapshot recorded and report
a match (same ``plan_hash``) or the exact difference, field by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelrouter.catalog.index import Catalog
from modelrouter.errors import InvalidInputError, NoRouteError, ReplayMismatchError
from modelrouter.routing.planner import PlanInputs, plan
from modelrouter.types import SNAPSHOT_FORMAT, RoutingPlan

__all__ = ["ReplayResult", "replay"]


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
    """Recompute the plan a snapshot recorded, on ``catalog`` (the version it
    names), and compare: a match has the same ``plan_hash``; a mismatch lists
    every differing field."""
    snapshot = _unwrap(document)
    try:
        expected_hash = snapshot["plan_hash"]
        expected_output = snapshot["output"]
        inputs = PlanInputs.from_dict(
            snapshot["inputs"], catalog, decision_id=snapshot["decision_id"]
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidInputError(f"malformed snapshot: {exc!r}") from None
    try:
        result = plan(inputs).plan
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
