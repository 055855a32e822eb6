"""The budget ledger in the database: atomic under concurrency, shared, and
surviving a restart. Run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine

from modelrouter.catalog.index import Catalog
from modelrouter.policy.budgets import window_for
from modelrouter.policy.document import Budget, parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.store.budgets import SqlBudgetStore
from tests.budget_race import CYCLES, THREADS, race
from tests.conftest import FIXED_NOW, small_document

LIMIT = Decimal("0.05")
POLICY = {"budgets": [{"period": "day", "limit_usd": str(LIMIT)}]}
KEY = window_for(Budget(period="day", limit_usd=LIMIT), FIXED_NOW).key


def make_router(engine: Engine) -> Router:
    catalog = Catalog.from_layers([("small", small_document())])
    return Router(
        catalog, parse_policy(POLICY), clock=lambda: FIXED_NOW, budgets=SqlBudgetStore(engine)
    )


def test_spend_and_reservations_survive_a_restart(engine: Engine) -> None:
    router = make_router(engine)
    plan = router.route(
        {
            "model": "chat-small",
            "input_tokens": 1000,
            "max_output_tokens": 500,
            "tenant_id": "acme",
            "strategy": "cheapest",
        }
    )
    restarted = make_router(engine)  # a new process on the same database
    [state] = restarted.budgets.state("acme", [KEY], FIXED_NOW)
    assert state.reserved == plan.reserved_usd and state.spent == 0
    cost = restarted.record_outcome(plan, Usage(input_tokens=1000, output_tokens=100))
    assert restarted.record_outcome(plan, Usage(input_tokens=1000, output_tokens=100))
    [state] = make_router(engine).budgets.state("acme", [KEY], FIXED_NOW)
    assert state.spent == cost.total_usd and state.reserved == 0  # settled once


def test_expired_reservations_free_the_budget(engine: Engine) -> None:
    router = make_router(engine)
    router.route(
        {"model": "chat-small", "input_tokens": 1000, "max_output_tokens": 500, "tenant_id": "acme"}
    )
    later = FIXED_NOW + timedelta(minutes=16)
    [state] = router.budgets.state("acme", [KEY], later)
    assert state.reserved == 0


def test_concurrent_route_and_settle_never_exceed_the_limit(engine: Engine) -> None:
    router = make_router(engine)
    store = router.budgets
    result = race(router, store, KEY, serve_costliest=False)
    assert result.routed + result.refused == THREADS * CYCLES
    assert result.routed > 0 and result.refused > 0
    assert max(result.peaks) <= LIMIT
    assert result.final is not None
    assert result.final.spent + result.final.reserved <= LIMIT
    assert result.final.reserved == 0
