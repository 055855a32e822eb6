"""The in-process feedback loop: attempts reported to the Router move its next plans."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import NoRouteError
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.classify import ErrorClass
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.routing.constraints import probe_point
from modelrouter.types import Rejection, RejectionCode, RoutingPlan
from tests.conftest import FIXED_NOW, small_document

ALPHA, BETA, GAMMA = "alpha/chat-large", "beta/chat-large", "gamma/chat-large"
# chat-large by the catalog's priors: alpha 3600 ms, beta 7300 ms, gamma unknown.
FASTEST = {"model": "chat-large", "input_tokens": 2000, "max_output_tokens": 500}


class Clocked:
    """A Router whose clock the test moves."""

    def __init__(self, catalog: Catalog, policy: PolicyDocument | None = None) -> None:
        self.now = FIXED_NOW
        self.router = Router(catalog, policy, clock=lambda: self.now)

    def later(self, **delta: float) -> None:
        self.now = FIXED_NOW + timedelta(**delta)

    def route(self, request_id: str, **fields: Any) -> RoutingPlan:
        request = {"strategy": "fastest", **FASTEST, **fields, "request_id": request_id}
        return self.router.route(request)


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def rejection(plan: RoutingPlan, deployment: str) -> Rejection:
    [found] = [r for r in plan.rejected if r.deployment == deployment]
    return found


def test_a_rate_limited_deployment_leaves_at_once_and_comes_back_through_probes(
    small_catalog: Catalog,
) -> None:
    loop = Clocked(small_catalog)
    plan = loop.route("r0")
    assert plan.primary.deployment == ALPHA
    limited = Attempt(ALPHA, ErrorClass.RATE_LIMITED, attempt_id="a1", reset_after_s=Decimal(30))
    assert (
        loop.router.record_attempt(plan, limited) is None
    )  # a failure without usage costs nothing

    cooling = loop.route("r1")
    assert cooling.primary.deployment == BETA
    fell = rejection(cooling, ALPHA)
    assert fell.code is RejectionCode.CIRCUIT_OPEN
    assert (fell.error_class, fell.resets_at) == (
        "rate_limited",
        iso(FIXED_NOW + timedelta(seconds=30)),
    )
    loop.later(seconds=29.999)
    assert loop.route("r1").primary.deployment == BETA

    # Half-open: the requests whose hash falls in the probe share (25 %) try it.
    loop.later(seconds=30)
    ids = [f"r{i}" for i in range(2, 40)]
    probe = next(i for i in ids if probe_point(i, ALPHA) < Decimal("0.25"))
    other = next(i for i in ids if probe_point(i, ALPHA) >= Decimal("0.25"))
    assert rejection(loop.route(other), ALPHA).have == "half_open"
    probing = loop.route(probe)
    assert probing.primary.deployment == ALPHA

    loop.router.record_attempt(probing, Attempt(ALPHA, attempt_id="a1"))
    assert loop.route(other).primary.deployment == ALPHA  # closed: every request again


def test_an_exhausted_quota_keeps_it_out_until_the_reset(small_catalog: Catalog) -> None:
    loop = Clocked(small_catalog)
    plan = loop.route("r0")
    midnight = datetime(2026, 6, 2, tzinfo=FIXED_NOW.tzinfo)
    reset = Decimal((midnight - FIXED_NOW).total_seconds())
    loop.router.record_attempt(
        plan, Attempt(ALPHA, ErrorClass.QUOTA_EXHAUSTED, attempt_id="a1", reset_after_s=reset)
    )
    for hours in (1.5, 11.99):  # well past the one-hour quota cool-down
        loop.later(hours=hours)
        out = loop.route("r1")
        assert out.primary.deployment != ALPHA
        fell = rejection(out, ALPHA)
        assert (fell.error_class, fell.resets_at) == ("quota_exhausted", iso(midnight))
    loop.later(hours=12)
    ids = [f"r{i}" for i in range(40)]
    probe = next(i for i in ids if probe_point(i, ALPHA) < Decimal("0.25"))
    assert loop.route(probe).primary.deployment == ALPHA


def test_observed_latency_reorders_fastest_and_old_decisions_replay_as_made(
    small_catalog: Catalog,
) -> None:
    loop = Clocked(small_catalog)
    before = loop.route("before")
    assert before.primary.deployment == ALPHA
    for i in range(20):  # enough samples to outweigh the priors (10 by default)
        fast = Attempt(
            BETA, attempt_id=f"b{i}", ttft_ms=Decimal(100), output_tokens_per_s=Decimal(400)
        )
        slow = Attempt(
            ALPHA, attempt_id=f"a{i}", ttft_ms=Decimal(3000), output_tokens_per_s=Decimal(20)
        )
        loop.router.record_attempt(before, fast)
        loop.router.record_attempt(before, slow)

    after = loop.route("after")
    assert after.primary.deployment == BETA
    assert after.primary.expected_latency_ms is not None
    assert after.primary.expected_latency_ms < Decimal(1000)  # 100 ms + 256 tokens at 400/s

    assert before.snapshot is not None
    replayed = loop.router.replay(before.snapshot)
    assert replayed.matched, replayed.differences
    assert replayed.plan is not None and replayed.plan.primary.deployment == ALPHA


def test_latency_read_long_after_the_last_sample(small_catalog: Catalog) -> None:
    loop = Clocked(small_catalog, parse_policy({"health": {"latency_half_life_seconds": 1}}))
    plan = loop.route("r0")
    slow = Attempt(ALPHA, attempt_id="a1", ttft_ms=Decimal(60_000), output_tokens_per_s=Decimal(1))
    loop.router.record_attempt(plan, slow)
    loop.later(hours=1)  # 3600 half-lives: the sample is forgotten, the priors hold
    later = loop.route("r1")
    assert later.primary.deployment == ALPHA
    assert later.primary.expected_latency_ms == Decimal("3600.0")


def rpm_catalog(rpm: int) -> Catalog:
    document = small_document()
    document["models"]["chat-small"]["deployments"]["alpha"]["rpm"] = rpm
    return Catalog.from_layers([("rpm", document)])


def test_an_rpm_limit_turns_plans_away_until_the_window_slides() -> None:
    loop = Clocked(rpm_catalog(5))
    small = {"model": "chat-small"}  # fastest: alpha (200 ms prior), then beta (unknown)
    assert [loop.route(f"r{i}", **small).primary.deployment for i in range(5)] == [
        "alpha/chat-small"
    ] * 5

    for seconds in (0, 60):
        loop.later(seconds=seconds)
        full = loop.route("r5", **small)
        assert full.primary.deployment == "beta/chat-small"
        fell = rejection(full, "alpha/chat-small")
        assert fell.code is RejectionCode.RATE_LIMIT_HEADROOM
        assert (fell.need, fell.have) == ("1 request", "0 requests")
        # The five leave a 61-second count together, a minute after their second.
        assert fell.resets_at == iso(FIXED_NOW + timedelta(seconds=61))

    loop.later(seconds=61)
    assert loop.route("r6", **small).primary.deployment == "alpha/chat-small"


def test_with_every_circuit_open_the_error_says_when_the_first_reopens(
    small_catalog: Catalog,
) -> None:
    loop = Clocked(small_catalog)
    plan = loop.route("r0")
    assert {c.deployment for c in plan.chain} == {ALPHA, BETA, GAMMA}
    for deployment, seconds in ((ALPHA, 90), (BETA, 30), (GAMMA, 60)):
        attempt = Attempt(
            deployment,
            ErrorClass.RATE_LIMITED,
            attempt_id=deployment,
            reset_after_s=Decimal(seconds),
        )
        loop.router.record_attempt(plan, attempt)
    with pytest.raises(NoRouteError) as caught:
        loop.route("r1")
    first = iso(FIXED_NOW + timedelta(seconds=30))
    assert caught.value.reopens_at == first
    assert caught.value.details()["reopens_at"] == first
    assert f"the first, {BETA}, can take requests again at {first}" in caught.value.message


def test_a_latency_cut_off_moves_a_slow_deployment_back_without_dropping_it(
    small_catalog: Catalog,
) -> None:
    cheapest = {"model": "chat-small", "strategy": "cheapest"}  # beta is the cheaper
    by_ttft: dict[int, RoutingPlan] = {}
    for ttft in (300, 3000):
        loop = Clocked(small_catalog)
        plan = loop.route("r0", **cheapest)
        for i in range(20):
            loop.router.record_attempt(
                plan, Attempt("beta/chat-small", attempt_id=f"b{i}", ttft_ms=Decimal(ttft))
            )
        assert loop.route("r1", **cheapest).primary.deployment == "beta/chat-small"
        by_ttft[ttft] = loop.route("r1", **cheapest, max_latency_ms=1000)

    fast, slow = by_ttft[300], by_ttft[3000]
    assert fast.primary.deployment == "beta/chat-small"
    assert not any("cut-offs" in note for note in fast.notes)
    assert [c.deployment for c in slow.chain] == ["alpha/chat-small", "beta/chat-small"]
    assert any("1 candidates miss the preferred latency cut-offs" in n for n in slow.notes)


def test_only_the_attempt_that_served_is_paid_for_and_only_once(small_catalog: Catalog) -> None:
    loop = Clocked(small_catalog, parse_policy({"budgets": [{"period": "day", "limit_usd": "10"}]}))
    plan = loop.route("r0", tenant_id="t1")
    assert [plan.primary.deployment, plan.fallbacks[0].deployment] == [ALPHA, BETA]
    budgets, keys = loop.router.budgets, list(plan.budget_keys)

    failed = Attempt(ALPHA, ErrorClass.SERVER_ERROR, attempt_id="try-1")
    assert loop.router.record_attempt(plan, failed) is None
    [held] = budgets.state("t1", keys, FIXED_NOW)
    assert (held.spent, held.reserved) == (Decimal(0), plan.reserved_usd)  # held for the fallback

    served = Attempt(BETA, attempt_id="try-2", usage=Usage(input_tokens=2000, output_tokens=300))
    cost = loop.router.record_attempt(plan, served)
    assert cost is not None and cost.deployment == BETA
    assert cost.total_usd == Decimal("0.008")  # 2000 x 2.5/M + 300 x 10/M
    loop.router.record_attempt(plan, served)  # reported twice
    [state] = budgets.state("t1", keys, FIXED_NOW)
    assert (state.spent, state.reserved) == (Decimal("0.008"), Decimal(0))


def test_old_samples_lose_weight_against_the_priors_whether_or_not_anyone_looked(
    small_catalog: Catalog,
) -> None:
    plans = []
    for look_in_between in (False, True):
        loop = Clocked(small_catalog, parse_policy({"health": {"latency_half_life_seconds": 60}}))
        plan = loop.route("r0")
        for i in range(20):
            slow = Attempt(ALPHA, attempt_id=f"a{i}", ttft_ms=Decimal(9000))
            loop.router.record_attempt(plan, slow)
        if look_in_between:
            assert loop.route("r1").primary.deployment == BETA  # 20 fresh samples: slow
        loop.later(minutes=10)  # ten half-lives: 20 samples weigh as 0.02
        plans.append(loop.route("r1"))
    assert plans[0].primary.deployment == plans[1].primary.deployment == ALPHA
    assert plans[0].plan_hash == plans[1].plan_hash
