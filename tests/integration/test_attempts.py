"""Attempts over HTTP: a decision's failed and served attempts, priced,
settled and stored once each; raw provider errors classified; what they
teach moving the next plans, visible in /v1/signals and the deployment's health."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from modelrouter.service.state import ServiceState

ROUTE = {"model": "gpt-4o", "input_tokens": 1200, "max_output_tokens": 300}
INSUFFICIENT_QUOTA = {
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
}


def routed(client: TestClient, key: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/route", json={**ROUTE, **extra}, headers=key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def attempts(
    client: TestClient, key: dict[str, str], decision: str, *items: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(
        f"/v1/decisions/{decision}/attempts", json={"attempts": list(items)}, headers=key
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_failed_and_a_served_attempt_price_the_served_one_and_settle_the_sum(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    client.put(
        "/v1/platform/policy",
        json={"budgets": [{"period": "day", "limit_usd": "5"}]},
        headers=keys["admin"],
    )
    plan = routed(client, keys["gateway"], tenant_id="acme")
    primary, fallback = plan["primary"]["deployment"], plan["fallbacks"][0]["deployment"]
    answer = attempts(
        client,
        keys["gateway"],
        plan["decision_id"],
        {
            "attempt_id": "1",
            "deployment": primary,
            "status": "rate_limited",
            "http_status": 429,
            "headers": {"retry-after": "30"},
            "latency_ms": 120,
        },
        {
            "attempt_id": "2",
            "deployment": fallback,
            "status": "ok",
            "usage": {"input_tokens": 1200, "output_tokens": 250},
            "latency_ms": 900,
            "ttft_ms": 300,
        },
    )
    failed, served = answer["attempts"]
    assert failed["status"] == "rate_limited" and failed["cost"] is None
    assert served["status"] == "ok" and served["final"] is True
    total = Decimal(served["cost"]["total_usd"])
    assert total > 0
    assert Decimal(answer["actual_cost"]["total_usd"]) == total
    assert answer["actual_cost"]["attempts"] == 2

    spend = client.get("/v1/tenants/acme/spend", headers=keys["admin"]).json()["budgets"][0]
    assert Decimal(spend["spent_usd"]) == total
    assert Decimal(spend["reserved_usd"]) == 0  # the served attempt released the reservation

    # Reported again (a gateway retrying its report): nothing changes.
    again = attempts(
        client,
        keys["gateway"],
        plan["decision_id"],
        {"attempt_id": "2", "deployment": fallback, "status": "ok", "usage": {"input_tokens": 1}},
    )
    assert again["attempts"][0]["duplicate"] is True
    spend = client.get("/v1/tenants/acme/spend", headers=keys["admin"]).json()["budgets"][0]
    assert Decimal(spend["spent_usd"]) == total

    stored = client.get(f"/v1/decisions/{plan['decision_id']}", headers=keys["gateway"]).json()
    assert stored["status"] == "settled"
    assert [a["attempt_id"] for a in stored["attempts"]] == ["1", "2"]
    assert stored["attempts"][0]["report"]["rate_limits"] == {"retry_after_s": "30"}

    # The rate-limited deployment is out of the next plans until its reset.
    after = routed(client, keys["gateway"])
    assert after["primary"]["deployment"] != primary
    fell = [r for r in after["rejected"] if r["deployment"] == primary]
    assert fell and fell[0]["code"] == "circuit_open"
    assert fell[0]["error_class"] == "rate_limited" and fell[0]["resets_at"]


def test_a_raw_provider_error_is_classified_and_shown_in_the_deployments_health(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    plan = routed(client, keys["gateway"])
    primary = plan["primary"]["deployment"]
    answer = client.post(
        f"/v1/decisions/{plan['decision_id']}/attempts",
        json={
            "deployment": primary,
            "status": "error",
            "http_status": 429,
            "error": INSUFFICIENT_QUOTA,
            "headers": {"x-ratelimit-reset-requests": "6h"},
        },
        headers=keys["gateway"],
    ).json()
    [attempt] = answer["attempts"]
    assert attempt["status"] == "quota_exhausted" and attempt["final"] is False
    assert "insufficient_quota" in attempt["report"]["detail"]

    health = client.get(f"/v1/deployments/{primary}/health", headers=keys["gateway"]).json()
    assert health["circuit"]["state"] == "open"
    assert health["circuit"]["reason"] == "quota_exhausted"
    listed = client.get("/v1/signals", headers=keys["gateway"]).json()
    assert listed["backend"] == "MemorySignals"
    assert [d["deployment"] for d in listed["deployments"]] == [primary]
    metrics = client.get("/metrics").text
    assert f'modelrouter_circuit_state{{deployment="{primary}",reason="quota_exhausted"}} 2.0' in (
        metrics
    )
    assert 'modelrouter_attempts_total{provider="' in metrics
    unknown = client.get("/v1/deployments/nope/x/health", headers=keys["gateway"])
    assert unknown.status_code == 404


def test_latency_reported_for_attempts_moves_fastest(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    first = routed(client, keys["gateway"], strategy="fastest")
    hops = [first["primary"]["deployment"], *(f["deployment"] for f in first["fallbacks"])]
    slow, fast = hops[0], hops[-1]
    for index in range(12):
        plan = routed(client, keys["gateway"], strategy="fastest", request_id=f"lat-{index}")
        for deployment, ttft in ((slow, 2500), (fast, 40)):
            if deployment in [plan["primary"]["deployment"]] + [
                f["deployment"] for f in plan["fallbacks"]
            ]:
                attempts(
                    client,
                    keys["gateway"],
                    plan["decision_id"],
                    {
                        "attempt_id": deployment,
                        "deployment": deployment,
                        "status": "ok",
                        "final": False,
                        "usage": {"input_tokens": 1200, "output_tokens": 200},
                        "ttft_ms": ttft,
                        "latency_ms": ttft + 2000,
                    },
                )
    after = routed(client, keys["gateway"], strategy="fastest", request_id="after")
    assert after["primary"]["deployment"] == fast


def test_bad_attempts_are_refused_with_the_field(
    client: TestClient, state: ServiceState, keys: dict[str, dict[str, str]]
) -> None:
    plan = routed(client, keys["gateway"])
    url = f"/v1/decisions/{plan['decision_id']}/attempts"
    primary = plan["primary"]["deployment"]
    cases: list[dict[str, Any]] = [
        {"deployment": primary, "status": "error"},  # which error?
        {"deployment": primary, "status": "melted"},
        {"deployment": primary, "status": "ok", "error": {"x": 1}},
        {"deployment": primary, "status": "timeout", "headers": {f"h{i}": "1" for i in range(101)}},
        {"deployment": "openai/not-a-hop", "status": "ok"},
        {"deployment": primary, "status": "ok", "latency_ms": -1},
        {"attempts": []},
    ]
    for body in cases:
        response = client.post(url, json=body, headers=keys["gateway"])
        assert response.status_code == 422, (body, response.text)
        assert "error" in response.json()
    # One attempt's own problem is named, not the batch shape it is not.
    melted = client.post(url, json=cases[1], headers=keys["gateway"]).json()["error"]
    assert melted["field"] == "status", melted
    assert client.post(url, json=cases[0], headers=keys["acme"]).status_code == 403
    state.writer.flush()
    stored = client.get(f"/v1/decisions/{plan['decision_id']}", headers=keys["gateway"]).json()
    assert stored["attempts"] == [] and stored["actual_cost"] is None


def test_a_tenant_overlay_may_not_set_health(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    refused = client.put(
        "/v1/tenants/acme/policy",
        json={"health": {"consecutive_failures": 100}},
        headers=keys["admin"],
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "health"
    platform = client.put(
        "/v1/platform/policy",
        json={"health": {"consecutive_failures": 1}},
        headers=keys["admin"],
    )
    assert platform.status_code == 200, platform.text
    plan = routed(client, keys["gateway"])
    primary = plan["primary"]["deployment"]
    attempts(
        client,
        keys["gateway"],
        plan["decision_id"],
        {"deployment": primary, "status": "server_error"},
    )
    # One failure opens it under the platform's setting.
    assert routed(client, keys["gateway"])["primary"]["deployment"] != primary
