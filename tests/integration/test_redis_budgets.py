"""The budget ledger in Redis, on a real server at 127.0.0.1:6379 (or
MODELROUTER_TEST_REDIS_URL): exact to the last digit, atomic across
processes, and with the SQL ledger's rules for repeats and expiry. Each test
writes under its own key prefix and deletes its keys after."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrouter.catalog.index import Catalog
from modelrouter.errors import BudgetExceeded, StoreUnavailable
from modelrouter.money import EXACT, ZERO
from modelrouter.policy.budgets import WindowState, window_for
from modelrouter.policy.document import Budget, parse_policy
from modelrouter.router import Router
from modelrouter.signals.redis_budgets import RedisBudgetStore
from tests import redis_budget_race as racer
from tests.budget_race import CYCLES, THREADS, race
from tests.conftest import FIXED_NOW, small_document
from tests.integration.conftest import REDIS_URL

LATER = FIXED_NOW + timedelta(minutes=15)
DAY = window_for(Budget(period="day", limit_usd=Decimal("0.5")), FIXED_NOW)
MONTH = window_for(Budget(period="month", limit_usd=Decimal("0.3")), FIXED_NOW)


@pytest.fixture(scope="module")
def client(redis_client: redis.Redis) -> redis.Redis:
    return redis_client


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


@pytest.fixture
def store(client: redis.Redis, prefix: str) -> RedisBudgetStore:
    return RedisBudgetStore(client, prefix=prefix)


def test_reserve_settle_and_state_are_exact(store: RedisBudgetStore) -> None:
    worst = Decimal("0.000000123456789012")  # 18 places, the bound of a limit
    cost = Decimal("0.000000098765432109876543")  # 24: rates of 18 places times 10^-6
    store.reserve("acme", [DAY, MONTH], worst, "d1", LATER, FIXED_NOW)
    store.reserve("acme", [DAY, MONTH], worst, "d2", LATER, FIXED_NOW)
    held = WindowState(Decimal(0), 2 * worst)
    assert store.state("acme", [DAY.key, MONTH.key], FIXED_NOW) == [held, held]
    assert store.settle("acme", [DAY.key, MONTH.key], "d1", cost)
    [day, month] = store.state("acme", [DAY.key, MONTH.key], FIXED_NOW)
    assert day.spent == month.spent == cost
    assert day.reserved == month.reserved == worst
    assert str(day.spent) == "9.8765432109876543E-8"  # every digit, none invented
    assert store.state("globex", [DAY.key], FIXED_NOW)[0].reserved == 0  # tenants apart


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(min_value=0, max_value=10**12, places=24, allow_nan=False), max_size=6
    )
)
def test_sums_are_exact_to_the_last_digit(store: RedisBudgetStore, amounts: list[Decimal]) -> None:
    tenant = f"exact-{uuid.uuid4().hex[:8]}"
    roomy = replace(DAY, key="roomy", limit_usd=Decimal(10**15))
    for index, amount in enumerate(amounts):
        assert store.settle(tenant, [DAY.key], f"s{index}", amount)
        store.reserve(tenant, [roomy], amount, f"r{index}", LATER, FIXED_NOW)
    total = sum_exact(amounts)
    assert store.state(tenant, [DAY.key, "roomy"], FIXED_NOW) == [
        WindowState(total, ZERO),
        WindowState(ZERO, total),
    ]


def sum_exact(amounts: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for amount in amounts:
        total = EXACT.add(total, amount)
    return total


def test_a_reservation_is_held_once_per_id(store: RedisBudgetStore) -> None:
    for _ in range(3):
        store.reserve("acme", [DAY], Decimal("0.2"), "d1", LATER, FIXED_NOW)
    assert store.state("acme", [DAY.key], FIXED_NOW)[0].reserved == Decimal("0.2")
    assert store.settle("acme", [DAY.key], "d1", Decimal("0.1"))
    store.reserve("acme", [DAY], Decimal("0.2"), "d1", LATER, FIXED_NOW)  # settled: no-op
    store.reserve("acme", [DAY], Decimal("0.2"), "d2", LATER, FIXED_NOW)
    assert store.release("acme", "d2")
    store.reserve("acme", [DAY], Decimal("0.2"), "d2", LATER, FIXED_NOW)  # released: no-op
    [state] = store.state("acme", [DAY.key], FIXED_NOW)
    assert state.spent == Decimal("0.1") and state.reserved == 0


def test_settle_is_exactly_once(store: RedisBudgetStore) -> None:
    store.reserve("acme", [DAY, MONTH], Decimal("0.2"), "d1", LATER, FIXED_NOW)
    assert store.settle("acme", [DAY.key, MONTH.key], "d1", Decimal("0.15"))
    assert not store.settle("acme", [DAY.key, MONTH.key], "d1", Decimal("0.15"))
    # An id with no reservation (an attempt's settlement id) settles once too.
    assert store.settle("acme", [DAY.key], "att_1", Decimal("0.01"))
    assert not store.settle("acme", [DAY.key], "att_1", Decimal("0.01"))
    assert store.state("acme", [DAY.key, MONTH.key], FIXED_NOW) == [
        WindowState(Decimal("0.16"), ZERO),
        WindowState(Decimal("0.15"), ZERO),
    ]


def test_a_reservation_settles_in_its_own_windows(store: RedisBudgetStore) -> None:
    store.reserve("acme", [MONTH, DAY], Decimal("0.2"), "d1", LATER, FIXED_NOW)
    assert store.settle("acme", ["elsewhere"], "d1", Decimal("0.05"))
    settled, untouched = WindowState(Decimal("0.05"), ZERO), WindowState(ZERO, ZERO)
    assert store.state("acme", [DAY.key, MONTH.key, "elsewhere"], FIXED_NOW) == [
        settled,
        settled,
        untouched,
    ]


def test_release_drops_a_held_reservation_without_spend(store: RedisBudgetStore) -> None:
    store.reserve("acme", [DAY], Decimal("0.2"), "d1", LATER, FIXED_NOW)
    assert not store.release("globex", "d1")  # another tenant's id
    assert store.release("acme", "d1")
    assert not store.release("acme", "d1")
    assert not store.release("acme", "never")
    # As in the SQL ledger, a released reservation is done: it no longer settles.
    assert not store.settle("acme", [DAY.key], "d1", Decimal("0.1"))
    [state] = store.state("acme", [DAY.key], FIXED_NOW)
    assert state.spent == 0 and state.reserved == 0


def test_reservations_stop_counting_at_their_expiry(store: RedisBudgetStore) -> None:
    store.reserve("acme", [DAY], Decimal("0.3"), "d1", LATER, FIXED_NOW)
    just_before = LATER - timedelta(microseconds=1)
    assert store.state("acme", [DAY.key], just_before)[0].reserved == Decimal("0.3")
    assert store.state("acme", [DAY.key], LATER)[0].reserved == 0
    with pytest.raises(BudgetExceeded):
        store.reserve("acme", [DAY], Decimal("0.3"), "d2", LATER, just_before)
    store.reserve("acme", [DAY], Decimal("0.3"), "d2", LATER + timedelta(minutes=15), LATER)
    # An expired reservation still settles, in its windows: the money was spent.
    assert store.settle("acme", [DAY.key], "d1", Decimal("0.1"))
    assert store.state("acme", [DAY.key], LATER) == [WindowState(Decimal("0.1"), Decimal("0.3"))]


def test_a_refusal_names_the_window_and_stores_nothing(
    store: RedisBudgetStore, client: redis.Redis, prefix: str
) -> None:
    assert store.settle("acme", [MONTH.key], "earlier", Decimal("0.2"))
    store.reserve("acme", [MONTH], Decimal("0.05"), "held", LATER, FIXED_NOW)
    # SCAN may return a key more than once (while the keyspace rehashes): compare sets.
    keys_before = set(client.scan_iter(f"{prefix}:*"))
    with pytest.raises(BudgetExceeded) as refused:
        store.reserve("acme", [DAY, MONTH], Decimal("0.06"), "d1", LATER, FIXED_NOW)
    error = refused.value
    assert (error.tenant, error.period, error.resets_at) == ("acme", "month", MONTH.resets_at)
    assert (error.limit, error.spent, error.reserved, error.requested) == (
        Decimal("0.3"),
        Decimal("0.2"),
        Decimal("0.05"),
        Decimal("0.06"),
    )
    assert set(client.scan_iter(f"{prefix}:*")) == keys_before
    assert store.state("acme", [DAY.key, MONTH.key], FIXED_NOW) == [
        WindowState(ZERO, ZERO),
        WindowState(Decimal("0.2"), Decimal("0.05")),
    ]
    # Exactly at the limit is allowed, and the refused id was never taken.
    store.reserve("acme", [DAY, MONTH], Decimal("0.05"), "d1", LATER, FIXED_NOW)
    assert store.state("acme", [MONTH.key], FIXED_NOW)[0].reserved == Decimal("0.1")


def test_every_key_is_prefixed_and_expires(
    store: RedisBudgetStore, client: redis.Redis, prefix: str
) -> None:
    store.reserve("a:b{c}", [DAY, MONTH], Decimal("0.1"), "d1", LATER, FIXED_NOW)
    store.settle("a:b{c}", [DAY.key], "att_1", Decimal("0.01"))
    store.reserve("a", [DAY], Decimal("0.1"), "d1", LATER, FIXED_NOW)
    keys = [key.decode() for key in client.scan_iter(f"{prefix}:*")]
    assert keys and all(key.startswith(f"{prefix}:budget:") for key in keys)
    assert all(35 * 86400 < client.ttl(key) <= 41 * 86400 for key in keys)
    # A tenant's name cannot reach into another tenant's keys.
    assert store.state("a", [DAY.key], FIXED_NOW)[0].reserved == Decimal("0.1")


def test_an_unreachable_server_is_store_unavailable() -> None:
    refused = RedisBudgetStore.from_url("redis://127.0.0.1:1")
    with pytest.raises(StoreUnavailable):
        refused.state("acme", [DAY.key], FIXED_NOW)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        hung = RedisBudgetStore.from_url(f"redis://127.0.0.1:{silent.getsockname()[1]}")
        with pytest.raises(StoreUnavailable):
            hung.reserve("acme", [DAY], Decimal("0.1"), "d1", LATER, FIXED_NOW)


def test_routing_threads_never_commit_past_the_limit(store: RedisBudgetStore) -> None:
    limit = Decimal("0.05")
    policy = parse_policy({"budgets": [{"period": "day", "limit_usd": str(limit)}]})
    catalog = Catalog.from_layers([("small", small_document())])
    router = Router(catalog, policy, clock=lambda: FIXED_NOW, budgets=store)
    key = window_for(Budget(period="day", limit_usd=limit), FIXED_NOW).key
    result = race(router, store, key, serve_costliest=False)
    assert result.routed + result.refused == THREADS * CYCLES
    assert result.routed > 0 and result.refused > 0
    # The last attempt settles its cost and releases the reservation in one
    # step, so no reading ever counts a cost twice (spent and still reserved).
    assert max(result.peaks) <= limit
    assert result.final is not None
    assert result.final.spent + result.final.reserved <= limit
    assert result.final.reserved == 0


def test_three_processes_never_pass_the_limit_and_settle_once(
    store: RedisBudgetStore, prefix: str
) -> None:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tests.redis_budget_race", REDIS_URL, prefix]
    runs = [
        subprocess.Popen([*command, str(index)], cwd=root, stdout=subprocess.PIPE, text=True)
        for index in range(racer.PROCESSES)
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * racer.PROCESSES
    results = [json.loads(output) for output in outputs]
    routed = sum(r["routed"] for r in results)
    refused = sum(r["refused"] for r in results)
    assert routed + refused == racer.PROCESSES * racer.CYCLES
    assert routed > 0 and refused > 0
    assert max(Decimal(peak) for r in results for peak in r["peaks"]) <= racer.LIMIT
    [state] = store.state(racer.TENANT, [racer.WINDOW.key], FIXED_NOW)
    settled = sum_exact([Decimal(amount) for r in results for amount in r["settled"]])
    assert state.spent == settled <= racer.LIMIT
    assert state.reserved == 0
    won = sorted(shared for r in results for shared in r["won"])
    assert won == sorted(f"s-{index}" for index in range(racer.SHARED))
    [shared] = store.state(racer.TENANT, [racer.SHARED_KEY], FIXED_NOW)
    assert shared.spent == racer.SHARED * racer.SHARED_AMOUNT
