"""The LiteLLM proxy importer binds each deployment to its endpoint (upstream
model, api_base, api_version, API shape, credential reference), and keys it
by what it calls, never by where the entry sits in model_list."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import ApiShape, Endpoint
from modelrouter.catalog.sources.litellm.fields import ImportResult
from modelrouter.catalog.sources.litellm.proxy import import_litellm_config
from modelrouter.errors import CatalogError
from modelrouter.router import Router
from modelrouter.routing.replay import replay

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REQUEST = {"input_tokens": 2000, "max_output_tokens": 500}
LITERAL_KEY = "sk-proj-LITERAL-SECRET-0001"

AZURE_EU: dict[str, Any] = {
    "model_name": "gpt-4o",
    "litellm_params": {
        "model": "azure/contoso-gpt4o-eu",
        "api_base": "https://contoso-eu.openai.azure.com",
        "api_version": "2024-10-21",
        "api_key": "os.environ/AZURE_EU_KEY",
    },
    "model_info": {"base_model": "azure/gpt-4o"},
}
OPENAI: dict[str, Any] = {
    "model_name": "gpt-4o",
    "litellm_params": {"model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_PROD_KEY"},
}
CLAUDE: dict[str, Any] = {
    "model_name": "claude",
    "litellm_params": {"model": "anthropic/claude-sonnet-4-5-20250929"},
}
BEDROCK: dict[str, Any] = {
    "model_name": "claude",
    "litellm_params": {
        "model": "bedrock/converse/anthropic.claude-sonnet-4-5-20250929-v1:0",
        "aws_region_name": "eu-central-1",
    },
}


def config(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"model_list": [copy.deepcopy(entry) for entry in entries]}


@pytest.fixture(scope="module")
def base() -> Catalog:
    return Catalog.bundled()


def imported(base: Catalog, *entries: dict[str, Any], strict: bool = False) -> ImportResult:
    return import_litellm_config(config(*entries), base, source="binding.yaml", strict=strict)


def catalog_of(result: ImportResult) -> Catalog:
    return Catalog.from_layers([("binding.yaml", result.document)])


def ids(result: ImportResult) -> set[str]:
    return set(catalog_of(result).deployments)


def test_hops_carry_upstream_names_api_base_and_references(base: Catalog) -> None:
    catalog = catalog_of(imported(base, AZURE_EU, OPENAI))
    plan = Router(catalog, clock=lambda: NOW).route({**REQUEST, "model": "gpt-4o"})
    hops = {hop.provider: hop for hop in plan.chain}
    assert set(hops) == {"azure", "openai"}
    assert hops["azure"].to_dict()["endpoint"] == {
        "upstream_model": "contoso-gpt4o-eu",  # the Azure deployment name, not the model id
        "api_base": "https://contoso-eu.openai.azure.com",
        "api_version": "2024-10-21",
        "api_shape": "openai-chat",
        "credential_ref": "AZURE_EU_KEY",
    }
    assert hops["azure"].model == "gpt-4o"  # priced and routed as gpt-4o
    # The config names no api_base for openai: the base catalog's provider default.
    assert hops["openai"].endpoint == Endpoint(
        upstream_model="gpt-4o",
        api_base="https://api.openai.com/v1",
        api_shape=ApiShape.OPENAI_CHAT,
        credential_ref="OPENAI_PROD_KEY",
    )


def test_a_plans_snapshot_replays(base: Catalog) -> None:
    catalog = catalog_of(imported(base, AZURE_EU, OPENAI, CLAUDE, BEDROCK))
    router = Router(catalog, clock=lambda: NOW)
    for name in ("gpt-4o", "claude"):
        plan = router.route({**REQUEST, "model": name, "request_id": f"replay-{name}"})
        assert all(hop.endpoint is not None for hop in plan.chain)
        assert plan.snapshot is not None
        snapshot = json.loads(json.dumps(plan.snapshot))
        assert snapshot["output"]["primary"]["endpoint"] == plan.primary.to_dict()["endpoint"]
        result = replay(snapshot, catalog)
        assert result.matched, result.differences
        assert result.actual_hash == plan.plan_hash


def test_reordering_the_model_list_changes_no_id(base: Catalog) -> None:
    entries = (AZURE_EU, OPENAI, CLAUDE, BEDROCK)
    expected = ids(imported(base, *entries))
    assert len(expected) == 4
    for order in itertools.permutations(entries):
        assert ids(imported(base, *order)) == expected


def test_adding_an_entry_at_the_top_renames_none_of_the_others(base: Catalog) -> None:
    before = ids(imported(base, OPENAI, CLAUDE))
    mini = {"model_name": "mini", "litellm_params": {"model": "openai/gpt-4o-mini"}}
    after = ids(imported(base, mini, OPENAI, CLAUDE))
    assert before < after and len(after - before) == 1


def derived(provider: str, upstream: str, where: str = "") -> str:
    """The scheme, written out: provider + 8 hex digits of the sha256 of
    provider, upstream model and api_base (or, without one, the region)."""
    identity = "\x00".join((provider, upstream, where)).encode("utf-8")
    return f"{provider}-{hashlib.sha256(identity).hexdigest()[:8]}"


def test_derived_ids_are_pinned(base: Catalog) -> None:
    # Stored signals and decisions name these: a change must be deliberate.
    expected = {
        "azure-4774d7cc/gpt-4o",
        "openai-45318289/gpt-4o",
        "anthropic-276cbf24/claude-sonnet-4-5",
        "bedrock-ea331f72/claude-sonnet-4-5",
    }
    assert ids(imported(base, AZURE_EU, OPENAI, CLAUDE, BEDROCK)) == expected
    assert {key.partition("/")[0] for key in expected} == {
        derived("azure", "contoso-gpt4o-eu", "https://contoso-eu.openai.azure.com"),
        derived("openai", "gpt-4o"),
        derived("anthropic", "claude-sonnet-4-5-20250929"),
        derived(
            "bedrock",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "aws_region_name=eu-central-1",
        ),
    }


def test_a_trailing_slash_on_api_base_is_the_same_endpoint(base: Catalog) -> None:
    slashed = copy.deepcopy(AZURE_EU)
    slashed["litellm_params"]["api_base"] += "/"
    assert ids(imported(base, slashed)) == ids(imported(base, AZURE_EU))


def test_model_info_id_is_the_key_when_stated(base: Catalog) -> None:
    pinned = copy.deepcopy(AZURE_EU)
    pinned["model_info"]["id"] = "contoso-eu"
    assert "contoso-eu/gpt-4o" in ids(imported(base, pinned, OPENAI))
    pinned["model_info"]["id"] = "two words"
    with pytest.raises(CatalogError) as caught:
        imported(base, pinned, strict=True)
    assert caught.value.field == "model_info.id"
    assert ids(imported(base, pinned, OPENAI)) == {"openai-45318289/gpt-4o"}  # skipped


def test_one_endpoint_under_two_keys_is_two_deployments_in_any_order(base: Catalog) -> None:
    second = copy.deepcopy(OPENAI)
    second["litellm_params"]["api_key"] = "os.environ/OPENAI_SPARE_KEY"
    forward = imported(base, OPENAI, second)
    backward = imported(base, second, OPENAI)
    assert ids(forward) == ids(backward)
    keys = sorted(ids(forward))
    assert len(keys) == 2
    # Both share the endpoint's hash and add one of what tells them apart.
    assert all(key.startswith("openai-45318289-") for key in keys)
    catalog = catalog_of(forward)
    endpoints = [catalog.deployments[key].endpoint for key in keys]
    references = {endpoint.credential_ref for endpoint in endpoints if endpoint is not None}
    assert references == {"OPENAI_PROD_KEY", "OPENAI_SPARE_KEY"}


def test_an_entry_stated_twice_is_imported_once(base: Catalog) -> None:
    result = imported(base, OPENAI, CLAUDE, OPENAI)
    assert ids(result) == {"openai-45318289/gpt-4o", "anthropic-276cbf24/claude-sonnet-4-5"}
    assert result.document["aliases"]["claude"] == ["anthropic-276cbf24/claude-sonnet-4-5"]
    assert any(
        "model_list[2] (gpt-4o) states the same deployment again" in w for w in result.warnings
    )


def test_the_same_endpoint_saying_two_things_asks_for_ids(base: Catalog) -> None:
    heavier = copy.deepcopy(OPENAI)
    heavier["litellm_params"]["weight"] = 5
    with pytest.raises(CatalogError, match=r"model_info\.id") as caught:
        imported(base, OPENAI, heavier, strict=True)
    assert caught.value.entry == "model_list[1] (gpt-4o)"
    # Without strict the second is skipped, and named.
    result = imported(base, OPENAI, heavier)
    assert ids(result) == {"openai-45318289/gpt-4o"}
    assert [line.subject for line in result.report.of("skipped")] == ["model_list[1] (gpt-4o)"]


def test_a_literal_key_is_dropped_with_a_warning(base: Catalog) -> None:
    literal = copy.deepcopy(AZURE_EU)
    literal["litellm_params"]["api_key"] = LITERAL_KEY
    result = imported(base, literal)
    assert LITERAL_KEY not in json.dumps(result.document)
    assert not any(LITERAL_KEY in warning for warning in result.warnings)
    dropped = [w for w in result.warnings if "literal key" in w]
    assert dropped and dropped[0].startswith("entry model_list[0] (gpt-4o)")
    assert "AZURE_API_KEY" in dropped[0]  # says what the hop falls back to
    endpoint = next(iter(catalog_of(result).deployments.values())).endpoint
    assert endpoint is not None and endpoint.credential_ref == "AZURE_API_KEY"


def test_a_secret_in_the_environment_reference_is_refused(base: Catalog) -> None:
    leaked = copy.deepcopy(OPENAI)
    leaked["litellm_params"]["api_key"] = f"os.environ/{LITERAL_KEY}"
    with pytest.raises(CatalogError) as caught:
        imported(base, leaked, strict=True)
    assert caught.value.field == "litellm_params.api_key"
    assert LITERAL_KEY not in caught.value.message
    skipped = imported(base, leaked)
    assert not skipped.document["models"]
    assert LITERAL_KEY not in json.dumps([*skipped.warnings, skipped.report.to_dict()])


def test_settings_read_from_the_environment_are_left_out(base: Catalog) -> None:
    from_env = copy.deepcopy(AZURE_EU)
    from_env["litellm_params"]["api_base"] = "os.environ/AZURE_EU_API_BASE"
    result = imported(base, from_env)
    endpoint = next(iter(catalog_of(result).deployments.values())).endpoint
    assert endpoint is not None and endpoint.api_base is None
    assert any("AZURE_EU_API_BASE" in w and "left out" in w for w in result.warnings)


def test_an_api_base_with_a_key_in_it_is_refused(base: Catalog) -> None:
    keyed = copy.deepcopy(AZURE_EU)
    keyed["litellm_params"]["api_base"] = f"https://contoso-eu.openai.azure.com/?key={LITERAL_KEY}"
    with pytest.raises(CatalogError) as caught:
        imported(base, keyed, strict=True)
    assert caught.value.field == "litellm_params.api_base"
    assert LITERAL_KEY not in caught.value.message
    skipped = imported(base, keyed)
    assert LITERAL_KEY not in json.dumps([*skipped.warnings, skipped.report.to_dict()])


@pytest.mark.parametrize(
    ("model", "upstream", "shape"),
    [
        ("anthropic/claude-haiku-4-5", "claude-haiku-4-5", ApiShape.ANTHROPIC_MESSAGES),
        ("gemini/gemini-2.5-pro", "gemini-2.5-pro", ApiShape.GEMINI),
        ("vertex_ai/gemini-2.5-flash", "gemini-2.5-flash", ApiShape.GEMINI),
        (
            "vertex_ai/claude-sonnet-4-5@20250929",
            "claude-sonnet-4-5@20250929",
            ApiShape.ANTHROPIC_MESSAGES,
        ),
        (
            "bedrock/converse/anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            ApiShape.BEDROCK_CONVERSE,
        ),
        ("groq/llama-3.1-8b-instant", "llama-3.1-8b-instant", ApiShape.OPENAI_CHAT),
        ("together_ai/zai-org/GLM-5.2", "zai-org/GLM-5.2", ApiShape.OPENAI_CHAT),
        ("hosted_vllm/acme/support-13b", "acme/support-13b", ApiShape.OPENAI_CHAT),
        ("cohere_chat/command-r-plus", "command-r-plus", None),
    ],
)
def test_shapes_and_upstream_names_follow_the_litellm_provider(
    base: Catalog, model: str, upstream: str, shape: ApiShape | None
) -> None:
    result = imported(base, {"model_name": "g", "litellm_params": {"model": model}})
    deployment = next(iter(catalog_of(result).deployments.values()))
    assert deployment.endpoint is not None
    assert deployment.endpoint.upstream_model == upstream  # case kept: sent as written
    assert deployment.endpoint.api_shape == shape
    if shape is None:
        assert any("no api_shape" in w for w in result.warnings)
