from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Capabilities, DataTerms, Deployment
from modelrouter.router import Router
from modelrouter.routing.strategies import Scored, weighted_draw
from modelrouter.types import CostEstimate
from tests.conftest import FIXED_NOW


def scored(name: str, weight: int) -> Scored:
    deployment = Deployment(
        id=name,
        provider=name,
        model="m",
        vendor="v",
        regions=(),
        context_window=None,
        max_output_tokens=None,
        capabilities=Capabilities(),
        prices=None,
        latency=None,
        data=DataTerms(),
        quality=None,
        deprecated=False,
        weight=weight,
    )
    estimate = CostEstimate(1, 1, None, Decimal(1), None, "r")
    return Scored(deployment, estimate, None, 0, "m")


def test_draw_is_deterministic_per_seed() -> None:
    group = [scored("a", 1), scored("b", 1), scored("c", 1)]
    assert weighted_draw(group, "req-1") == weighted_draw(list(reversed(group)), "req-1")


def test_draw_follows_weights_across_requests() -> None:
    group = [scored("heavy", 3), scored("light", 1)]
    firsts = Counter(weighted_draw(group, f"req-{i}")[0].deployment.id for i in range(4000))
    share = firsts["heavy"] / 4000
    assert 0.72 < share < 0.78  # 3:1 weights -> 75 %


def test_zero_weight_serves_only_as_last_resort() -> None:
    group = [scored("standby", 0), scored("main", 1), scored("other", 1)]
    for i in range(50):
        assert weighted_draw(group, f"r{i}")[-1].deployment.id == "standby"


def test_timestamps_do_not_enter_the_draw(small_catalog: Catalog) -> None:
    # The seed is the request id alone: routed days apart, the same request
    # breaks the same tie the same way. beta and gamma tie on cost for
    # chat-large (2.5 in, 10 out, weight 1 each), so the draw alone orders them.
    monday = Router(small_catalog, clock=lambda: FIXED_NOW)
    thursday = Router(small_catalog, clock=lambda: FIXED_NOW + timedelta(days=3, hours=5))

    def tied_pair(router: Router, request_id: str) -> tuple[str, str]:
        plan = router.route(
            {
                "model": "chat-large",
                "input_tokens": 2000,
                "strategy": "cheapest",
                "request_id": request_id,
            }
        )
        first, second = plan.chain[0], plan.chain[1]
        assert first.estimate.expected_usd == second.estimate.expected_usd  # a real tie
        return first.deployment, second.deployment

    orders = set()
    for i in range(20):
        early, late = tied_pair(monday, f"req-{i}"), tied_pair(thursday, f"req-{i}")
        assert early == late, f"req-{i} drew {early} on one day and {late} on another"
        orders.add(early)
    # The seed does move the draw: different ids get both orders.
    assert orders == {
        ("beta/chat-large", "gamma/chat-large"),
        ("gamma/chat-large", "beta/chat-large"),
    }
