from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from modelrouter.catalog.model import Capabilities, DataTerms, Deployment
from modelrouter.routing.strategies import Scored, weighted_draw
from modelrouter.types import CostEstimate


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


def test_timestamps_do_not_enter_the_draw() -> None:
    # The seed is the request id alone: nothing else may move a tie.
    group = [scored("a", 1), scored("b", 1)]
    assert datetime.now(UTC)  # the draw below must not depend on this
    assert [s.deployment.id for s in weighted_draw(group, "fixed")] == [
        s.deployment.id for s in weighted_draw(group, "fixed")
    ]
