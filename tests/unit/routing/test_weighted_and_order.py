"""LiteLLM's semantics where its users expect them: ``weighted`` splits
traffic by weight, and ``order`` is a strict priority tier under every
strategy."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from modelrouter import Catalog, Router, Strategy


def _catalog(deployments: dict[str, dict[str, Any]]) -> Catalog:
    providers = {name: {"regions": ["us"]} for name in deployments}
    return Catalog.from_layers(
        [
            (
                "test",
                {
                    "providers": providers,
                    "models": {
                        "chat": {
                            "vendor": "acme",
                            "context_window": 100_000,
                            "max_output_tokens": 4096,
                            "deployments": deployments,
                        }
                    },
                },
            )
        ]
    )


def test_weighted_splits_traffic_by_weight_within_three_percent() -> None:
    catalog = _catalog(
        {
            "big": {"prices": {"input": "5", "output": "10"}, "weight": 9},
            "small": {"prices": {"input": "1", "output": "2"}, "weight": 1},
        }
    )
    router = Router(catalog)
    firsts = Counter(
        router.route(
            {"model": "chat", "input_tokens": 100, "strategy": "weighted", "request_id": f"r{i}"},
            reserve=False,
        ).primary.deployment
        for i in range(10_000)
    )
    share = firsts["big/chat"] / 10_000
    assert abs(share - 0.9) <= 0.03, firsts
    # The same request id is the same split.
    again = router.route(
        {"model": "chat", "input_tokens": 100, "strategy": "weighted", "request_id": "r7"}
    )
    assert (
        again.primary.deployment
        == router.route(
            {"model": "chat", "input_tokens": 100, "strategy": "weighted", "request_id": "r7"}
        ).primary.deployment
    )


@pytest.mark.parametrize("strategy", list(Strategy))
def test_order_is_a_strict_tier_under_every_strategy(strategy: Strategy) -> None:
    catalog = _catalog(
        {
            # Tier 1 is the dearest and the slowest: it still comes first.
            "first": {
                "prices": {"input": "9", "output": "30"},
                "latency": {"ttft_ms": 2000, "output_tokens_per_s": 10},
                "order": 1,
            },
            "second": {
                "prices": {"input": "2", "output": "4"},
                "latency": {"ttft_ms": 100, "output_tokens_per_s": 200},
                "order": 2,
            },
            "untiered": {
                "prices": {"input": "0.1", "output": "0.2"},
                "latency": {"ttft_ms": 50, "output_tokens_per_s": 500},
                "weight": 100,
            },
        }
    )
    router = Router(catalog)
    body = {"model": "chat", "input_tokens": 100, "strategy": strategy.value, "max_fallbacks": 5}
    for index in range(20):
        plan = router.route({**body, "request_id": f"t{index}"}, reserve=False)
        assert [c.deployment for c in plan.chain] == [
            "first/chat",
            "second/chat",
            "untiered/chat",
        ]
    # A lower tier serves only when the higher one is not admissible.
    fell = router.route({**body, "providers": {"deny": ["first"]}}, reserve=False)
    assert fell.primary.deployment == "second/chat"
