"""One route call is one admission: a request id names one decision (a retry
answers it again and reserves nothing twice; another body under it is a 409),
a call without one gets a fresh id, the router's clock times every routed
decision, and every refusal a budget causes answers 402."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

ROUTE = {"model": "gpt-4o", "input_tokens": 1200, "max_output_tokens": 300}


def _worst_case(client: TestClient, keys: dict[str, dict[str, str]]) -> Decimal:
    """What one decision of ROUTE reserves: its costliest hop's worst case."""
    estimate = client.post("/v1/estimate", json=ROUTE, headers=keys["gateway"]).json()
    return max(Decimal(hop["estimate"]["worst_case_usd"]) for hop in estimate["hops"])


def _budget(client: TestClient, keys: dict[str, dict[str, str]], limit: Decimal) -> None:
    response = client.put(
        "/v1/platform/policy",
        json={"budgets": [{"period": "day", "limit_usd": str(limit)}]},
        headers=keys["admin"],
    )
    assert response.status_code == 200, response.text


def _reserved(client: TestClient, keys: dict[str, dict[str, str]]) -> Decimal:
    spend: dict[str, Any] = client.get("/v1/tenants/acme/spend", headers=keys["admin"]).json()
    return Decimal(spend["budgets"][0]["reserved_usd"])


def test_one_request_id_is_one_decision_and_one_reservation(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    worst = _worst_case(client, keys)
    _budget(client, keys, worst * 5)
    body = {**ROUTE, "tenant_id": "acme", "request_id": "retry-1"}
    answers = [client.post("/v1/route", json=body, headers=keys["gateway"]) for _ in range(200)]
    assert {a.status_code for a in answers} == {200}
    plans = [a.json() for a in answers]
    assert len({p["decision_id"] for p in plans}) == 1
    assert len({p["plan_hash"] for p in plans}) == 1
    assert [p["repeat"] for p in plans] == [False] + [True] * 199
    assert _reserved(client, keys) == worst  # held once

    reused = client.post(
        "/v1/route", json={**body, "max_output_tokens": 200}, headers=keys["gateway"]
    )
    assert reused.status_code == 409, reused.text
    error = reused.json()["error"]
    assert error["code"] == "request_id_reused" and error["request_id"] == "retry-1"
    assert error["decision_id"] == plans[0]["decision_id"]


def test_identical_bodies_without_an_id_are_separate_admissions(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    worst = _worst_case(client, keys)
    _budget(client, keys, worst * 3)
    body = {**ROUTE, "tenant_id": "acme"}
    answers = [client.post("/v1/route", json=body, headers=keys["gateway"]) for _ in range(20)]
    codes = Counter(a.status_code for a in answers)
    assert codes == {200: 3, 402: 17}, codes
    admitted = [a.json() for a in answers if a.status_code == 200]
    assert len({p["decision_id"] for p in admitted}) == 3
    assert len({p["request_id"] for p in admitted}) == 3
    assert _reserved(client, keys) == worst * 3


def test_identical_bodies_spread_over_equal_deployments(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    body = {**ROUTE, "strategy": "cheapest"}
    chains = Counter(
        tuple(hop["deployment"] for hop in [plan["primary"], *plan["fallbacks"]])
        for plan in (
            client.post("/v1/route", json=body, headers=keys["gateway"]).json() for _ in range(40)
        )
    )
    assert len(chains) > 1, chains
    sticky = {**body, "affinity_key": "user-42"}
    pinned = {
        client.post("/v1/route", json=sticky, headers=keys["gateway"]).json()["primary"][
            "deployment"
        ]
        for _ in range(20)
    }
    assert len(pinned) == 1


def test_a_budget_that_cannot_cover_the_worst_case_answers_402_with_the_hops(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    worst = _worst_case(client, keys)
    _budget(client, keys, worst * Decimal("1.5"))
    body = {**ROUTE, "tenant_id": "acme"}
    assert client.post("/v1/route", json=body, headers=keys["gateway"]).status_code == 200
    # What remains (half a worst case) is above zero but below every hop's worst case.
    refused = client.post("/v1/route", json=body, headers=keys["gateway"])
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert Decimal(error["reserved_usd"]) == worst
    assert {"spent_usd", "limit_usd", "resets_at", "requested_usd"} <= set(error)
    assert error["rejections"] and {r["rule"] for r in error["rejections"]} == {"budget"}


@pytest.mark.parametrize("role", ["gateway", "acme"])
def test_a_client_timestamp_is_refused_on_route(
    client: TestClient, keys: dict[str, dict[str, str]], role: str
) -> None:
    body = {**ROUTE, "timestamp": "2026-06-01T12:00:00Z"}
    refused = client.post("/v1/route", json=body, headers=keys[role])
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "timestamp"
    assert client.post("/v1/estimate", json=body, headers=keys[role]).status_code == 200
    assert client.post("/v1/route", json=body, headers=keys["admin"]).status_code == 200


def test_late_and_over_reported_usage_settles_and_is_shown(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    """Usage far above the worst case held still settles (the money was
    spent), and the answer says the budget is now exceeded."""
    worst = _worst_case(client, keys)
    _budget(client, keys, worst * 2)
    plan = client.post("/v1/route", json={**ROUTE, "tenant_id": "acme"}, headers=keys["gateway"])
    assert plan.status_code == 200, plan.text
    decision = plan.json()["decision_id"]
    usage = {"input_tokens": 1_000_000, "output_tokens": 100_000}
    answer = client.post(
        f"/v1/decisions/{decision}/outcome", json={"usage": usage}, headers=keys["gateway"]
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    [over] = body["over_budget"]
    spent = Decimal(body["actual_cost"]["total_usd"])
    assert Decimal(over["spent_usd"]) == spent and Decimal(over["limit_usd"]) == worst * 2
    assert Decimal(over["over_usd"]) == spent - worst * 2
    metrics = client.get("/metrics").text
    assert 'modelrouter_over_budget_outcomes_total{tenant="acme"} 1.0' in metrics
    refused = client.post("/v1/route", json={**ROUTE, "tenant_id": "acme"}, headers=keys["gateway"])
    assert refused.status_code == 402
