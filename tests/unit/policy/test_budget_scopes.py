"""Budgets of every scope: whole-request (tenant, key) and hop (provider,
model, deployment, tag) windows, reserved and settled where they apply."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import BudgetExceeded
from modelrouter.policy.budgets import BudgetStore, window_for
from modelrouter.policy.document import Budget, parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.routing.replay import replay
from modelrouter.signals.budgets import MemoryBudgetStore
from modelrouter.types import RejectionCode
from tests.conftest import FIXED_NOW

PROVIDER = {"scope": "provider", "match": "beta", "period": "day", "limit_usd": "0.001"}
PER_KEY = {"scope": "key", "duration": "1h", "limit_usd": "0.001"}
REQUEST: dict[str, Any] = {
    "model": "chat-small",
    "input_tokens": 1000,
    "max_output_tokens": 500,
    "tenant_id": "acme",
    "strategy": "cheapest",
}
# beta/chat-small: 1000 x 0.1/M + 500 x 0.4/M; alpha/chat-small: 1000 x 0.15/M + 500 x 0.6/M.
BETA_WORST = Decimal("0.0003")
ALPHA_WORST = Decimal("0.00045")


def router(catalog: Catalog, *budgets: dict[str, Any], store: BudgetStore | None = None) -> Router:
    return Router(
        catalog,
        parse_policy({"budgets": list(budgets)}),
        clock=lambda: FIXED_NOW,
        budgets=store or MemoryBudgetStore(),
    )


def beta_key() -> str:
    budget = Budget.model_validate(PROVIDER)
    return window_for(budget, FIXED_NOW, "beta").key


def test_a_provider_budget_moves_the_request_to_another_provider(small_catalog: Catalog) -> None:
    r = router(small_catalog, PROVIDER)
    plan = r.route({**REQUEST, "request_id": "first"})
    assert plan.primary.deployment == "beta/chat-small"
    # Only the beta window holds money, and only beta's worst case.
    assert plan.budget_keys == (beta_key(),)
    [state] = r.budgets.state("acme", [beta_key()], FIXED_NOW)
    assert state.reserved == BETA_WORST
    r.record_outcome(plan, Usage(input_tokens=1000, output_tokens=1000))  # 0.0005 spent
    r.budgets.settle("acme", [beta_key()], "earlier", Decimal("0.0003"))  # 0.0008 in all

    moved = r.route({**REQUEST, "request_id": "second"})
    assert moved.primary.deployment == "alpha/chat-small"
    [fell] = [x for x in moved.rejected if x.deployment == "beta/chat-small"]
    assert fell.code is RejectionCode.BUDGET_EXCEEDED
    assert "'provider beta daily' (provider beta)" in fell.message
    assert "limit 0.001, spent 0.0008" in fell.message and fell.resets_at
    assert moved.budget_keys == ()  # no hop it kept is on beta
    assert moved.snapshot is not None and replay(moved.snapshot, small_catalog).matched


def test_a_provider_budget_refuses_a_request_pinned_to_it(small_catalog: Catalog) -> None:
    r = router(small_catalog, PROVIDER)
    r.budgets.settle("acme", [beta_key()], "earlier", Decimal("0.0008"))
    with pytest.raises(BudgetExceeded) as refused:
        r.route({**REQUEST, "model": "beta/chat-small"})
    error = refused.value.to_dict()
    assert error["budget"] == "provider beta daily"
    assert error["scope"] == "provider" and error["matched"] == "beta"
    assert error["spent_usd"] == "0.0008" and error["limit_usd"] == "0.001"
    assert error["requested_usd"] == "0.0003"
    assert "budget 'provider beta daily' for provider beta" in refused.value.message
    # Another tenant's beta window is its own.
    assert r.route({**REQUEST, "model": "beta/chat-small", "tenant_id": "globex"})


def test_a_key_budget_refuses_that_key_and_admits_another(small_catalog: Catalog) -> None:
    r = router(small_catalog, PER_KEY)
    for i in range(2):  # 2 x 0.00045 held (the costliest hop) fit 0.001; a third does not
        r.route({**REQUEST, "request_id": f"k{i}"}, api_key_id="key_a")
    with pytest.raises(BudgetExceeded) as refused:
        r.route({**REQUEST, "request_id": "k2"}, api_key_id="key_a")
    error = refused.value.to_dict()
    assert error["budget"] == "per-key 1h" and error["scope"] == "key"
    assert error["matched"] == "key_a" and error["period"] == "1h"
    assert error["resets_at"] == "2026-06-01T13:00:00+00:00"
    other = r.route({**REQUEST, "request_id": "b"}, api_key_id="key_b")
    assert other.budget_keys == ("key=key_b|3600s:2026-06-01T12:00:00+00:00",)
    # Without a key, key budgets do not apply.
    assert r.route({**REQUEST, "request_id": "none"}).reserved_usd is None


def test_settlement_goes_to_the_windows_of_the_deployment_that_served(
    small_catalog: Catalog,
) -> None:
    tenant_day = {"period": "day", "limit_usd": "1"}
    alpha = {"scope": "provider", "match": "alpha", "period": "day", "limit_usd": "1"}
    r = router(small_catalog, tenant_day, PROVIDER | {"limit_usd": "1"}, alpha)
    plan = r.route(REQUEST)
    assert [hop.deployment for hop in plan.chain] == ["beta/chat-small", "alpha/chat-small"]
    tenant_key = window_for(Budget(period="day", limit_usd=Decimal(1)), FIXED_NOW).key
    alpha_key = window_for(Budget.model_validate(alpha), FIXED_NOW, "alpha").key
    keys = [tenant_key, beta_key(), alpha_key]
    assert list(plan.budget_keys) == keys
    held = r.budgets.state("acme", keys, FIXED_NOW)
    assert [s.reserved for s in held] == [ALPHA_WORST, BETA_WORST, ALPHA_WORST]
    cost = r.record_outcome(
        plan, Usage(input_tokens=1000, output_tokens=100), deployment="alpha/chat-small"
    )
    r.record_outcome(
        plan, Usage(input_tokens=1000, output_tokens=100), deployment="alpha/chat-small"
    )  # once
    after = r.budgets.state("acme", keys, FIXED_NOW)
    assert [s.spent for s in after] == [cost.total_usd, 0, cost.total_usd]
    assert all(s.reserved == 0 for s in after)


def test_model_alias_deployment_and_tag_scopes(small_catalog: Catalog) -> None:
    tagged = small_catalog.layered(
        "tags",
        {"models": {"chat-large": {"deployments": {"gamma": {"tags": ["eu-only"]}}}}},
    )
    budgets = [
        {"scope": "model", "match": "smart", "period": "month", "limit_usd": "5"},
        {"scope": "deployment", "match": "alpha/*", "period": "week", "limit_usd": "5"},
        {"scope": "tag", "period": "day", "limit_usd": "0"},
    ]
    r = router(tagged, *budgets)
    plan = r.route({**REQUEST, "model": "smart", "max_fallbacks": 5})
    hops = {hop.deployment for hop in plan.chain}
    assert "gamma/chat-large" not in hops  # its tag's budget is 0
    [fell] = [x for x in plan.rejected if x.deployment == "gamma/chat-large"]
    assert fell.code is RejectionCode.BUDGET_EXCEEDED and "(tag eu-only)" in fell.message
    keys = plan.budget_keys
    assert any(k.startswith("model=smart|month@") for k in keys)
    assert any(k.startswith("deployment=alpha%2Fchat-large|week@") for k in keys)
    assert plan.snapshot is not None and replay(plan.snapshot, tagged).matched
    # A request for chat-large by its own name is not the alias's.
    direct = r.route({**REQUEST, "model": "chat-large"})
    assert not any(k.startswith("model=smart") for k in direct.budget_keys)


def test_plans_without_new_budgets_keep_their_snapshot(small_catalog: Catalog) -> None:
    plan = router(small_catalog, {"period": "day", "limit_usd": "1"}).route(
        REQUEST, api_key_id="key_a"
    )
    assert plan.snapshot is not None
    budget = plan.snapshot["inputs"]["budget"]
    assert set(budget) == {
        "tenant",
        "keys",
        "remaining_usd",
        "soft_strategy",
        "deny_models",
        "notes",
    }
    assert plan.budget_keys == ("day@UTC:2026-06-01T00:00:00+00:00",)


def test_spend_views_name_every_window(small_catalog: Catalog) -> None:
    r = router(small_catalog, {"period": "day", "limit_usd": "1"}, PROVIDER, PER_KEY)
    plan = r.route(REQUEST, api_key_id="key_a")
    r.record_outcome(plan, Usage(input_tokens=1000, output_tokens=100))
    seen = {
        (w.name, w.scope, w.value): s.spent
        for w, s in r.budget_windows("acme", api_keys=["key_a", "key_b"])
    }
    assert set(seen) == {
        ("tenant daily", "tenant", None),
        ("provider beta daily", "provider", "beta"),
        ("per-key 1h", "key", "key_a"),
        ("per-key 1h", "key", "key_b"),
    }
    assert seen[("per-key 1h", "key", "key_b")] == 0


def test_over_budget_names_the_scoped_window_a_late_cost_passed(small_catalog: Catalog) -> None:
    r = router(small_catalog, PROVIDER)
    plan = r.route(REQUEST)
    r.record_outcome(plan, Usage(input_tokens=20_000, output_tokens=0))  # 0.002 > 0.001
    [over] = r.over_budget(plan)
    assert over["name"] == "provider beta daily" and over["matched"] == "beta"
    assert over["over_usd"] == "0.001"


def test_a_budget_of_an_unknown_hop_scope_value_reserves_nothing(small_catalog: Catalog) -> None:
    """Only hop budgets, none covering the plan: nothing is held, nothing settles."""
    r = router(small_catalog, {**PROVIDER, "match": "nowhere"})
    plan = r.route(REQUEST)
    assert plan.reserved_usd is None and plan.budget_keys == ()
    r.record_outcome(plan, Usage(input_tokens=1000, output_tokens=100))
