"""Budgets reserve the worst case at routing time and settle the actual cost."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import BudgetExceeded, NoRouteError
from modelrouter.policy.budgets import window_for
from modelrouter.policy.document import Budget, parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.routing.replay import replay
from modelrouter.signals.budgets import MemoryBudgetStore
from tests.budget_race import CYCLES, THREADS, race
from tests.conftest import FIXED_NOW


def budget_router(catalog: Catalog, limit: str, **extra: Any) -> Router:
    policy = parse_policy({"budgets": [{"period": "day", "limit_usd": limit, **extra}]})
    return Router(catalog, policy, clock=lambda: FIXED_NOW)


def test_windows_follow_the_calendar_in_the_budget_zone() -> None:
    at = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # already 1 April in Paris
    day = window_for(Budget(period="day", limit_usd=Decimal(1), timezone="Europe/Paris"), at)
    week = window_for(Budget(period="week", limit_usd=Decimal(1)), at)
    month = window_for(Budget(period="month", limit_usd=Decimal(1), timezone="Europe/Paris"), at)
    assert day.resets_at.isoformat() == "2026-04-02T00:00:00+02:00"
    assert week.key == "week@UTC:2026-03-30T00:00:00+00:00"  # a Monday
    assert month.resets_at.isoformat() == "2026-05-01T00:00:00+02:00"


def test_reserves_the_costliest_hop_when_a_fallback_is_pricier(small_catalog: Catalog) -> None:
    router = budget_router(small_catalog, "10")
    plan = router.route(
        {
            "model": "chat-large",
            "input_tokens": 1000,
            "max_output_tokens": 500,
            "strategy": "cheapest",
            "tenant_id": "t1",
        }
    )
    # beta (primary) worst case 0.0075; alpha (a fallback) 0.003 + 0.0075 = 0.0105.
    assert plan.primary.estimate.worst_case_usd == Decimal("0.0075")
    assert plan.reserved_usd == Decimal("0.0105")
    [state] = router.budgets.state("t1", list(plan.budget_keys), FIXED_NOW)
    assert state.reserved == Decimal("0.0105") and state.spent == 0


def test_settle_releases_the_rest_and_is_idempotent(small_catalog: Catalog) -> None:
    router = budget_router(small_catalog, "10")
    plan = router.route(
        {
            "model": "chat-small",
            "input_tokens": 1000,
            "max_output_tokens": 500,
            "tenant_id": "t1",
            "strategy": "cheapest",
        }
    )
    cost = router.record_outcome(plan, Usage(input_tokens=1000, output_tokens=100))
    router.record_outcome(plan, Usage(input_tokens=1000, output_tokens=100))  # reported twice
    [state] = router.budgets.state("t1", list(plan.budget_keys), FIXED_NOW)
    assert state == type(state)(spent=cost.total_usd, reserved=Decimal(0))


def test_every_hop_fits_what_remains(small_catalog: Catalog) -> None:
    router = budget_router(small_catalog, "0.009")
    plan = router.route(
        {
            "model": "chat-large",
            "input_tokens": 1000,
            "max_output_tokens": 500,
            "tenant_id": "t2",
            "max_fallbacks": 5,
        }
    )
    assert "alpha/chat-large" not in {hop.deployment for hop in plan.chain}
    [fell] = [r for r in plan.rejected if r.deployment == "alpha/chat-large"]
    assert fell.rule == "budget" and fell.code.value == "cost_above_max"


def test_unbounded_hops_cannot_be_reserved(small_catalog: Catalog) -> None:
    catalog = small_catalog.layered(
        "no limits",
        {
            "models": {
                "mystery": {"deployments": {"alpha": {"prices": {"input": "1", "output": "1"}}}}
            }
        },
    )
    policy = parse_policy(
        {"capabilities": {"allow_unknown": True}, "budgets": [{"period": "day", "limit_usd": "5"}]}
    )
    router = Router(catalog, policy, clock=lambda: FIXED_NOW)
    with pytest.raises(NoRouteError, match="worst-case cost USD is unbounded"):
        router.route({"model": "mystery", "input_tokens": 10, "tenant_id": "t2"})
    plan = router.route(
        {"model": "mystery", "input_tokens": 10, "tenant_id": "t2", "max_output_tokens": 100}
    )
    assert plan.reserved_usd == Decimal("0.00011")  # 10 x 1/M + 100 x 1/M


def test_hard_limit_answers_budget_exceeded(small_catalog: Catalog) -> None:
    router = budget_router(small_catalog, "0.01")
    request = {
        "model": "chat-small",
        "input_tokens": 1000,
        "max_output_tokens": 500,
        "tenant_id": "t3",
        "strategy": "cheapest",
    }
    plan = router.route(request)
    assert plan.primary.deployment == "beta/chat-small"  # $0.1 / $0.4 per M
    # 10,000 x 0.1/M + 22,000 x 0.4/M = 0.0098 spent.
    router.record_outcome(plan, Usage(input_tokens=10_000, output_tokens=22_000))
    # 0.0002 left, below any worst case (0.0003): the budget refuses, with every hop's reason.
    with pytest.raises(BudgetExceeded) as short:
        router.route(request)
    assert short.value.spent == Decimal("0.0098") and short.value.requested > Decimal("0.0002")
    assert short.value.rejections
    assert all(
        r.rule == "budget" and "budget cap 0.0002" in r.message for r in short.value.rejections
    )
    router.record_outcome(
        replace(plan, decision_id="other"), Usage(input_tokens=10_000, output_tokens=2_500)
    )  # 0.002 more
    with pytest.raises(BudgetExceeded) as caught:
        router.route(request)
    error = caught.value.to_dict()
    assert error["code"] == "budget_exceeded"
    assert error["limit_usd"] == "0.01" and error["spent_usd"] == "0.0118"
    assert error["resets_at"] == "2026-06-02T00:00:00+00:00"


def test_soft_limit_switches_to_cheapest_visibly(small_catalog: Catalog) -> None:
    router = budget_router(small_catalog, "1", soft_limit_pct=50, soft_action="cheapest")
    request = {
        "model": "smart",
        "input_tokens": 1000,
        "max_output_tokens": 100,
        "strategy": "quality",
        "tenant_id": "t4",
    }
    assert router.route(request).strategy == "quality"
    router.budgets.settle(
        "t4",
        [window_for(Budget(period="day", limit_usd=Decimal(1)), FIXED_NOW).key],
        "spend",
        Decimal("0.6"),
    )
    plan = router.route(request)
    assert plan.strategy == "cheapest"
    assert any("soft limit" in note for note in plan.notes)
    assert plan.snapshot is not None and plan.snapshot["inputs"]["budget"]["soft_strategy"]
    assert replay(plan.snapshot, small_catalog).matched


def test_soft_limit_can_deny_models(small_catalog: Catalog) -> None:
    router = budget_router(
        small_catalog, "1", soft_limit_pct=10, soft_action={"deny_models": ["chat-large"]}
    )
    key = window_for(Budget(period="day", limit_usd=Decimal(1)), FIXED_NOW).key
    router.budgets.settle("t5", [key], "spend", Decimal("0.2"))
    plan = router.route(
        {"model": "smart", "input_tokens": 10, "tenant_id": "t5", "max_output_tokens": 10}
    )
    assert all(hop.model == "open-70b" for hop in plan.chain)


def test_reservations_expire(small_catalog: Catalog) -> None:
    clock = [FIXED_NOW]
    router = Router(
        small_catalog,
        parse_policy({"budgets": [{"period": "day", "limit_usd": "1"}]}),
        clock=lambda: clock[0],
        reservation_ttl=timedelta(minutes=5),
    )
    plan = router.route(
        {"model": "chat-small", "input_tokens": 10, "max_output_tokens": 10, "tenant_id": "t6"}
    )
    keys = list(plan.budget_keys)
    assert router.budgets.state("t6", keys, FIXED_NOW)[0].reserved > 0
    later = FIXED_NOW + timedelta(minutes=6)
    assert router.budgets.state("t6", keys, later)[0].reserved == 0
    # A late outcome still counts: the money was spent.
    router.record_outcome(plan, Usage(input_tokens=10, output_tokens=10))
    assert router.budgets.state("t6", keys, later)[0].spent > 0


def test_concurrent_requests_never_commit_past_the_limit(small_catalog: Catalog) -> None:
    limit = Decimal("0.05")
    store = MemoryBudgetStore()
    router = Router(
        small_catalog,
        parse_policy({"budgets": [{"period": "day", "limit_usd": str(limit)}]}),
        clock=lambda: FIXED_NOW,
        budgets=store,
    )
    key = window_for(Budget(period="day", limit_usd=limit), FIXED_NOW).key
    result = race(router, store, key, serve_costliest=True)
    assert result.routed + result.refused == THREADS * CYCLES
    assert result.routed > 0 and result.refused > 0
    assert max(result.peaks) <= limit
    assert result.final is not None
    assert result.final.spent + result.final.reserved <= limit
    assert result.final.reserved == 0
