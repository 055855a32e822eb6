"""The budget ledger in the database: atomic under concurrency, shared, and
surviving a restart. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from modelrouter.catalog.index import Catalog
from modelrouter.policy.budgets import window_for
from modelrouter.policy.document import Budget, parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.store.budgets import SqlBudgetStore
from modelrouter.types import RoutingPlan
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


def _plans(router: Router, count: int) -> list[RoutingPlan]:
    return [
        router.route(
            {
                "model": "chat-small",
                "input_tokens": 1000,
                "max_output_tokens": 100,
                "tenant_id": "acme",
                "request_id": f"settle-{i}",
                "strategy": "cheapest",
            }
        )
        for i in range(count)
    ]


def test_each_outcome_settles_once_under_concurrent_repeats(engine: Engine) -> None:
    """40 decisions, each outcome reported 8 times at once: the ledger holds
    exactly the 40 costs, computed by hand from the usage and the price."""
    router = make_router(engine)
    plans = _plans(router, 40)
    usage = Usage(input_tokens=1000, output_tokens=80)
    start = threading.Barrier(8 * len(plans))
    costs: list[Decimal] = []
    lock = threading.Lock()

    def report(plan: RoutingPlan) -> None:
        start.wait()
        cost = router.record_outcome(plan, usage)
        with lock:
            costs.append(cost.total_usd)

    threads = [threading.Thread(target=report, args=(p,)) for p in plans for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # chat-small's cheapest deployment (beta): 1000 input at $0.1/M, 80 output at $0.4/M.
    assert {plan.primary.deployment for plan in plans} == {"beta/chat-small"}
    one = Decimal(1000) * Decimal("0.1") / 10**6 + Decimal(80) * Decimal("0.4") / 10**6
    assert set(costs) == {one}
    [state] = router.budgets.state("acme", [KEY], FIXED_NOW)
    assert state.spent == one * 40
    assert state.reserved == 0


SETTLE_SCRIPT = """
import sys
from tests.integration.test_budget_store import make_router, _plans
from modelrouter.pricing.usage import Usage
from modelrouter.store.database import create_engine_for
router = make_router(create_engine_for(sys.argv[1]))
for plan in _plans(router, 40):
    router.record_outcome(plan, Usage(input_tokens=1000, output_tokens=80))
"""


def test_two_processes_settle_each_decision_once(postgres_url: str) -> None:
    """Two router processes on one PostgreSQL database route the same 40
    request ids (one reservation each) and both report every outcome."""
    from modelrouter.store.database import create_engine_for, upgrade

    engine = create_engine_for(postgres_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE budget_spend, budget_reservations"))
    root = Path(__file__).resolve().parents[2]
    runs = [
        subprocess.Popen([sys.executable, "-c", SETTLE_SCRIPT, postgres_url], cwd=root)
        for _ in range(2)
    ]
    assert [run.wait(timeout=120) for run in runs] == [0, 0]
    one = Decimal(1000) * Decimal("0.1") / 10**6 + Decimal(80) * Decimal("0.4") / 10**6
    [state] = SqlBudgetStore(engine).state("acme", [KEY], FIXED_NOW)
    assert state.spent == one * 40 and state.reserved == 0
    engine.dispose()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(min_value=0, max_value=10**6, places=18, allow_nan=False), max_size=5
    )
)
def test_amounts_round_trip_exactly(engine: Engine, amounts: list[Decimal]) -> None:
    """Whatever is settled comes back to the last digit, on both backends."""
    store = SqlBudgetStore(engine)
    tenant = f"exact-{uuid.uuid4().hex[:8]}"
    for index, amount in enumerate(amounts):
        assert store.settle(tenant, [KEY], f"{tenant}-{index}", amount)
    [state] = store.state(tenant, [KEY], FIXED_NOW)
    assert state.spent == sum(amounts, Decimal(0))
    assert str(state.spent.normalize()) == str(sum(amounts, Decimal(0)).normalize())
