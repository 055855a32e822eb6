"""The budget ledger in the database: atomic under concurrency, shared, and
surviving a restart. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine

from modelrouter.budgets import window_for
from modelrouter.catalog.catalog import Catalog
from modelrouter.errors import BudgetExceeded, NoRouteError
from modelrouter.policy import Budget, parse_policy
from modelrouter.router import Router
from modelrouter.store.budgets import SqlBudgetStore
from modelrouter.usage import Usage
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
    peaks: list[Decimal] = []
    counts = {"routed": 0, "refused": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def worker(index: int) -> None:
        barrier.wait()
        for cycle in range(10):
            try:
                plan = router.route(
                    {
                        "model": "chat-large",
                        "input_tokens": 1000,
                        "max_output_tokens": 500,
                        "tenant_id": "shared",
                        "request_id": f"{index}-{cycle}",
                        "strategy": "cheapest",
                    }
                )
            except (BudgetExceeded, NoRouteError):
                with lock:
                    counts["refused"] += 1
                continue
            [state] = store.state("shared", [KEY], FIXED_NOW)
            with lock:
                counts["routed"] += 1
                peaks.append(state.spent + state.reserved)
            router.record_outcome(plan, Usage(input_tokens=1000, output_tokens=400))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [final] = store.state("shared", [KEY], FIXED_NOW)
    assert counts["routed"] + counts["refused"] == 200
    assert counts["routed"] > 0 and counts["refused"] > 0
    assert max(peaks) <= LIMIT
    assert final.spent + final.reserved <= LIMIT and final.reserved == 0
