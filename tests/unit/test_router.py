"""Estimates before inference, and what the router learns after it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import CatalogVersionError, InvalidInputError
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.signals.calibration import CalibrationRecord, summarize
from modelrouter.signals.learner import OutputLearner
from tests.conftest import FIXED_NOW


def test_expected_output_from_hint_then_learned_then_default(router: Router) -> None:
    request = {"model": "chat-small", "input_tokens": 1000, "strategy": "cheapest"}
    default = router.route(request)
    assert default.primary.estimate.expected_output_tokens == 256
    assert default.snapshot is not None
    assert default.snapshot["inputs"]["request"]["expected_output_source"] == "default"

    for _ in range(5):
        router.record_outcome(default, Usage(input_tokens=1000, output_tokens=1200))
    learned = router.route(request)
    assert learned.primary.estimate.expected_output_tokens == 1200
    assert learned.snapshot is not None
    assert learned.snapshot["inputs"]["request"]["expected_output_source"] == "learned"
    # What was learned is recorded, so replay does not depend on the learner.
    assert router.replay(learned.snapshot).matched
    assert Router(router.catalog).replay(learned.snapshot).matched

    hinted = router.route({**request, "expected_output_tokens": 40})
    assert hinted.primary.estimate.expected_output_tokens == 40


def test_learning_needs_several_observations() -> None:
    learner = OutputLearner(min_observations=3)
    learner.observe("m", 100)
    learner.observe("m", 201)
    assert learner.expected("m") is None
    learner.observe("m", 300)
    assert learner.expected("m") == 201  # ceil(601 / 3)


def test_cache_hit_share_lowers_the_expected_cost_not_the_worst_case(router: Router) -> None:
    base = {"model": "alpha/chat-large", "input_tokens": 10_000, "max_output_tokens": 100}
    cold = router.route(base).primary.estimate
    warm = router.route({**base, "expected_cache_hit_ratio": "0.5"}).primary.estimate
    # alpha: input $3/M, cache read $0.3/M: 5,000 x 2.7/M cheaper.
    assert cold.expected_usd - warm.expected_usd == Decimal("0.0135")
    assert warm.worst_case_usd == cold.worst_case_usd


def test_worst_case_allows_for_estimated_tokens(router: Router) -> None:
    plan = router.route(
        {
            "model": "beta/chat-small",
            "messages": [{"role": "user", "content": "word " * 400}],
            "max_output_tokens": 100,
        }
    )
    estimate = plan.primary.estimate
    # 25 % margin on the estimated input, every output token: 0.1/M in, 0.4/M out.
    margin = -(-estimate.input_tokens * 125 // 100)
    assert estimate.worst_case_usd == (Decimal(margin) * Decimal("0.1") + 100 * Decimal("0.4")) / (
        10**6
    )


def test_outcome_is_priced_at_the_routing_time_and_tier(small_catalog: Catalog) -> None:
    router = Router(small_catalog, clock=lambda: FIXED_NOW)
    plan = router.route({"model": "chat-large", "input_tokens": 2000, "strategy": "cheapest"})
    served = plan.fallbacks[-1].deployment  # alpha/chat-large: $3 / $15 per M
    cost = router.record_outcome(
        plan,
        Usage(input_tokens=2000, cache_read_tokens=1000, output_tokens=100),
        deployment=served,
    )
    assert cost.deployment == served
    assert cost.components == {
        "input": Decimal("0.003"),
        "cache_read": Decimal("0.0003"),
        "output": Decimal("0.0015"),
    }
    assert cost.priced_at == FIXED_NOW
    assert cost.to_dict()["total_usd"] == "0.0048"


def test_outcome_for_a_deployment_outside_the_plan_is_refused(router: Router) -> None:
    plan = router.route({"model": "chat-small", "input_tokens": 10})
    with pytest.raises(InvalidInputError, match="was not a hop"):
        router.record_outcome(plan, Usage(input_tokens=10), deployment="gamma/open-70b")


def test_outcome_against_another_catalog_is_refused(router: Router) -> None:
    plan = router.route({"model": "chat-small", "input_tokens": 10})
    other = Router(router.catalog.layered("x", {"models": {"extra": {}}}))
    with pytest.raises(CatalogVersionError):
        other.record_outcome(plan, Usage(input_tokens=10))


def test_calibration_reports_error_by_alias(router: Router) -> None:
    plan = router.route(
        {"model": "budget", "input_tokens": 1000, "max_output_tokens": 500, "strategy": "cheapest"}
    )
    assert plan.primary.deployment == "beta/chat-small"  # $0.1 / $0.4 per M
    # Expected: 1000 x 0.1/M + 256 x 0.4/M = 0.0002024.
    router.record_outcome(plan, Usage(input_tokens=1000, output_tokens=256))  # exact: 0 %
    router.record_outcome(plan, Usage(input_tokens=1000, output_tokens=500))  # 0.0003: -32.53 %
    [row] = router.calibration.summary()
    assert row.model == "budget"
    assert row.count == 2
    assert row.worst_case_exceeded == 0
    assert row.mean_abs_error_pct == Decimal("16.27")
    assert row.bias_pct == Decimal("-16.27")


def test_summarize_arithmetic() -> None:
    rows = [
        CalibrationRecord("a", Decimal("1.1"), Decimal("2"), Decimal("1")),
        CalibrationRecord("a", Decimal("0.9"), Decimal("0.95"), Decimal("1")),
    ]
    [row] = summarize(rows)
    assert row.mean_abs_error_pct == Decimal("10.00")
    assert row.bias_pct == Decimal("0.00")
    assert row.worst_case_exceeded == 1
