"""Budgets of every scope on the real ledgers: SQLite and PostgreSQL (the
``engine`` fixture), and Redis (``redis_client``/``redis_prefix``), through the
library and over HTTP. A per-provider daily budget and a per-key ``1h``
budget each refuse with 402 naming themselves, while another scope admits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from modelrouter.catalog.index import Catalog
from modelrouter.errors import BudgetExceeded
from modelrouter.policy.budgets import BudgetStore, window_for
from modelrouter.policy.document import Budget, parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.service.app import build_state, create_app
from modelrouter.service.state import ServiceState
from modelrouter.signals.redis_budgets import RedisBudgetStore
from modelrouter.store.budgets import SqlBudgetStore
from modelrouter.store.database import create_engine_for, upgrade
from modelrouter.types import RejectionCode
from tests.budget_race import CYCLES, THREADS, race
from tests.conftest import FIXED_NOW, small_document

PROVIDER = {"scope": "provider", "match": "beta", "period": "day", "limit_usd": "0.001"}
PER_KEY = {"scope": "key", "duration": "1h", "limit_usd": "0.001"}
REQUEST: dict[str, Any] = {
    "model": "chat-small",
    "input_tokens": 1000,
    "max_output_tokens": 500,
    "tenant_id": "acme",
    "strategy": "cheapest",
}
CATALOG = Catalog.from_layers([("small", small_document())])


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BudgetStore]:
    """The SQL ledger on SQLite and on PostgreSQL, and the Redis ledger."""
    if request.param == "redis":
        client: redis.Redis = request.getfixturevalue("redis_client")
        yield RedisBudgetStore(client, prefix=request.getfixturevalue("redis_prefix"))
        return
    if request.param == "postgresql":
        url = request.getfixturevalue("database_url_postgresql")
    else:
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = create_engine_for(url)
    upgrade(engine)
    yield SqlBudgetStore(engine)
    engine.dispose()


def make_router(store: BudgetStore, *budgets: dict[str, Any]) -> Router:
    return Router(
        CATALOG, parse_policy({"budgets": list(budgets)}), clock=lambda: FIXED_NOW, budgets=store
    )


def beta_key() -> str:
    return window_for(Budget.model_validate(PROVIDER), FIXED_NOW, "beta").key


# -- the library, on each ledger ------------------------------------------------------


def test_a_provider_budget_refuses_while_another_provider_admits(ledger: BudgetStore) -> None:
    router = make_router(ledger, PROVIDER)
    first = router.route({**REQUEST, "request_id": "r1"})
    assert first.primary.deployment == "beta/chat-small"
    assert ledger.state("acme", [beta_key()], FIXED_NOW)[0].reserved == Decimal("0.0003")
    # 8000 x 0.1/M: 0.0008 of the 0.001 spent, less than any worst case left.
    router.record_outcome(first, Usage(input_tokens=8000, output_tokens=0))
    router.record_outcome(first, Usage(input_tokens=8000, output_tokens=0))  # settled once
    assert ledger.state("acme", [beta_key()], FIXED_NOW)[0].spent == Decimal("0.0008")

    moved = router.route({**REQUEST, "request_id": "r2"})
    assert moved.primary.deployment == "alpha/chat-small"
    [fell] = [r for r in moved.rejected if r.deployment == "beta/chat-small"]
    assert fell.code is RejectionCode.BUDGET_EXCEEDED
    assert "provider beta daily" in fell.message and "spent 0.0008" in fell.message

    with pytest.raises(BudgetExceeded) as refused:
        router.route({**REQUEST, "model": "beta/chat-small", "request_id": "r3"})
    assert refused.value.budget == "provider beta daily"
    assert (refused.value.scope, refused.value.matched) == ("provider", "beta")


def test_a_key_budget_refuses_its_key_while_another_key_admits(ledger: BudgetStore) -> None:
    router = make_router(ledger, PER_KEY)
    for i in range(2):  # each holds 0.00045 (alpha, the costliest hop)
        router.route({**REQUEST, "request_id": f"a{i}"}, api_key_id="key_a")
    with pytest.raises(BudgetExceeded) as refused:
        router.route({**REQUEST, "request_id": "a2"}, api_key_id="key_a")
    assert refused.value.budget == "per-key 1h" and refused.value.matched == "key_a"
    assert refused.value.resets_at.isoformat() == "2026-06-01T13:00:00+00:00"
    assert router.route({**REQUEST, "request_id": "b0"}, api_key_id="key_b")


def test_an_attempt_settles_in_the_windows_of_the_deployment_that_served(
    ledger: BudgetStore,
) -> None:
    alpha = {**PROVIDER, "match": "alpha", "limit_usd": "1"}
    router = make_router(ledger, {**PROVIDER, "limit_usd": "1"}, alpha, PER_KEY)
    plan = router.route(REQUEST, api_key_id="key_a")
    keys = list(plan.budget_keys)
    assert len(keys) == 3 and keys[0].startswith("key=key_a|3600s:")
    held = ledger.state("acme", keys, FIXED_NOW)
    assert [s.reserved for s in held] == [Decimal("0.00045"), Decimal("0.0003"), Decimal("0.00045")]
    cost = router.record_outcome(
        plan, Usage(input_tokens=1000, output_tokens=100), deployment="alpha/chat-small"
    )
    after = ledger.state("acme", keys, FIXED_NOW)
    assert [s.spent for s in after] == [cost.total_usd, 0, cost.total_usd]
    assert all(s.reserved == 0 for s in after)


def test_concurrent_requests_never_overspend_a_provider_window(ledger: BudgetStore) -> None:
    """The race harness on a hop-scoped window: beta's daily budget, while the
    other providers take what beta cannot."""
    limit = Decimal("0.05")
    router = make_router(ledger, {**PROVIDER, "limit_usd": str(limit)})
    key = window_for(Budget.model_validate(PROVIDER), FIXED_NOW, "beta").key
    result = race(router, ledger, key, serve_costliest=False)
    assert result.routed + result.refused == THREADS * CYCLES
    assert result.routed > 0
    assert max(result.peaks) <= limit
    assert result.final is not None
    assert result.final.spent + result.final.reserved <= limit
    assert result.final.spent > limit - Decimal("0.0075")  # beta was used up, not avoided
    assert result.final.reserved == 0


# -- over HTTP: SQLite, PostgreSQL and Redis --------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def service(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServiceState]:
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    monkeypatch.delenv("MODELROUTER_REDIS_URL", raising=False)
    if request.param == "postgresql":
        url = request.getfixturevalue("database_url_postgresql")
    else:
        url = f"sqlite:///{tmp_path / 'svc.db'}"
    state = build_state(database_url=url, catalog=CATALOG, directory=tmp_path)
    if request.param == "redis":
        client: redis.Redis = request.getfixturevalue("redis_client")
        state.budgets = RedisBudgetStore(client, prefix=request.getfixturevalue("redis_prefix"))
    yield state
    state.close()


@pytest.fixture
def database_url_postgresql(postgres_url: str) -> str:
    """The test PostgreSQL database, emptied of what other tests left."""
    engine = create_engine_for(postgres_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE inference_requests, tenants, catalog_versions, platform_policies, "
                "budget_spend, budget_reservations, decision_attempts, config_events, api_keys "
                "RESTART IDENTITY CASCADE"
            )
        )
    engine.dispose()
    return postgres_url


@pytest.fixture
def http(service: ServiceState) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as client:
        yield client


def _header(service: ServiceState, role: str, tenant: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.keys.create(role, tenant)}"}


def _policy(http: TestClient, admin: dict[str, str], *budgets: dict[str, Any]) -> None:
    answer = http.put("/v1/platform/policy", json={"budgets": list(budgets)}, headers=admin)
    assert answer.status_code == 200, answer.text


def test_http_a_provider_budget_answers_402_naming_itself(
    service: ServiceState, http: TestClient
) -> None:
    admin, gateway = _header(service, "admin"), _header(service, "gateway")
    _policy(http, admin, PROVIDER)
    first = http.post("/v1/route", json=REQUEST, headers=gateway)
    assert first.status_code == 200, first.text
    plan = first.json()
    assert plan["primary"]["deployment"] == "beta/chat-small"
    outcome = http.post(
        f"/v1/decisions/{plan['decision_id']}/outcome",
        json={"usage": {"input_tokens": 8000, "output_tokens": 0}},
        headers=gateway,
    )
    assert outcome.status_code == 200, outcome.text

    moved = http.post("/v1/route", json=REQUEST, headers=gateway)
    assert moved.status_code == 200, moved.text
    assert moved.json()["primary"]["deployment"] == "alpha/chat-small"
    [fell] = [r for r in moved.json()["rejected"] if r["deployment"] == "beta/chat-small"]
    assert fell["code"] == "budget_exceeded" and "provider beta daily" in fell["message"]

    refused = http.post("/v1/route", json={**REQUEST, "model": "beta/chat-small"}, headers=gateway)
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert error["budget"] == "provider beta daily"
    assert error["scope"] == "provider" and error["matched"] == "beta"
    assert error["spent_usd"] == "0.0008" and error["limit_usd"] == "0.001"
    assert "provider beta daily" in error["message"]

    spend = http.get("/v1/tenants/acme/spend", headers=admin).json()
    [window] = spend["budgets"]
    assert window["name"] == "provider beta daily" and window["scope"] == "provider"
    assert window["matched"] == "beta" and window["spent_usd"] == "0.0008"


def test_http_a_key_budget_answers_402_naming_itself(
    service: ServiceState, http: TestClient
) -> None:
    admin = _header(service, "admin")
    first, second = _header(service, "tenant", "acme"), _header(service, "tenant", "acme")
    _policy(http, admin, PER_KEY)
    for _ in range(2):
        assert http.post("/v1/route", json=REQUEST, headers=first).status_code == 200
    refused = http.post("/v1/route", json=REQUEST, headers=first)
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["budget"] == "per-key 1h" and error["scope"] == "key"
    assert error["period"] == "1h"
    key_id = error["matched"]
    admitted = http.post("/v1/route", json=REQUEST, headers=second)
    assert admitted.status_code == 200, admitted.text
    assert not any(key_id in key for key in admitted.json()["budget_keys"])

    spend = http.get("/v1/tenants/acme/spend", headers=admin).json()
    windows = {w["matched"]: w for w in spend["budgets"]}
    assert key_id in windows and windows[key_id]["name"] == "per-key 1h"
    assert Decimal(windows[key_id]["reserved_usd"]) == Decimal("0.0009")


def test_redis_keeps_a_long_window_to_its_end(redis_client: redis.Redis, redis_prefix: str) -> None:
    store = RedisBudgetStore(redis_client, prefix=redis_prefix)
    budget = Budget.model_validate({"duration": "300d", "limit_usd": "1"})
    window = window_for(budget, datetime.now(UTC))
    assert store.settle("acme", [window.key], "s1", Decimal("0.1"))
    # A set: SCAN may return a key more than once.
    [spent] = {k for k in redis_client.scan_iter(f"{redis_prefix}*") if b"spent:" in k}
    left = (window.resets_at - datetime.now(UTC)).total_seconds()
    assert redis_client.ttl(spent) >= max(40 * 86_400, left) - 5
