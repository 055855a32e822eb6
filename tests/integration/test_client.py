"""The client against a real ``modelrouter serve`` (SQLite and PostgreSQL),
sync and async through one test body: ``run`` falls back from a 429 to the
next hop, reports both attempts and prices the served one; after the 429s the
rate-limited hop is no longer the primary; streams are timed and priced from
their final event; a bad request stops the run; the service's errors arrive
as the library's error tree."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from modelrouter.client import (
    Client,
    Decision,
    Estimate,
    Hop,
    HopsFailed,
    ProviderError,
    ServiceError,
)
from modelrouter.errors import BudgetExceeded, NoRouteError, UnknownModelError
from modelrouter.types import RoutingPlan
from tests.integration.client_service import (
    FLAVOURS,
    Flavour,
    MockProvider,
    catalog_layer,
    start_service,
)
from tests.integration.conftest import own_postgres_database
from tests.integration.server import Server

MODELS = ["fb-sync", "fb-async", "st-sync", "st-async", "ok"]


@pytest.fixture(scope="module")
def provider() -> Iterator[Any]:
    server = MockProvider().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, provider: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data = tmp_path_factory.mktemp(f"client-{request.param}")
    postgres = request.param == "postgresql"
    databases = own_postgres_database("modelrouter_client") if postgres else None
    url = f"sqlite:///{data / 'svc.db'}" if databases is None else next(databases)
    server = start_service(data, url, catalog_layer(provider.base, MODELS))
    yield server
    server.stop()
    if databases is not None:
        databases.close()


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest, service: Server) -> Iterator[Flavour]:
    client = FLAVOURS[request.param](service.base, service.gateway_key)
    yield client
    client.close()


def _request(model: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "hello there"}],
        "max_tokens": 50,
        "strategy": "cheapest",
        **extra,
    }


def test_run_falls_back_from_a_429_and_the_rate_limited_hop_leaves_the_primary_slot(
    flavour: Flavour, provider: Any
) -> None:
    model = f"fb-{flavour.name}"
    first, second = f"mock-a/{model}", f"mock-b/{model}"
    provider.failing.add(f"{model}-a")

    result = flavour.run(_request(model))

    assert [a.deployment for a in result.attempts] == [first, second]
    assert [a.status for a in result.attempts] == ["rate_limited", "ok"]
    assert result.hop.deployment == second
    assert result.response is not None
    assert result.usage is not None and result.usage.output_tokens > 0
    assert result.actual_cost is not None and result.actual_cost.total_usd > 0
    assert result.decision_cost_usd == result.actual_cost.total_usd

    decision: Decision = flavour.do("decision", result.decision_id)
    assert [(a.deployment, a.status) for a in decision.attempts] == [
        (first, "rate_limited"),
        (second, "ok"),
    ]
    failed, served = decision.attempts
    assert failed.cost is None
    assert served.cost is not None and served.cost.total_usd == result.actual_cost.total_usd
    assert decision.actual_cost is not None
    assert decision.actual_cost.total_usd == served.cost.total_usd
    assert decision.plan.primary.deployment == first

    # The 429 (retry-after: 30) opened the first hop's circuit: later runs
    # route straight to the second (the service's signals view is refreshed
    # within a fraction of a second).
    primaries = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        run = flavour.run(_request(model))
        primaries.append(run.plan.primary.deployment)
        if run.plan.primary.deployment == second and len(run.attempts) == 1:
            break
        time.sleep(0.1)
    assert primaries[-1] == second, primaries
    plan: RoutingPlan = flavour.do("route", _request(model))
    assert plan.primary.deployment == second
    assert any(r.deployment == first for r in plan.rejected)


def test_a_stream_is_timed_and_priced_from_its_final_event(flavour: Flavour, provider: Any) -> None:
    model = f"st-{flavour.name}"
    provider.failing.add(f"{model}-a")
    events, result = flavour.stream(_request(model, stream=True))
    assert events[-1]["usage"]["completion_tokens"] > 0
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert text.startswith(f"{model}-b says")
    assert [a.status for a in result.attempts] == ["rate_limited", "ok"]
    served = result.attempts[-1]
    assert served.ttft_ms is not None and served.ttft_ms <= served.latency_ms
    assert result.usage is not None
    assert result.usage.output_tokens == events[-1]["usage"]["completion_tokens"]
    assert result.actual_cost is not None and result.actual_cost.total_usd > 0
    decision: Decision = flavour.do("decision", result.decision_id)
    assert decision.actual_cost is not None
    assert decision.actual_cost.total_usd == result.actual_cost.total_usd
    assert Decimal(decision.attempts[-1].raw["report"]["ttft_ms"]) == served.ttft_ms


def test_a_bad_request_stops_the_run(flavour: Flavour) -> None:
    calls: list[str] = []

    def call(hop: Hop) -> Any:
        calls.append(hop.deployment)
        raise ProviderError(
            400,
            {"error": {"message": "messages: bad role", "type": "invalid_request_error"}},
        )

    with pytest.raises(HopsFailed) as caught:
        flavour.run(_request("ok"), call)
    assert calls == ["mock-a/ok"]  # never the second hop: it would fail there too
    assert caught.value.last.status == "bad_request"
    assert isinstance(caught.value.__cause__, ProviderError)
    decision: Decision = flavour.do("decision", caught.value.decision_id)
    assert [a.status for a in decision.attempts] == ["bad_request"]
    assert decision.attempts[0].final


def test_route_estimate_replay(flavour: Flavour) -> None:
    plan: RoutingPlan = flavour.do("route", _request("ok", tenant_id="reader"))
    assert plan.primary.deployment == "mock-a/ok"
    assert plan.primary.endpoint is not None
    assert plan.primary.endpoint.api_base is not None
    estimate: Estimate = flavour.do("estimate", _request("ok"))
    assert [h.deployment for h in estimate.hops] == ["mock-a/ok", "mock-b/ok"]
    assert estimate.hops[0].estimate.expected_usd < estimate.hops[1].estimate.expected_usd
    # A decision is durable in the journal when answered, and in the database a moment later.
    deadline = time.monotonic() + 5
    while True:
        try:
            replayed = flavour.do("replay", plan.decision_id)
            break
        except ServiceError as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert replayed.matched and replayed.expected_hash == plan.plan_hash


def test_the_services_errors_are_the_librarys(flavour: Flavour) -> None:
    with pytest.raises(UnknownModelError) as unknown:
        flavour.do("route", _request("mock-chatt"))
    assert unknown.value.name == "mock-chatt"
    with pytest.raises(NoRouteError) as none:
        flavour.do("route", {"model": "ok", "input_tokens": 200_000})
    assert {(r.deployment, r.code.value) for r in none.value.rejections} == {
        ("mock-a/ok", "context_window_too_small"),
        ("mock-b/ok", "context_window_too_small"),
    }
    with pytest.raises(ServiceError) as missing:
        flavour.do("decision", "dec_" + "0" * 24)
    assert missing.value.status == 404 and missing.value.code == "not_found"


def test_budget_exceeded_carries_spent_limit_and_reset(flavour: Flavour, service: Server) -> None:
    tenant = f"budgeted-{flavour.name}"
    admin = Client(service.base, _admin_key(service))
    with admin:
        put = httpx.put(
            f"{service.base}/v1/tenants/{tenant}/policy",
            json={"budgets": [{"period": "day", "limit_usd": "0.0001"}]},
            headers={"Authorization": f"Bearer {_admin_key(service)}"},
        )
        assert put.status_code == 200, put.text
        with pytest.raises(BudgetExceeded) as refused:
            flavour.do("route", {**_request("ok", tenant_id=tenant), "max_tokens": 4000})
        error = refused.value
        assert error.limit == Decimal("0.0001")
        assert error.spent == 0
        assert error.resets_at > error.resets_at.replace(year=2000)
        spend = admin.spend(tenant)
        assert spend.budgets[0].limit_usd == Decimal("0.0001")


def _admin_key(service: Server) -> str:
    keys: dict[str, str] = json.loads((service.data_dir / "local-keys.json").read_text())
    return keys["admin"]
