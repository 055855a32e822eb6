"""One configuration for the fleet: a catalog import or a policy change made
through one worker is in force in every worker of every instance within a
second, and after a restart; decisions routed before an import still settle
at their own prices."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.server import Server, upgrade_database

IMPORTED = {
    "models": {
        "fleet-model": {
            "vendor": "openai",
            "context_window": 128000,
            "deployments": {"openai": {"prices": {"input": "1", "output": "2"}}},
        }
    }
}


def _fresh(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request on a new connection: it lands on whichever worker accepts it."""
    headers = {"Authorization": f"Bearer {server.gateway_key}", "Connection": "close"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=10) as client:
        return client.request(method, path, **kwargs)


def _admin(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    admin = json.loads((server.data_dir / "local-keys.json").read_text())["admin"]
    with httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {admin}"}, timeout=30
    ) as client:
        return client.request(method, path, **kwargs)


def _versions(servers: list[Server], body: dict[str, Any], count: int = 40) -> list[str]:
    seen = []
    for index in range(count):
        answer = _fresh(servers[index % len(servers)], "POST", "/v1/route", json=body)
        seen.append(answer.json().get("catalog_version", f"status {answer.status_code}"))
    return seen


def _import_then_all_new(servers: list[Server]) -> str:
    imported = _admin(
        servers[0], "POST", "/v1/catalog/import", json={"format": "yaml", "content": IMPORTED}
    )
    assert imported.status_code == 200, imported.text
    version: str = imported.json()["version"]
    time.sleep(1.0)  # the bound under test
    body = {"model": "fleet-model", "input_tokens": 100, "max_output_tokens": 10}
    assert _versions(servers, body) == [version] * 40
    return version


@pytest.fixture(scope="module")
def postgres_fleet(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[list[Server]]:
    """Two instances of two workers each, shared by the module's tests (starting
    four workers is most of their time): each test leaves the platform policy
    empty again, and what it imports is only ever added to the catalog."""
    upgrade_database(postgres_url)  # once, before the two start side by side
    servers = Server.start_all(
        [Server(tmp_path_factory.mktemp(f"fleet-{name}"), postgres_url, workers=2) for name in "ab"]
    )
    yield servers
    for server in servers:
        server.stop()


def test_an_import_reaches_every_worker_of_every_instance_within_a_second(
    postgres_fleet: list[Server],
) -> None:
    second = postgres_fleet[1]
    budget = {"budgets": [{"period": "day", "limit_usd": "50"}]}
    assert _admin(second, "PUT", "/v1/platform/policy", json=budget).status_code == 200
    try:
        time.sleep(1.0)
        before = _fresh(
            second,
            "POST",
            "/v1/route",
            json={
                "model": "gpt-4o-mini",
                "input_tokens": 1000,
                "max_output_tokens": 100,
                "tenant_id": "acme",
            },
        ).json()
        version = _import_then_all_new(postgres_fleet)

        # A decision routed before the import settles at its own catalog's prices.
        settled = _fresh(
            second,
            "POST",
            f"/v1/decisions/{before['decision_id']}/outcome",
            json={"usage": {"input_tokens": 1000, "output_tokens": 80}},
        )
        assert settled.status_code == 200, settled.text
        cost = settled.json()["actual_cost"]
        assert cost["catalog_version"] == before["catalog_version"] != version
        assert Decimal(cost["total_usd"]) > 0
        # Its reservation was released as it settled: the money held is the money spent.
        spend = _admin(second, "GET", "/v1/tenants/acme/spend").json()["budgets"][0]
        assert Decimal(spend["spent_usd"]) == Decimal(cost["total_usd"])
        assert Decimal(spend["reserved_usd"]) == 0

        # A restart comes back on the newest stored version.
        second.stop()
        second.start()
        body = {"model": "fleet-model", "input_tokens": 100, "max_output_tokens": 10}
        assert set(_versions([second], body, 10)) == {version}
    finally:
        # The session's PostgreSQL database is shared with later tests.
        _admin(second, "PUT", "/v1/platform/policy", json={})


def test_a_platform_deny_reaches_every_worker_within_a_second(
    postgres_fleet: list[Server],
) -> None:
    first = postgres_fleet[0]
    body = {"model": "gpt-4o", "input_tokens": 1000, "max_output_tokens": 100}
    providers = {
        _fresh(first, "POST", "/v1/route", json=body).json()["primary"]["provider"]
        for _ in range(4)
    }
    denied = sorted(providers)[0]
    put = _admin(first, "PUT", "/v1/platform/policy", json={"providers": {"deny": [denied]}})
    assert put.status_code == 200, put.text
    try:
        time.sleep(1.0)
        for index in range(40):
            plan = _fresh(postgres_fleet[index % 2], "POST", "/v1/route", json=body).json()
            named = [plan["primary"]["provider"], *(f["provider"] for f in plan["fallbacks"])]
            assert denied not in named, (index, named)
    finally:
        # The session's PostgreSQL database is shared with later tests.
        _admin(first, "PUT", "/v1/platform/policy", json={})


def test_one_sqlite_instance_with_two_workers(tmp_path: Path) -> None:
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'fleet.db'}", workers=2).start()
    try:
        version = _import_then_all_new([server])
        server.stop()
        server.start()
        body = {"model": "fleet-model", "input_tokens": 100, "max_output_tokens": 10}
        assert set(_versions([server], body, 10)) == {version}
    finally:
        server.stop()
