"""The HTTP API through httpx's ASGI transport (FastAPI's TestClient), on a
real SQLite store: keys and roles, tenant isolation, policies with ETags,
limits, budgets, outcomes and the committed OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from modelrouter.service.state import ServiceState

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
ROUTE = {"model": "gpt-4o-mini", "input_tokens": 1200, "max_output_tokens": 300}


def routed(client: TestClient, key: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/route", json={**ROUTE, **extra}, headers=key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_keys_are_required_and_roles_enforced(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    assert client.post("/v1/route", json=ROUTE).status_code == 401
    bad = client.post("/v1/route", json=ROUTE, headers={"Authorization": "Bearer mr_x_y"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    assert client.get("/v1/platform/policy", headers=keys["gateway"]).status_code == 403
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_route_answers_a_plan_and_records_it(
    client: TestClient, state: ServiceState, keys: dict[str, dict[str, str]]
) -> None:
    plan = routed(client, keys["gateway"], tenant_id="acme")
    assert plan["primary"]["deployment"] and plan["plan_hash"].startswith("sha256:")
    assert "snapshot" not in plan
    with_snapshot = client.post(
        "/v1/route?include=snapshot", json=ROUTE, headers=keys["gateway"]
    ).json()
    assert with_snapshot["snapshot"]["plan_hash"] == with_snapshot["plan_hash"]
    state.writer.flush()
    stored = client.get(f"/v1/decisions/{plan['decision_id']}", headers=keys["gateway"])
    assert stored.status_code == 200 and stored.json()["decision"]["plan_hash"] == plan["plan_hash"]
    replayed = client.post(f"/v1/decisions/{plan['decision_id']}/replay", headers=keys["admin"])
    assert replayed.json()["matched"] is True


def test_estimate_records_nothing(
    client: TestClient, state: ServiceState, keys: dict[str, dict[str, str]]
) -> None:
    answer = client.post("/v1/estimate", json=ROUTE, headers=keys["acme"])
    assert answer.status_code == 200 and answer.json()["hops"]
    state.writer.flush()
    assert state.repository.count_decisions() == 0


def test_outcome_is_priced_once(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    plan = routed(client, keys["gateway"], model="claude-sonnet-4-5", tenant_id="acme")
    body = json.loads((FIXTURES / "responses" / "anthropic_message_cache_1h.json").read_text())
    url = f"/v1/decisions/{plan['decision_id']}/outcome"
    first = client.post(
        url,
        json={"usage": body, "api": "anthropic", "latency_ms": 812, "ttft_ms": 240, "status": "ok"},
        headers=keys["gateway"],
    )
    assert first.status_code == 200, first.text
    assert first.json()["duplicate"] is False
    assert first.json()["actual_cost"]["report"] == {
        "latency_ms": "812",
        "ttft_ms": "240",
        "status": "ok",
    }
    total = first.json()["actual_cost"]["total_usd"]
    again = client.post(
        url, json={"usage": {"input_tokens": 9, "output_tokens": 9}}, headers=keys["gateway"]
    )
    assert again.json()["duplicate"] is True and again.json()["actual_cost"]["total_usd"] == total
    assert client.post(url, json={"usage": {}}, headers=keys["acme"]).status_code == 403
    missing = client.post(
        "/v1/decisions/dec_nope/outcome",
        json={"usage": {"input_tokens": 1}},
        headers=keys["gateway"],
    )
    assert missing.status_code == 404


def test_a_tenant_key_sees_nothing_of_another_tenant(
    client: TestClient, state: ServiceState, keys: dict[str, dict[str, str]]
) -> None:
    theirs = routed(client, keys["globex"])
    mine = routed(client, keys["acme"])
    assert mine["tenant_id"] == "acme"
    client.put(
        "/v1/tenants/globex/policy", json={"limits": {"max_fallbacks": 1}}, headers=keys["admin"]
    )
    state.writer.flush()
    other = theirs["decision_id"]
    for method, url in [
        ("GET", f"/v1/decisions/{other}"),
        ("POST", f"/v1/decisions/{other}/replay"),
        ("GET", "/v1/decisions?tenant=globex"),
        ("GET", "/v1/tenants/globex/policy"),
        ("GET", "/v1/tenants/globex/spend"),
    ]:
        response = client.request(method, url, headers=keys["acme"])
        assert response.status_code == 404, (url, response.text)
        # The same answer as for something that does not exist: nothing of theirs.
        assert response.json() == {
            "error": {"code": "not_found", "message": response.json()["error"]["message"]}
        }
        assert "acme" not in response.text
    listing = client.get("/v1/decisions", headers=keys["acme"]).json()["decisions"]
    assert [d["decision"]["decision_id"] for d in listing] == [mine["decision_id"]]
    foreign = client.post("/v1/route", json={**ROUTE, "tenant_id": "globex"}, headers=keys["acme"])
    assert foreign.status_code == 403
    guess = client.post("/v1/estimate", json={**ROUTE, "tenant_id": "globex"}, headers=keys["acme"])
    assert guess.status_code == 403
    overwrite = client.put("/v1/tenants/globex/policy", json={}, headers=keys["acme"])
    assert overwrite.status_code == 403
    settle = client.post(
        f"/v1/decisions/{other}/outcome", json={"usage": {"input_tokens": 1}}, headers=keys["acme"]
    )
    assert settle.status_code == 403
    assert client.get("/v1/tenants/acme/spend", headers=keys["acme"]).status_code == 200


def test_policies_need_the_etag_they_were_read_with(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    url = "/v1/tenants/acme/policy"
    created = client.put(url, json={"providers": {"deny": ["azure"]}}, headers=keys["admin"])
    assert created.status_code == 200 and created.headers["ETag"] == '"r1"'
    assert client.put(url, json={}, headers=keys["admin"]).status_code == 428
    stale = client.put(url, json={}, headers={**keys["admin"], "If-Match": '"r0"'})
    assert stale.status_code == 412
    updated = client.put(
        url,
        json={"providers": {"deny": ["azure", "openrouter"]}},
        headers={**keys["admin"], "If-Match": '"r1"'},
    )
    assert updated.status_code == 200 and updated.headers["ETag"] == '"r2"'
    read = client.get(url, headers=keys["acme"])
    assert read.headers["ETag"] == '"r2"'
    assert read.json()["policy"]["providers"]["deny"] == ["azure", "openrouter"]
    bad = client.put(
        url, json={"providers": {"alow": []}}, headers={**keys["admin"], "If-Match": '"r2"'}
    )
    assert bad.status_code == 422 and "providers.alow" in bad.json()["error"]["message"]
    # The tenant's routes now avoid what it denied, primary and fallbacks.
    plan = routed(client, keys["acme"], max_fallbacks=5)
    hops = [plan["primary"], *plan["fallbacks"]]
    assert all(hop["provider"] not in ("azure", "openrouter") for hop in hops)


def test_limits_and_invalid_input(
    client: TestClient, state: ServiceState, keys: dict[str, dict[str, str]]
) -> None:
    huge = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 1_100_000}]}
    too_large = client.post("/v1/route", json=huge, headers=keys["gateway"])
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "body_too_large"
    invalid = client.post(
        "/v1/route",
        json={"model": "gpt-4o", "input_tokens": 10, "require": ["telepathy"]},
        headers=keys["gateway"],
    )
    assert invalid.status_code == 422 and invalid.json()["error"]["field"].startswith("require")
    no_route = client.post(
        "/v1/route", json={"model": "gpt-4o", "input_tokens": 5_000_000}, headers=keys["gateway"]
    )
    assert no_route.status_code == 422
    reasons = {r["code"] for r in no_route.json()["error"]["rejections"]}
    assert reasons == {"context_window_too_small"}


def test_budget_exhaustion_answers_402(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    client.put(
        "/v1/platform/policy",
        json={"budgets": [{"period": "day", "limit_usd": "0.002"}]},
        headers=keys["admin"],
    )
    plan = routed(client, keys["gateway"], tenant_id="acme", strategy="cheapest")
    client.post(
        f"/v1/decisions/{plan['decision_id']}/outcome",
        json={"usage": {"input_tokens": 20_000, "output_tokens": 0}},
        headers=keys["gateway"],
    )
    refused = client.post("/v1/route", json={**ROUTE, "tenant_id": "acme"}, headers=keys["gateway"])
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert {"spent_usd", "reserved_usd", "limit_usd", "resets_at"} <= set(error)
    spend = client.get("/v1/tenants/acme/spend", headers=keys["admin"]).json()
    assert spend["budgets"][0]["limit_usd"] == "0.002"


def test_metrics_count_decisions(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    routed(client, keys["gateway"], strategy="cheapest")
    text = client.get("/metrics").text
    assert 'modelrouter_decisions_total{provider="' in text
    assert "modelrouter_routing_seconds_bucket" in text
    assert client.get("/readyz").json()["database"] == "ok"


def test_the_committed_openapi_document_is_current(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    assert served["openapi"].startswith("3.1")
    committed = json.loads(OPENAPI.read_text(encoding="utf-8"))
    assert committed == served, "regenerate with: make openapi"
