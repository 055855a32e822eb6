"""An alias's chains: ``fallbacks`` after its targets, ``context_window_fallbacks``
when the request does not fit its targets' windows, and
``content_policy_fallbacks`` carried by the plan for a ``content_policy`` refusal."""

from __future__ import annotations

from typing import Any

import pytest

from modelrouter import Catalog, Router
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.classify import ErrorClass
from modelrouter.pricing.usage import Usage
from modelrouter.types import RoutingPlan


def _model(window: int, price: str, provider: str) -> dict[str, Any]:
    return {
        "vendor": "acme",
        "context_window": window,
        "deployments": {provider: {"prices": {"input": price, "output": price}}},
    }


def _catalog(alias: Any) -> Catalog:
    return Catalog.from_layers(
        [
            (
                "test",
                {
                    "providers": {p: {"regions": ["us"]} for p in ("p1", "p2", "p3", "p4", "p5")},
                    "models": {
                        "chat": _model(128_000, "1", "p1"),
                        "chat-b": _model(128_000, "2", "p2"),
                        "long": _model(1_000_000, "3", "p3"),
                        "safe": _model(128_000, "4", "p4"),
                        "other": _model(128_000, "5", "p5"),
                    },
                    "aliases": {"chat": alias},
                },
            )
        ]
    )


FULL = {
    "targets": ["chat", "chat-b"],
    "fallbacks": ["other"],
    "context_window_fallbacks": ["long"],
    "content_policy_fallbacks": ["safe"],
}


def _route(router: Router, tokens: int, **extra: Any) -> RoutingPlan:
    return router.route(
        {"model": "chat", "input_tokens": tokens, "request_id": "r1", "strategy": "cheapest"}
        | extra
    )


def test_an_alias_may_have_a_models_name_and_means_its_own_targets() -> None:
    plan = _route(Router(_catalog(["chat-b"])), 100)
    assert [c.deployment for c in plan.chain] == ["p2/chat-b"]


def test_fallbacks_follow_the_targets() -> None:
    plan = _route(Router(_catalog(FULL)), 100)
    assert [c.deployment for c in plan.chain] == ["p1/chat", "p2/chat-b", "p5/other"]


def test_a_request_too_long_for_the_targets_routes_through_context_window_fallbacks() -> None:
    plan = _route(Router(_catalog(FULL)), 200_000)
    assert plan.primary.deployment == "p3/long"
    assert {r.code for r in plan.rejected if r.deployment != "p3/long"} == {
        "context_window_too_small"
    }
    assert any("context_window_fallbacks [long]" in note for note in plan.notes)


def test_without_a_context_chain_a_long_request_has_no_route() -> None:
    from modelrouter import NoRouteError

    with pytest.raises(NoRouteError):
        _route(Router(_catalog({"targets": ["chat"]})), 200_000)


def test_a_content_policy_refusal_moves_to_the_content_policy_chain() -> None:
    router = Router(_catalog(FULL))
    plan = _route(router, 100)
    assert [c.deployment for c in dict(plan.chains)["content_policy"]] == ["p4/safe"]
    # The main chain does not hold it: it serves only after a content_policy refusal.
    assert "p4/safe" not in [c.deployment for c in plan.chain]
    after = plan.next_hop(["p1/chat"], ErrorClass.CONTENT_POLICY.value)
    assert after is not None and after.deployment == "p4/safe"
    # Any other error walks the main chain; a bad request stops.
    nxt = plan.next_hop(["p1/chat"], "server_error")
    assert nxt is not None and nxt.deployment == "p2/chat-b"
    assert plan.next_hop(["p1/chat"], "bad_request") is None
    # The chain's hop is a hop of the decision: its attempt is priced and recorded.
    router.record_attempt(
        plan,
        Attempt(deployment="p1/chat", error_class=ErrorClass.CONTENT_POLICY, attempt_id="a1"),
    )
    cost = router.record_attempt(
        plan,
        Attempt(
            deployment="p4/safe",
            attempt_id="a2",
            usage=Usage.from_dict({"input_tokens": 100, "output_tokens": 10}),
        ),
    )
    assert cost is not None and cost.total_usd > 0


def test_a_content_policy_chain_may_name_a_group_the_main_chain_holds() -> None:
    # LiteLLM configs often name one group in both: after a content_policy
    # refusal it comes next, ahead of the main chain's other hops.
    alias = {**FULL, "fallbacks": ["other", "safe"]}
    plan = _route(Router(_catalog(alias)), 100)
    assert [c.deployment for c in plan.chain][-2:] == ["p5/other", "p4/safe"]
    assert [c.deployment for c in dict(plan.chains)["content_policy"]] == ["p4/safe"]
    after = plan.next_hop(["p1/chat"], ErrorClass.CONTENT_POLICY.value)
    assert after is not None and after.deployment == "p4/safe"
    # Scored twice, rejected once: a deployment's reasons are not repeated.
    assert len({(r.deployment, r.code) for r in plan.rejected}) == len(plan.rejected)


def test_plans_with_chains_survive_json_and_replay() -> None:
    router = Router(_catalog(FULL))
    plan = _route(router, 100)
    again = RoutingPlan.from_dict(plan.to_dict())
    assert again.chains == plan.chains
    assert plan.snapshot is not None
    assert router.replay(plan.snapshot).matched


def test_plans_without_chains_carry_no_chains_key() -> None:
    plan = _route(Router(_catalog(["chat", "chat-b"])), 100)
    assert "chains" not in plan.to_dict()
