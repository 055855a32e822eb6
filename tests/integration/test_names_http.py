"""Over HTTP: the names people use resolve and the plan says how; unknown
names, regions and policy targets answer 422 naming what is known; a body
that is not JSON answers 422 with the line and column."""

from __future__ import annotations

from fastapi.testclient import TestClient

ROUTE = {"input_tokens": 10}


def test_a_dated_id_routes_and_the_plan_says_how(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    answer = client.post(
        "/v1/route",
        json={**ROUTE, "model": "gpt-4o-2024-08-06", "request_id": "dated"},
        headers=keys["gateway"],
    )
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["model"] == "gpt-4o-2024-08-06"
    assert plan["notes"][0].startswith("resolved: gpt-4o-2024-08-06 → model gpt-4o (")
    exact = client.post(
        "/v1/route",
        json={**ROUTE, "model": "gpt-4o", "request_id": "exact"},
        headers=keys["gateway"],
    )
    assert not any(n.startswith("resolved:") for n in exact.json()["notes"])


def test_a_retired_models_slug_resolves_and_the_refusal_says_how(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    # OpenRouter's slug of a model the catalog marks deprecated: no route, but
    # the answer still says which model the name was read as.
    answer = client.post(
        "/v1/route",
        json={**ROUTE, "model": "anthropic/claude-3.5-sonnet", "request_id": "retired"},
        headers=keys["gateway"],
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "no_route"
    assert {r["code"] for r in error["rejections"]} == {"model_deprecated"}
    assert error["notes"] == [
        "resolved: anthropic/claude-3.5-sonnet → model claude-3-5-sonnet (OpenRouter slug)"
    ]


def test_an_unknown_name_suggests_close_ones(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    answer = client.post(
        "/v1/route", json={**ROUTE, "model": "gpt4o", "request_id": "typo"}, headers=keys["gateway"]
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "unknown_model"
    assert error["suggestions"][0] == "gpt-4o"


def test_the_catalog_reads_the_names_people_use_and_suggests_close_ones(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    dated = client.get("/v1/catalog/models/gpt-4o-2024-08-06", headers=keys["gateway"])
    assert dated.status_code == 200, dated.text
    assert dated.json()["id"] == "gpt-4o"
    assert dated.json()["resolved"].startswith("resolved: gpt-4o-2024-08-06 → model gpt-4o (")
    typo = client.get("/v1/catalog/models/gpt4o", headers=keys["gateway"])
    assert typo.status_code == 404
    error = typo.json()["error"]
    assert error["code"] == "not_found" and error["suggestions"][0] == "gpt-4o"
    assert "did you mean gpt-4o" in error["message"]


def test_an_unknown_region_answers_the_known_ones(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    for region in ("europe", "eu-west-1"):
        answer = client.post(
            "/v1/route",
            json={**ROUTE, "model": "gpt-4o", "request_id": region, "regions": [region]},
            headers=keys["gateway"],
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["field"] == "regions[0]"
        assert error["message"].startswith(f"unknown region {region!r}; known: ")
        assert " eu, " in error["message"]
        assert error["message"].endswith("did you mean eu?")


def test_malformed_json_names_the_line_and_column(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    body = b'{\n  "model": "gpt-4o",\n  "input_tokens": 10\n  "request_id": "x"\n}'
    answer = client.post(
        "/v1/route",
        content=body,
        headers={**keys["gateway"], "content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "error": {
            "code": "invalid_input",
            "message": "malformed JSON at line 4, column 3: Expecting ',' delimiter",
            "field": "body",
        }
    }


def test_malformed_json_in_a_policy_too(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    answer = client.put(
        "/v1/platform/policy",
        content=b'{"regions": {"allow": ["eu",]}}',
        headers={**keys["admin"], "content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith("malformed JSON at line 1, column 29: ")


def test_a_policy_alias_target_the_catalog_lacks_is_named_with_suggestions(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    answer = client.put(
        "/v1/tenants/acme/policy",
        json={"aliases": {"team": ["gpt-4o", "gpt4o"]}},
        headers=keys["admin"],
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_policy"
    assert error["field"] == "aliases.team[1]"
    assert "'gpt4o'" in error["message"]
    assert "did you mean gpt-4o" in error["message"]
    # Nothing was stored.
    assert client.get("/v1/tenants/acme/policy", headers=keys["admin"]).status_code == 404


def test_a_policy_region_the_catalog_lacks_is_refused(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    answer = client.put(
        "/v1/platform/policy", json={"regions": {"allow": ["europe"]}}, headers=keys["admin"]
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "regions.allow[0]"
    assert error["message"].startswith("unknown region 'europe'; known: ")
    fine = client.put(
        "/v1/platform/policy", json={"regions": {"allow": ["eu*"]}}, headers=keys["admin"]
    )
    assert fine.status_code == 200, fine.text
