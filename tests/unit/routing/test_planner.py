from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import InvalidInputError, NoRouteError, UnknownModelError
from modelrouter.policy.document import parse_policy
from modelrouter.router import Router
from modelrouter.types import DeploymentSignals, RejectionCode, RoutingPlan
from tests.conftest import FIXED_NOW


def route(router: Router, **fields: Any) -> RoutingPlan:
    request: dict[str, Any] = {"input_tokens": 2000, "max_output_tokens": 500, **fields}
    return router.route(request)


def codes(plan_or_error: RoutingPlan | NoRouteError) -> dict[str, set[str]]:
    rejections = (
        plan_or_error.rejected
        if isinstance(plan_or_error, RoutingPlan)
        else (plan_or_error.rejections)
    )
    out: dict[str, set[str]] = {}
    for r in rejections:
        out.setdefault(r.deployment, set()).add(r.code.value)
    return out


def test_cheapest_prices_by_hand(router: Router) -> None:
    plan = route(router, model="chat-large", strategy="cheapest")
    # beta and gamma tie at 2000*2.5/1e6 + 256*10/1e6; alpha costs 2000*3/1e6 + 256*15/1e6.
    assert plan.primary.estimate.expected_usd == Decimal("0.00756")
    assert {plan.primary.provider, plan.fallbacks[0].provider} == {"beta", "gamma"}
    assert plan.fallbacks[-1].deployment == "alpha/chat-large"
    alpha = plan.fallbacks[-1].estimate
    assert alpha.expected_usd == Decimal("0.00984")
    assert alpha.worst_case_usd == Decimal("0.0135")  # 2000*3/1e6 + 500*15/1e6


def test_fastest_uses_priors_then_signals(router: Router) -> None:
    plan = route(router, model="chat-large", strategy="fastest")
    assert plan.primary.deployment == "alpha/chat-large"  # 400 + 256/80 s = 3600 ms
    assert plan.primary.expected_latency_ms == Decimal("3600.0")
    slow_alpha = {"alpha/chat-large": DeploymentSignals(ttft_ms=Decimal(5000))}
    plan = router.route(
        {
            "model": "chat-large",
            "input_tokens": 2000,
            "max_output_tokens": 500,
            "strategy": "fastest",
        },
        signals=slow_alpha,
    )
    assert plan.primary.deployment == "beta/chat-large"  # 900 + 256/40 s = 7300 ms < 8200
    assert plan.snapshot is not None
    assert plan.snapshot["inputs"]["signals"]["alpha/chat-large"]["ttft_ms"] == "5000"


def test_quality_prefers_the_best_model_then_cost(router: Router) -> None:
    plan = route(router, model="smart", strategy="quality")
    assert plan.primary.model == "chat-large"
    assert plan.primary.estimate.expected_usd == Decimal("0.00756")


def test_pinned_keeps_alias_order(router: Router) -> None:
    plan = route(router, model="budget", strategy="pinned", max_fallbacks=5)
    assert [c.model for c in plan.chain] == ["chat-small", "chat-small", "open-70b"]


def test_balanced_weights_move_the_choice(router: Router) -> None:
    by_cost = route(
        router, model="smart", strategy="balanced", weights={"cost": 1, "latency": 0, "quality": 0}
    )
    by_quality = route(
        router, model="smart", strategy="balanced", weights={"cost": 0, "latency": 0, "quality": 1}
    )
    assert by_cost.primary.model == "open-70b"
    assert by_quality.primary.model == "chat-large"


def test_every_rejection_is_explained(router: Router) -> None:
    plan = route(router, model="smart", require=["tools", "vision"], regions=["us"])
    fell = codes(plan)
    assert fell["gamma/chat-large"] == {"region_not_allowed"}
    assert fell["alpha/open-70b"] == {"feature_unknown"}
    assert fell["gamma/open-70b"] == {"feature_unknown", "region_not_allowed"}
    reason = next(r for r in plan.rejected if r.deployment == "gamma/chat-large")
    assert reason.need == "[us]" and reason.have == "eu" and reason.rule == "request"


def test_no_route_lists_every_candidate_with_numbers(router: Router) -> None:
    with pytest.raises(NoRouteError) as caught:
        route(router, model="chat-large", input_tokens=5_000_000)
    error = caught.value
    assert set(codes(error)) == {"alpha/chat-large", "beta/chat-large", "gamma/chat-large"}
    assert "needs 5000500" in str(error) and "has 128000" in str(error)
    assert error.to_dict()["rejections"][0]["code"] == "context_window_too_small"


def test_unknown_price_is_a_rejection_never_zero(router: Router) -> None:
    with pytest.raises(NoRouteError) as caught:
        route(router, model="unpriced")
    assert codes(caught.value) == {"beta/unpriced": {"price_unknown"}}


def test_unknown_capability_needs_allow_unknown(small_catalog: Catalog) -> None:
    lenient = Router(
        small_catalog,
        parse_policy({"capabilities": {"allow_unknown": True}}),
        clock=lambda: FIXED_NOW,
    )
    plan = route(lenient, model="open-70b", require=["vision"], strategy="cheapest")
    assert plan.primary.deployment == "gamma/open-70b"


def test_max_output_and_cost_caps(router: Router) -> None:
    with pytest.raises(NoRouteError) as caught:
        route(router, model="chat-small", max_output_tokens=5000)
    assert "max_output_too_small" in codes(caught.value)["beta/chat-small"]
    plan = route(router, model="chat-large", max_cost_usd="0.01")
    assert codes(plan) == {"alpha/chat-large": {"cost_above_max"}}


def test_zero_data_retention_only_where_the_provider_states_it(router: Router) -> None:
    plan = route(router, model="chat-large", data={"zero_data_retention": True})
    assert [c.deployment for c in plan.chain] == ["beta/chat-large"]
    assert codes(plan)["gamma/chat-large"] == {"zero_data_retention_required"}


def test_open_circuit_is_skipped(router: Router) -> None:
    plan = router.route(
        {"model": "chat-small", "input_tokens": 10, "strategy": "cheapest"},
        signals={"beta/chat-small": DeploymentSignals(circuit="open", error_rate=Decimal("0.6"))},
    )
    assert plan.primary.deployment == "alpha/chat-small"
    assert codes(plan) == {"beta/chat-small": {"circuit_open"}}


def test_fallback_chain_is_diversified_and_bounded(router: Router) -> None:
    plan = route(router, model="smart", strategy="cheapest", max_fallbacks=4)
    providers = [c.provider for c in plan.chain]
    assert all(a != b for a, b in pairwise(providers))
    short = route(router, model="smart", strategy="cheapest", max_fallbacks=1)
    assert len(short.fallbacks) == 1
    assert any("beyond max_fallbacks" in note for note in short.notes)


def test_explicit_fallbacks_are_constrained_like_the_primary(router: Router) -> None:
    plan = route(
        router,
        model="chat-small",
        fallback_models=["chat-large"],
        require=["tools"],
        max_fallbacks=5,
    )
    assert plan.primary.model == "chat-large"
    assert any("primary is fallback model chat-large" in note for note in plan.notes)
    assert codes(plan)["alpha/chat-small"] == {"feature_unsupported"}
    assert all(c.model == "chat-large" for c in plan.chain)


def test_platform_policy_rejection_names_the_platform(small_catalog: Catalog) -> None:
    strict = Router(
        small_catalog, parse_policy({"providers": {"deny": ["beta"]}}), clock=lambda: FIXED_NOW
    )
    plan = route(strict, model="chat-large")
    denied = [r for r in plan.rejected if r.deployment == "beta/chat-large"]
    assert [(r.code, r.rule) for r in denied] == [(RejectionCode.PROVIDER_DENIED, "platform")]


def test_unknown_model_suggests_close_names(router: Router) -> None:
    with pytest.raises(UnknownModelError, match="chat-large"):
        route(router, model="chat-lrge")


def test_bad_request_names_the_field(router: Router) -> None:
    with pytest.raises(InvalidInputError) as caught:
        router.route({"model": "chat-large", "input_tokens": -5})
    assert caught.value.field == "input_tokens"
    with pytest.raises(InvalidInputError, match="exactly one of input_tokens or messages"):
        router.route({"model": "chat-large"})
    with pytest.raises(InvalidInputError, match="require"):
        router.route({"model": "chat-large", "input_tokens": 1, "require": ["telepathy"]})
    with pytest.raises(InvalidInputError, match="unknown field"):
        router.route({"model": "chat-large", "input_tokens": 1, "max_tokenz": 5})


def test_messages_are_estimated_and_images_need_vision(router: Router) -> None:
    plan = router.route(
        {
            "model": "smart",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    ],
                }
            ],
        }
    )
    assert plan.primary.estimate.input_tokens > 765
    assert plan.primary.model == "chat-large"
    assert {r.code for r in plan.rejected if r.deployment.endswith("open-70b")} == {
        RejectionCode.FEATURE_UNKNOWN
    }
    assert plan.snapshot is not None
    snapshot_request = plan.snapshot["inputs"]["request"]
    assert snapshot_request["messages_digest"].startswith("sha256:")
    assert "picture" not in str(plan.snapshot)  # prompts never enter the snapshot


def test_same_request_same_plan_hash_and_weights_spread_load(small_catalog: Catalog) -> None:
    router = Router(small_catalog, clock=lambda: FIXED_NOW)
    # One request id is one draw: the same plan, whenever it is asked for.
    first = route(router, model="chat-large", strategy="cheapest", request_id="same")
    again = route(router, model="chat-large", strategy="cheapest", request_id="same")
    assert first.plan_hash == again.plan_hash
    primaries = {
        route(router, model="chat-large", strategy="cheapest", request_id=f"r{i}").primary.provider
        for i in range(40)
    }
    assert primaries == {"beta", "gamma"}  # equal cost, equal weight: both get traffic
