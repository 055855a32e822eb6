"""The runtime's capability feed and live price refresh over HTTP: each
change is a stored catalog version that routing follows at once, and a
change that would break routing (an emptied alias, a price moved tenfold, a
model dropped while an alias uses it) is refused with the reason."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from modelrouter.catalog.index import Catalog
from modelrouter.service.app import build_state, create_app
from modelrouter.service.settings import Settings
from modelrouter.service.state import ServiceState
from tests.conftest import small_document


def test_a_runtime_report_removes_a_deployment_and_an_emptying_one_is_refused(
    client: TestClient, state: ServiceState, keys: dict[str, dict[str, str]]
) -> None:
    runtime = {"Authorization": f"Bearer {state.keys.create('runtime')}"}
    body = {"model": "claude-sonnet", "input_tokens": 1000, "max_output_tokens": 100}
    before = client.post("/v1/route", json=body, headers=keys["gateway"]).json()
    gone = before["primary"]["deployment"]
    assert (
        client.put("/v1/runtime/deployments", json={"deployments": []}, headers=runtime).status_code
        == 422
    )
    assert (
        client.put(
            "/v1/runtime/deployments",
            json={"deployments": [{"id": gone, "available": False}]},
            headers=keys["gateway"],
        ).status_code
        == 403
    )

    answer = client.put(
        "/v1/runtime/deployments",
        json={"deployments": [{"id": gone, "available": False}]},
        headers=runtime,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] is True
    version = answer.json()["version"]
    for index in range(20):
        plan = client.post(
            "/v1/route", json={**body, "request_id": f"after-{index}"}, headers=keys["gateway"]
        ).json()
        assert plan["catalog_version"] == version
        named = [plan["primary"]["deployment"], *(f["deployment"] for f in plan["fallbacks"])]
        assert gone not in named
    assert state.config_log.head("catalog").origin == "runtime"  # type: ignore[union-attr]

    rest = [d.id for d in state.catalog.alias_deployments("claude-sonnet") or ()]
    refused = client.put(
        "/v1/runtime/deployments",
        json={"deployments": [{"id": d, "available": False} for d in rest]},
        headers=runtime,
    )
    assert refused.status_code == 422, refused.text
    assert "claude-sonnet" in refused.json()["error"]["message"]
    assert state.catalog.version == version  # nothing changed


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(small_document()), encoding="utf-8")
    return path


@pytest.fixture
def refreshing(tmp_path: Path, source: Path) -> Iterator[tuple[TestClient, ServiceState, str]]:
    settings = Settings(price_refresh_source=str(source), price_refresh_interval_seconds=3600)
    state = build_state(
        database_url=f"sqlite:///{tmp_path / 'svc.db'}",
        directory=tmp_path,
        catalog=Catalog.from_layers([("small", small_document())]),
        settings=settings,
    )
    admin = state.keys.create("admin")
    with TestClient(create_app(state)) as client:
        yield client, state, admin
    state.close()


def _write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")


def test_a_price_refresh_swaps_good_prices_in_and_refuses_bad_ones(
    refreshing: tuple[TestClient, ServiceState, str], source: Path
) -> None:
    client, state, admin = refreshing
    headers = {"Authorization": f"Bearer {admin}"}
    body = {"model": "chat-large", "input_tokens": 1000, "max_output_tokens": 100}
    old = client.post("/v1/route", json=body, headers=headers).json()
    state.writer.flush()  # stored, so that it can be replayed
    first = state.catalog.version

    assert client.post("/v1/catalog/refresh", headers=headers).json()["result"] == "unchanged"

    good = small_document()
    good["models"]["chat-large"]["deployments"]["alpha"]["prices"]["input"] = "3.5"
    _write(source, good)
    accepted = client.post("/v1/catalog/refresh", headers=headers).json()
    assert accepted["result"] == "accepted", accepted
    assert state.catalog.version == accepted["version"] != first
    replayed = client.post(f"/v1/decisions/{old['decision_id']}/replay", headers=headers)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["matched"]

    tenfold = copy.deepcopy(good)
    tenfold["models"]["chat-large"]["deployments"]["alpha"]["prices"]["input"] = "35"
    _write(source, tenfold)
    refused = client.post("/v1/catalog/refresh", headers=headers).json()
    assert refused["result"] == "refused"
    assert [p["code"] for p in refused["problems"]] == ["price_moved"]
    assert "10x" in refused["problems"][0]["message"]
    assert state.catalog.version == accepted["version"]
    assert client.get("/v1/catalog/refresh", headers=headers).json()["result"] == "refused"

    dropped = copy.deepcopy(good)
    del dropped["models"]["open-70b"]
    dropped["aliases"]["smart"] = ["chat-large"]
    dropped["aliases"]["budget"] = ["chat-small"]
    _write(source, dropped)
    refused = client.post("/v1/catalog/refresh", headers=headers).json()
    assert refused["result"] == "refused"
    assert any(p["code"] == "model_removed" for p in refused["problems"]), refused
    assert state.catalog.version == accepted["version"]
    metrics = client.get("/metrics").text
    assert 'modelrouter_catalog_refreshes_total{result="refused"} 2.0' in metrics


def test_the_configuration_log_says_who_put_what_in_force(
    client: TestClient, state: ServiceState, keys: dict[str, dict[str, str]]
) -> None:
    client.put("/v1/platform/policy", json={"providers": {"deny": ["groq"]}}, headers=keys["admin"])
    answer = client.get("/v1/config/history", headers=keys["admin"]).json()["changes"]
    assert [(c["kind"], c["origin"]) for c in answer[:2]] == [
        ("platform_policy", "api"),
        ("catalog", "start"),
    ]
    assert answer[0]["author"] and answer[0]["author"].startswith("mr_") is False
    assert client.get("/v1/config/history", headers=keys["gateway"]).status_code == 403
