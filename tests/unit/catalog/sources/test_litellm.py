"""Importing LiteLLM's model cost map and proxy config into catalog documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.schema import CatalogDocument
from modelrouter.catalog.sources.litellm.cost_map import import_litellm_cost_map
from modelrouter.catalog.sources.litellm.fields import ImportResult
from modelrouter.catalog.sources.litellm.proxy import import_litellm_config
from modelrouter.errors import CatalogError, NoRouteError
from modelrouter.router import Router
from modelrouter.types import RejectionCode

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "litellm"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECRETS = (
    "azure-eu-SECRET-7f3a",
    "azure-us-SECRET-91c2",
    "sk-proj-SECRET-openai-0001",
    "sk-ant-SECRET-0002",
    "AKIA-SECRET-0003",
    "aws-SECRET-0004",
    "vllm-SECRET-0005",
    "sk-master-SECRET-0006",
)


def per_million(tokens: int, rate: str) -> Decimal:
    return Decimal(tokens) * Decimal(rate) / Decimal(1_000_000)


# -- the cost map ------------------------------------------------------------------


def cost_map() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "model_prices_sample.json").read_text())
    return loaded


@pytest.fixture(scope="module")
def imported() -> ImportResult:
    return import_litellm_cost_map(cost_map(), source="model_prices_sample.json")


@pytest.fixture(scope="module")
def cost_catalog(imported: ImportResult) -> Catalog:
    return Catalog.from_layers([("litellm", imported.document)])


def deployment(result: ImportResult, model: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = result.document["models"][model]["deployments"][key]
    return found


def test_cost_map_document_validates_and_builds(
    imported: ImportResult, cost_catalog: Catalog
) -> None:
    CatalogDocument.model_validate(imported.document)
    assert "openai/gpt-4o" in cost_catalog.deployments
    assert "azure/gpt-4o" in cost_catalog.deployments
    assert cost_catalog.models["gpt-4o"].vendor == "openai"
    assert cost_catalog.models["claude-sonnet-4-5"].vendor == "anthropic"


def test_per_token_costs_become_exact_per_million_rates(cost_catalog: Catalog) -> None:
    sheet = cost_catalog.deployments["openai/gpt-4o"].prices
    assert sheet is not None
    standard = sheet.rules[0].sheet
    assert standard.input is not None and standard.input.base == Decimal("2.5")
    assert standard.output is not None and standard.output.base == Decimal("10")
    assert standard.cache_read is not None and standard.cache_read.base == Decimal("1.25")

    mini = cost_catalog.deployments["openai/gpt-4o-mini"].prices
    assert mini is not None
    cache_read = mini.rules[0].sheet.cache_read
    assert cache_read is not None and str(cache_read.base) == "0.075"  # from 7.5e-08


def test_batch_flex_and_priority_prices_are_context_overrides(imported: ImportResult) -> None:
    rules = deployment(imported, "gpt-5", "openai")["prices"]
    assert rules == [
        {"rates": {"input": "1.25", "cache_read": "0.125", "output": "10"}},
        {"rates": {"input": "0.625", "output": "5"}, "when": {"processing": "batch"}},
        {
            "rates": {"input": "0.625", "cache_read": "0.0625", "output": "5"},
            "when": {"service_tier": "flex"},
        },
        {
            "rates": {"input": "2.5", "cache_read": "0.25", "output": "20"},
            "when": {"service_tier": "priority"},
        },
    ]


def test_anthropic_cache_writes_and_long_context_tiers(imported: ImportResult) -> None:
    rates = deployment(imported, "claude-sonnet-4-5", "anthropic")["prices"][0]["rates"]

    def tiered(base: str, above: str) -> dict[str, Any]:
        return {"base": base, "tiers": [{"above_input_tokens": 200000, "rate": above}]}

    assert rates == {
        "input": tiered("3", "6"),
        "cache_read": tiered("0.3", "0.6"),
        "cache_write": tiered("3.75", "7.5"),
        "cache_write_1h": tiered("6", "12"),
        "output": tiered("15", "22.5"),
    }
    haiku = deployment(imported, "claude-haiku-4-5", "anthropic")["prices"][0]["rates"]
    assert haiku["cache_write"] == "1.25"
    assert haiku["cache_write_1h"] == "2"


def test_tiered_pricing_ranges_become_cliff_tiers(imported: ImportResult) -> None:
    rates = deployment(imported, "qwen-plus-2025-07-28", "dashscope")["prices"][0]["rates"]
    assert rates["input"] == {
        "base": "0.4",
        "tiers": [{"above_input_tokens": 256000, "rate": "1.2"}],
    }
    assert rates["output_reasoning"]["tiers"][0]["rate"] == "12"


def test_limits_capabilities_and_providers(imported: ImportResult, cost_catalog: Catalog) -> None:
    gemini = cost_catalog.deployments["google/gemini-2.5-pro"]
    assert gemini.context_window == 1048576
    assert gemini.max_output_tokens == 65535
    assert gemini.capabilities.tools is True
    assert gemini.capabilities.reasoning is True
    # LiteLLM's "vertex_ai-language-models" is Vertex AI; "gemini" is the Gemini API.
    assert "vertex/gemini-2.5-pro" in cost_catalog.deployments
    assert "together/meta-llama/llama-3.3-70b-instruct-turbo" in cost_catalog.deployments
    assert "cohere/command-r" in cost_catalog.deployments
    assert cost_catalog.models["meta-llama/llama-3.3-70b-instruct-turbo"].vendor == "meta"
    # Absent support flags are unknown, not false.
    assert cost_catalog.deployments["groq/llama-3.3-70b-versatile"].capabilities.vision is None
    assert cost_catalog.deployments["xai/grok-3"].capabilities.json_schema is False


def test_regional_entries_become_regional_deployments(cost_catalog: Catalog) -> None:
    eu = cost_catalog.deployments["azure-eu/gpt-4o-2024-08-06"]
    assert eu.provider == "azure"
    assert eu.regions == ("eu",)
    assert eu.prices is not None
    rate = eu.prices.rules[0].sheet.input
    assert rate is not None and rate.base == Decimal("2.75")

    profile = cost_catalog.deployments["bedrock-eu/anthropic.claude-3-5-sonnet-20240620-v1:0"]
    assert profile.regions == ("eu",)
    assert cost_catalog.models["anthropic.claude-3-5-sonnet-20240620-v1:0"].vendor == "anthropic"
    paris = cost_catalog.deployments["bedrock-eu-west-3/mistral.mistral-large-2402-v1:0"]
    assert paris.regions == ("eu",)


def test_deprecation_date_is_not_a_deprecation(cost_catalog: Catalog) -> None:
    assert cost_catalog.deployments["anthropic/claude-3-7-sonnet-20250219"].deprecated is False


def test_skips_are_counted_by_reason(imported: ImportResult) -> None:
    assert imported.skipped == {
        "sample_spec": 1,
        "mode=embedding": 2,
        "mode=image_generation": 1,
        "mode=completion": 1,
        "duplicate": 1,
        "malformed": 2,
    }
    models = imported.document["models"]
    assert "text-embedding-3-small" not in models
    assert "sample_spec" not in models
    assert "mistral-large-latest" not in models
    # No mode but priced per token both ways: imported.
    assert "mistralai/mistral-7b-instruct" in models


def test_warnings_name_the_entries(imported: ImportResult) -> None:
    def about(key: str) -> list[str]:
        return [w for w in imported.warnings if key in w]

    assert any("not a decimal number" in w for w in about("mistral/mistral-large-latest"))
    assert any("negative" in w for w in about("perplexity/sonar"))
    assert any("$0" in w for w in about("ollama/llama3.1"))
    assert any("no input or output" in w for w in about("github_copilot/gpt-4.1"))
    assert any("kept the first" in w for w in about("vertex_ai/gemini-2.5-pro"))
    assert len(imported.warnings) == 5


def test_the_first_of_two_entries_for_one_deployment_wins(imported: ImportResult) -> None:
    kept = deployment(imported, "gemini-2.5-pro", "vertex")
    assert kept["prices"][1] == {
        "rates": {"input": "0.625", "output": "5"},
        "when": {"processing": "batch"},
    }


def test_unpriced_model_is_rejected_not_free(cost_catalog: Catalog) -> None:
    assert cost_catalog.deployments["github_copilot/gpt-4.1"].prices is None
    router = Router(cost_catalog, clock=lambda: NOW)
    with pytest.raises(NoRouteError) as caught:
        router.route({"model": "gpt-4.1", "input_tokens": 2000, "max_output_tokens": 500})
    codes = {rejection.code for rejection in caught.value.rejections}
    assert RejectionCode.PRICE_UNKNOWN in codes


def test_routes_gpt_4o_at_the_hand_computed_cost(cost_catalog: Catalog) -> None:
    router = Router(cost_catalog, clock=lambda: NOW)
    plan = router.route({"model": "gpt-4o", "input_tokens": 2000, "max_output_tokens": 500})
    assert plan.primary.deployment in {"openai/gpt-4o", "azure/gpt-4o"}
    # 2000 input at $2.50/M plus 256 expected output at $10/M.
    expected = per_million(2000, "2.5") + per_million(256, "10")
    assert expected == Decimal("0.00756")
    assert plan.primary.estimate.expected_usd == expected


def test_batch_requests_use_the_batch_rates(cost_catalog: Catalog) -> None:
    router = Router(cost_catalog, clock=lambda: NOW)
    plan = router.route(
        {
            "model": "openai/gpt-4o",
            "input_tokens": 2000,
            "max_output_tokens": 500,
            "service_tier": "batch",
        }
    )
    assert plan.primary.estimate.expected_usd == per_million(2000, "1.25") + per_million(256, "5")


def test_long_context_bills_the_whole_request_at_the_tier_rate(cost_catalog: Catalog) -> None:
    router = Router(cost_catalog, clock=lambda: NOW)
    request = {"model": "google/gemini-2.5-pro", "max_output_tokens": 1000}
    short = router.route({**request, "input_tokens": 150_000})
    assert short.primary.estimate.expected_usd == per_million(150_000, "1.25") + per_million(
        256, "10"
    )
    long = router.route({**request, "input_tokens": 250_000})
    assert long.primary.estimate.expected_usd == per_million(250_000, "2.5") + per_million(
        256, "15"
    )
    assert long.primary.estimate.expected_usd == Decimal("0.62884")


# -- the proxy config ------------------------------------------------------------------


def proxy_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((FIXTURES / "proxy_config.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def base() -> Catalog:
    return Catalog.bundled()


@pytest.fixture(scope="module")
def config_result(base: Catalog) -> ImportResult:
    return import_litellm_config(proxy_config(), base, source="proxy_config.yaml")


@pytest.fixture(scope="module")
def config_catalog(config_result: ImportResult) -> Catalog:
    return Catalog.from_layers([("proxy", config_result.document)])


def test_config_deployments_only(config_catalog: Catalog, config_result: ImportResult) -> None:
    # Keys are model_info.id, else {provider}-{hash of provider, upstream model and
    # api_base}: pinned here, since stored signals and decisions name them.
    assert sorted(config_catalog.deployments) == [
        "anthropic-276cbf24/claude-sonnet-4-5",
        "anthropic-ece10a7b/claude-haiku-4-5",
        "azure-4992faf7/gpt-4o",
        "azure-eu-gpt4o/gpt-4o",
        "bedrock-ea331f72/claude-sonnet-4-5",
        "hosted_vllm-25f2507d/acme/support-llm-13b",
        "openai-45318289/gpt-4o",
        "openai-965485cd/gpt-4o-mini",
    ]
    assert config_result.skipped == {"mode=embedding": 1}


def test_groups_become_aliases_in_config_order(config_catalog: Catalog) -> None:
    aliases = {name: alias.targets for name, alias in config_catalog.aliases.items()}
    gpt_4o = ("azure-eu-gpt4o/gpt-4o", "azure-4992faf7/gpt-4o", "openai-45318289/gpt-4o")
    assert aliases == {
        # A group with a model's name is an alias too: it means the group.
        "gpt-4o": gpt_4o,
        "claude-sonnet": (
            "anthropic-276cbf24/claude-sonnet-4-5",
            "bedrock-ea331f72/claude-sonnet-4-5",
        ),
        "smart": ("openai-965485cd/gpt-4o-mini", "anthropic-ece10a7b/claude-haiku-4-5"),
        "in-house": ("hosted_vllm-25f2507d/acme/support-llm-13b",),
        "gpt4": gpt_4o,  # router_settings.model_group_alias: the group under another name
    }
    assert {d.id for d in config_catalog.lookup_target("gpt-4o")} == set(gpt_4o)


def test_weights_order_and_regions_are_kept(config_catalog: Catalog) -> None:
    eu, us = (
        config_catalog.deployments["azure-eu-gpt4o/gpt-4o"],
        config_catalog.deployments["azure-4992faf7/gpt-4o"],
    )
    assert (eu.weight, eu.regions, eu.provider) == (3, ("eu",), "azure")
    assert (us.weight, us.regions) == (1, ("us",))
    assert config_catalog.deployments["anthropic-276cbf24/claude-sonnet-4-5"].order == 1
    bedrock = config_catalog.deployments["bedrock-ea331f72/claude-sonnet-4-5"]
    assert (bedrock.order, bedrock.regions) == (2, ("eu",))  # from aws_region_name eu-central-1
    # Where the config does not say, the endpoint's region is unknown.
    assert config_catalog.deployments["openai-45318289/gpt-4o"].regions == ()


def test_base_facts_are_copied_and_config_prices_win(
    config_catalog: Catalog, base: Catalog
) -> None:
    copied = config_catalog.deployments["anthropic-276cbf24/claude-sonnet-4-5"]
    original = base.deployments["anthropic/claude-sonnet-4-5"]
    assert copied.prices == original.prices
    assert copied.context_window == original.context_window
    assert copied.capabilities == original.capabilities
    assert copied.quality == original.quality
    assert (
        config_catalog.deployments["azure-4992faf7/gpt-4o"].prices
        == base.deployments["azure/gpt-4o"].prices
    )
    negotiated = config_catalog.deployments["openai-965485cd/gpt-4o-mini"].prices
    assert negotiated is not None and len(negotiated.rules) == 1
    sheet = negotiated.rules[0].sheet
    assert sheet.input is not None and sheet.input.base == Decimal("0.1")
    assert sheet.output is not None and sheet.output.base == Decimal("0.4")
    assert sheet.cache_read is None


def test_no_secret_reaches_the_document(config_result: ImportResult) -> None:
    text = json.dumps(config_result.document)
    for secret in SECRETS:
        assert secret not in text
    assert "api_key" not in text
    # The endpoint is copied (the gateway needs it); literal keys are not, and no
    # warning repeats one.
    assert "https://contoso-eu.openai.azure.com/" in text
    for warning in config_result.warnings:
        assert not any(secret in warning for secret in SECRETS)


def test_warnings_name_the_entries_they_are_about(config_result: ImportResult) -> None:
    matched = [w for w in config_result.warnings if "claude-sonnet-4-5-20250929" in w]
    assert matched and matched[0].startswith("entry model_list[3] (claude-sonnet)")
    unpriced = [w for w in config_result.warnings if "model_list[7] (in-house)" in w]
    assert unpriced and "price_unknown" in unpriced[0]


def test_routes_through_the_groups(config_catalog: Catalog) -> None:
    router = Router(config_catalog, clock=lambda: NOW)
    request = {"input_tokens": 2000, "max_output_tokens": 500}
    eu = router.route({**request, "model": "gpt4", "regions": ["eu"]})
    assert eu.primary.deployment == "azure-eu-gpt4o/gpt-4o"
    assert eu.primary.estimate.expected_usd == Decimal("0.00756")
    assert {r.deployment for r in eu.rejected} == {
        "azure-4992faf7/gpt-4o",
        "openai-45318289/gpt-4o",
    }

    smart = router.route({**request, "model": "smart", "strategy": "cheapest"})
    assert smart.primary.deployment == "openai-965485cd/gpt-4o-mini"
    assert smart.primary.estimate.expected_usd == per_million(2000, "0.1") + per_million(256, "0.4")
    assert [c.deployment for c in smart.fallbacks] == ["anthropic-ece10a7b/claude-haiku-4-5"]

    claude = router.route({**request, "model": "claude-sonnet"})
    assert {claude.primary.deployment, *(c.deployment for c in claude.fallbacks)} == {
        "anthropic-276cbf24/claude-sonnet-4-5",
        "bedrock-ea331f72/claude-sonnet-4-5",
    }


def test_the_unknown_model_is_rejected_as_price_unknown(config_catalog: Catalog) -> None:
    router = Router(config_catalog, clock=lambda: NOW)
    with pytest.raises(NoRouteError) as caught:
        router.route({"model": "in-house", "input_tokens": 2000, "max_output_tokens": 500})
    assert [r.code for r in caught.value.rejections] == [RejectionCode.PRICE_UNKNOWN]


def entry(model: str, group: str = "g", **params: Any) -> dict[str, Any]:
    return {"model_name": group, "litellm_params": {"model": model, **params}}


@pytest.mark.parametrize(
    ("config", "entry_name", "field"),
    [
        (
            {"model_list": [{"model_name": "g", "litellm_params": {}}]},
            "model_list[0] (g)",
            "litellm_params.model",
        ),
        (
            {
                "model_list": [
                    entry("openai/gpt-4o"),
                    entry("openai/gpt-4o", input_cost_per_token=-1),
                ]
            },
            "model_list[1] (g)",
            "litellm_params.input_cost_per_token",
        ),
        (
            {"model_list": [entry("openai/gpt-4o", output_cost_per_token="cheap")]},
            "model_list[0] (g)",
            "litellm_params.output_cost_per_token",
        ),
        ({"model_list": ["openai/gpt-4o"]}, "model_list[0]", None),
        (
            {"model_list": [entry("openai/gpt-4o", weight="heavy")]},
            "model_list[0] (g)",
            "litellm_params.weight",
        ),
        ({"model_list": [entry("mystery-model")]}, "model_list[0] (g)", "litellm_params.model"),
        ({"model_list": {"gpt-4o": {}}}, None, "model_list"),
    ],
)
def test_malformed_configs_name_the_entry_and_field(
    base: Catalog, config: dict[str, Any], entry_name: str | None, field: str | None
) -> None:
    # Strict: the file is refused, naming the entry and field.
    with pytest.raises(CatalogError) as caught:
        import_litellm_config(config, base, source="bad.yaml", strict=True)
    error = caught.value
    assert (error.source, error.entry, error.field) == ("bad.yaml", entry_name, field)
    assert "bad.yaml" in error.message
    if entry_name:
        assert entry_name in error.message
    if field:
        assert field in error.message
    if entry_name is None:
        return  # no model_list at all: nothing to keep, refused either way
    # Otherwise the entry is skipped, with a warning and a report line naming it.
    result = import_litellm_config(config, base, source="bad.yaml")
    assert [w for w in result.warnings if entry_name in w and "skipped" in w]
    assert [line.subject for line in result.report.of("skipped")] == [entry_name]


def test_azure_without_base_model_says_how_to_fix_it(base: Catalog) -> None:
    result = import_litellm_config(
        {"model_list": [entry("azure/contoso-prod-4")]}, base, source="azure.yaml"
    )
    deployment = result.document["models"]["contoso-prod-4"]["deployments"]["azure-10231df7"]
    assert "prices" not in deployment
    assert any("model_info.base_model" in w for w in result.warnings)
