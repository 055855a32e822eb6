"""Alias chains and tags over HTTP: a content_policy attempt is answered with
the next hop from the alias's content-policy chain, any other error with the
next hop of the main chain, and a request's tags select tagged deployments."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

LAYER = {
    "models": {
        "gpt-4o": {
            "deployments": {
                "openai": {"tags": ["default"]},
                "azure": {"tags": ["eu"]},
            }
        }
    },
    "aliases": {
        "chat": {
            "targets": ["openai/gpt-4o", "azure/gpt-4o"],
            "content_policy_fallbacks": ["claude-3-haiku"],
        }
    },
}


def _import(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/v1/catalog/import", json={"format": "yaml", "content": LAYER}, headers=admin
    )
    assert response.status_code == 200, response.text


def _route(client: TestClient, key: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/route", json={"input_tokens": 500, **body}, headers=key)
    assert response.status_code == 200, response.text
    plan: dict[str, Any] = response.json()
    return plan


def _attempt(
    client: TestClient, key: dict[str, str], decision: str, **attempt: Any
) -> dict[str, Any]:
    response = client.post(f"/v1/decisions/{decision}/attempts", json=attempt, headers=key)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_content_policy_attempt_is_answered_with_the_content_policy_chain(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    _import(client, keys["admin"])
    plan = _route(client, keys["gateway"], model="chat", request_id="r1")
    chain = plan["chains"]["content_policy"]
    assert [hop["model"] for hop in chain] == ["claude-3-haiku"] * len(chain)
    primary = plan["primary"]["deployment"]
    answer = _attempt(
        client,
        keys["gateway"],
        plan["decision_id"],
        attempt_id="1",
        deployment=primary,
        status="content_policy",
    )
    assert answer["next"]["deployment"] == chain[0]["deployment"]
    # The chain's hop serves: its attempt is priced, and it is the decision's cost.
    served = _attempt(
        client,
        keys["gateway"],
        plan["decision_id"],
        attempt_id="2",
        deployment=chain[0]["deployment"],
        status="ok",
        usage={"input_tokens": 500, "output_tokens": 20},
    )
    assert "next" not in served
    assert served["actual_cost"]["total_usd"] == served["attempts"][0]["cost"]["total_usd"]


def test_another_error_is_answered_with_the_main_chains_next_hop(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    _import(client, keys["admin"])
    plan = _route(client, keys["gateway"], model="chat", request_id="r2")
    answer = _attempt(
        client,
        keys["gateway"],
        plan["decision_id"],
        attempt_id="1",
        deployment=plan["primary"]["deployment"],
        status="server_error",
    )
    assert answer["next"]["deployment"] == plan["fallbacks"][0]["deployment"]


def test_request_tags_select_and_default_is_preferred(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    _import(client, keys["admin"])
    tagged = _route(client, keys["gateway"], model="chat", request_id="r3", tags=["eu"])
    assert [hop["deployment"] for hop in [tagged["primary"], *tagged["fallbacks"]]] == [
        "azure/gpt-4o"
    ]
    untagged = _route(client, keys["gateway"], model="chat", request_id="r4")
    assert untagged["primary"]["deployment"] == "openai/gpt-4o"
