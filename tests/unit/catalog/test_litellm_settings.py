"""The LiteLLM proxy importer keeps what it can and says what it cannot: router
and per-deployment settings onto our concepts (a catalog layer and a
platform-policy fragment), wildcards expanded, entries it cannot place skipped
with a warning (refused under strict), and a report of all of it."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.sources.litellm import (
    ImportResult,
    import_litellm_config,
    sniff,
    wrong_format,
)
from modelrouter.catalog.sources.litellm.budgets import litellm_window
from modelrouter.catalog.sources.litellm.settings import STRATEGIES
from modelrouter.errors import CatalogError
from modelrouter.policy.document import parse_policy
from modelrouter.router import Router

FIXTURES = Path(__file__).parents[2] / "fixtures" / "litellm"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECRETS = (
    "AKIA-SECRET-FULL-0001",
    "aws-SECRET-FULL-0002",
    "vllm-SECRET-FULL-0003",
    "redis-SECRET-FULL-0004",
    "sk-master-SECRET-FULL-0005",
    "db-SECRET-FULL-0006",
    "redis.internal",
    "postgresql://",
)

AZURE_EU: dict[str, Any] = {
    "model_name": "gpt-4o",
    "litellm_params": {
        "model": "azure/contoso-gpt4o-eu",
        "api_base": "https://contoso-eu.openai.azure.com",
        "api_key": "os.environ/AZURE_EU_KEY",
    },
    "model_info": {"base_model": "azure/gpt-4o"},
}
OPENAI: dict[str, Any] = {
    "model_name": "gpt-4o",
    "litellm_params": {"model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_API_KEY"},
}


@pytest.fixture(scope="module")
def base() -> Catalog:
    return Catalog.bundled()


@pytest.fixture(scope="module")
def full(base: Catalog) -> ImportResult:
    raw = yaml.safe_load((FIXTURES / "full_config.yaml").read_text())
    return import_litellm_config(raw, base, source="full_config.yaml")


def catalog_of(result: ImportResult) -> Catalog:
    return Catalog.from_layers([("import", result.document)])


def lines(result: ImportResult, outcome: str) -> dict[str, str]:
    return {line.subject: line.detail for line in result.report.of(outcome)}  # type: ignore[arg-type]


def config(*entries: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"model_list": [copy.deepcopy(entry) for entry in entries], **sections}


# -- a group with a model's name ------------------------------------------------------


def test_the_two_deployment_gpt_4o_group_imports_as_an_alias(base: Catalog) -> None:
    result = import_litellm_config(config(AZURE_EU, OPENAI), base, source="g.yaml")
    catalog = catalog_of(result)
    assert catalog.aliases["gpt-4o"].targets == (
        "azure-4774d7cc/gpt-4o",
        "openai-45318289/gpt-4o",
    )
    said = lines(result, "converted")["model_name gpt-4o"]
    assert "has the name of model gpt-4o" in said and "alias of its 2 deployments" in said


def test_the_group_routes_across_both_deployments(base: Catalog) -> None:
    catalog = catalog_of(import_litellm_config(config(AZURE_EU, OPENAI), base, source="g.yaml"))
    router = Router(catalog, clock=lambda: NOW)
    served = Counter(
        router.route(
            {
                "model": "gpt-4o",
                "input_tokens": 1000,
                "max_output_tokens": 200,
                "strategy": "weighted",
                "request_id": f"req-{n}",
            },
            reserve=False,
        ).primary.deployment
        for n in range(200)
    )
    assert set(served) == {"azure-4774d7cc/gpt-4o", "openai-45318289/gpt-4o"}
    assert min(served.values()) > 50  # equal weights: roughly half each


def test_a_group_of_some_of_a_models_deployments_means_the_group(base: Catalog) -> None:
    other = {**copy.deepcopy(AZURE_EU), "model_name": "eu-only"}
    result = import_litellm_config(config(OPENAI, other), base, source="g.yaml")
    catalog = catalog_of(result)
    assert catalog.aliases["gpt-4o"].targets == ("openai-45318289/gpt-4o",)
    assert "azure-4774d7cc/gpt-4o" in lines(result, "converted")["model_name gpt-4o"]


# -- every router setting --------------------------------------------------------------


def test_the_full_config_imports_with_nothing_skipped(full: ImportResult) -> None:
    assert full.report.of("skipped") == ()
    catalog = catalog_of(full)
    assert "contoso-eu/gpt-4o" in catalog.deployments
    assert full.skipped == {"mode=embedding": 1}


def test_routing_strategy_maps_onto_ours(full: ImportResult) -> None:
    assert full.policy["routing"] == {"strategy": "balanced"}
    said = lines(full, "converted")["router_settings.routing_strategy"]
    assert "usage-based-routing-v2 -> routing.strategy: balanced" in said
    assert "approximation" in said
    assert {name: strategy.value for name, (strategy, _) in STRATEGIES.items()} == {
        "simple-shuffle": "weighted",
        "latency-based-routing": "fastest",
        "cost-based-routing": "cheapest",
        "usage-based-routing": "balanced",
        "usage-based-routing-v2": "balanced",
        "least-busy": "balanced",
    }


def test_retries_fails_and_cooldown_become_limits_and_health(full: ImportResult) -> None:
    assert full.policy["limits"] == {"max_fallbacks": 2}
    assert full.policy["health"] == {"consecutive_failures": 4, "base_cooldown_seconds": "30"}
    converted = lines(full, "converted")
    assert "limits.max_fallbacks: 2" in converted["router_settings.num_retries"]
    assert "health.consecutive_failures: 4" in converted["router_settings.allowed_fails"]
    assert "more than 3 failures" in converted["router_settings.allowed_fails"]
    assert "health.base_cooldown_seconds: 30" in converted["router_settings.cooldown_time"]


def test_a_long_cooldown_raises_the_maximum_too(base: Catalog) -> None:
    result = import_litellm_config(
        config(OPENAI, router_settings={"cooldown_time": 900}), base, source="c.yaml"
    )
    assert result.policy["health"] == {
        "base_cooldown_seconds": "900",
        "max_cooldown_seconds": "900",
    }
    health = parse_policy(result.policy).health
    assert health.max_cooldown_seconds >= health.base_cooldown_seconds


def test_fallback_chains_land_on_the_aliases(full: ImportResult) -> None:
    catalog = catalog_of(full)
    gpt_4o = catalog.aliases["gpt-4o"]
    assert gpt_4o.targets == ("contoso-eu/gpt-4o", "openai-45318289/gpt-4o")
    assert gpt_4o.fallbacks == ("claude-sonnet", "gpt-4o-mini")
    assert gpt_4o.context_window_fallbacks == ("gemini-long",)
    assert gpt_4o.content_policy_fallbacks == ("claude-sonnet",)
    # default_fallbacks: every group without its own, never itself.
    assert catalog.aliases["claude-sonnet"].fallbacks == ("gpt-4o-mini",)
    assert catalog.aliases["gemini-long"].fallbacks == ("gpt-4o-mini",)
    assert catalog.aliases["gpt-4o-mini"].fallbacks == ()
    # model_group_alias: the group under another name, chains and all.
    assert catalog.aliases["gpt4"] == type(gpt_4o)("gpt4", *list(_fields(gpt_4o))[1:])
    converted = lines(full, "converted")
    for key in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
        assert f"router_settings.{key} gpt-4o" in converted
    assert "claude-sonnet" in converted["router_settings.default_fallbacks"]


def _fields(alias: Any) -> tuple[Any, ...]:
    return (
        alias.name,
        alias.targets,
        alias.fallbacks,
        alias.context_window_fallbacks,
        alias.content_policy_fallbacks,
    )


def test_a_chain_naming_no_group_drops_that_name(base: Catalog) -> None:
    result = import_litellm_config(
        config(OPENAI, litellm_settings={"fallbacks": [{"gpt-4o": ["nowhere", "gpt-4o"]}]}),
        base,
        source="c.yaml",
    )
    assert catalog_of(result).aliases["gpt-4o"].fallbacks == ()
    assert (
        "'nowhere' is not a model group"
        in lines(result, "dropped")["litellm_settings.fallbacks gpt-4o -> nowhere"]
    )


def test_rpm_tpm_tags_and_weights_reach_the_deployments(full: ImportResult) -> None:
    catalog = catalog_of(full)
    eu = catalog.deployments["contoso-eu/gpt-4o"]
    assert (eu.rpm, eu.tpm, eu.weight, eu.tags) == (600, 150000, 9, ("eu", "default"))
    openai = catalog.deployments["openai-45318289/gpt-4o"]
    # From model_info, where LiteLLM also reads them.
    assert (openai.rpm, openai.tpm, openai.tags) == (10000, 2000000, ("us",))
    assert "tags always filter" in lines(full, "converted")["router_settings.enable_tag_filtering"]


def test_budgets_of_every_scope(full: ImportResult) -> None:
    assert full.policy["budgets"] == [
        {"name": "litellm-proxy", "scope": "tenant", "duration": "30d", "limit_usd": "1000"},
        {
            "name": "provider-openai",
            "scope": "provider",
            "duration": "1d",
            "limit_usd": "100",
            "match": "openai",
        },
        {
            "name": "provider-anthropic",
            "scope": "provider",
            "period": "month",
            "limit_usd": "500",
            "match": "anthropic",
        },
        {
            "name": "deployment-contoso-eu-gpt-4o",
            "scope": "deployment",
            "duration": "30d",
            "limit_usd": "250",
            "match": "contoso-eu/gpt-4o",
        },
    ]
    converted = lines(full, "converted")
    assert "whole proxy" in converted["litellm_settings.max_budget"]  # how the scope differs
    assert "whole proxy" in converted["router_settings.provider_budget_config.openai"]
    assert "model_list[0] (gpt-4o) litellm_params.max_budget" in converted


@pytest.mark.parametrize(
    ("given", "window"),
    [
        ("1h", {"duration": "1h"}),
        ("30d", {"duration": "30d"}),
        ("30m", {"duration": "30m"}),
        ("2w", {"duration": "14d"}),
        ("1mo", {"period": "month"}),
        ("2mo", {"duration": "60d"}),
    ],
)
def test_litellm_durations(given: str, window: dict[str, str]) -> None:
    converted = litellm_window(given)
    assert not isinstance(converted, str) and converted[0] == window
    assert isinstance(litellm_window("soon"), str)


def test_a_budget_without_a_duration_is_dropped_with_the_reason(base: Catalog) -> None:
    result = import_litellm_config(
        config(OPENAI, litellm_settings={"max_budget": 10}), base, source="b.yaml"
    )
    assert "budgets" not in result.policy
    assert "never resets" in lines(result, "dropped")["litellm_settings.max_budget"]


def test_the_fragment_is_a_valid_platform_policy(full: ImportResult) -> None:
    document = parse_policy(full.policy, source="fragment")
    assert document.routing.strategy == "balanced"
    assert len(document.budgets) == 4


def test_every_other_setting_is_dropped_by_name_with_a_reason(full: ImportResult) -> None:
    dropped = lines(full, "dropped")
    for name in (
        "router_settings.redis_host",
        "router_settings.redis_password",
        "router_settings.timeout",
        "litellm_settings.drop_params",
        "litellm_settings.success_callback",
        "general_settings.master_key",
        "general_settings.database_url",
        "model_list[8] (text-embedder)",
        "model_list[0] (gpt-4o) litellm_params.timeout",
        "model_list[5] (gpt-4o-mini) litellm_params.temperature",
        "model_list[6] (in-house) litellm_params.api_key",
    ):
        assert dropped.get(name), name
    creds = [s for s in dropped if s.startswith("model_list[4]")]
    assert creds == [
        "model_list[4] (claude-sonnet) litellm_params.aws_access_key_id, "
        "litellm_params.aws_secret_access_key"
    ]


def test_no_secret_reaches_anything_the_import_answers(full: ImportResult) -> None:
    text = json.dumps(
        [full.document, full.policy, full.report.to_dict(), list(full.warnings)], default=str
    )
    for secret in SECRETS:
        assert secret not in text, secret


# -- wildcards ---------------------------------------------------------------------------


def test_a_provider_wildcard_expands_into_its_models(full: ImportResult, base: Catalog) -> None:
    catalog = catalog_of(full)
    at_openai = {d.model for d in base.deployments.values() if d.provider == "openai"}
    expanded = [d for d in catalog.deployments.values() if d.id.startswith("openai-d9b98766/")]
    assert {d.model for d in expanded} == at_openai
    said = lines(full, "converted")["model_list[7] (openai/*)"]
    assert f"expanded into {len(at_openai)} deployments" in said
    bound = catalog.deployments["openai-d9b98766/gpt-4o-mini"].endpoint
    assert bound is not None and bound.credential_ref == "OPENAI_API_KEY"
    # openai/<model> routes, as any provider/model does.
    router = Router(catalog, clock=lambda: NOW)
    plan = router.route(
        {"model": "openai/o3-mini", "input_tokens": 100, "max_output_tokens": 100},
        reserve=False,
    )
    assert plan.primary.deployment == "openai-d9b98766/o3-mini"


def test_star_reaches_every_provider_and_prefixed_groups_get_aliases(base: Catalog) -> None:
    star = {"model_name": "*", "litellm_params": {"model": "*"}}
    prefixed = {
        "model_name": "gemini/*",
        "litellm_params": {"model": "gemini/*", "api_key": "os.environ/GEMINI_KEY"},
    }
    result = import_litellm_config(config(star, prefixed), base, source="w.yaml")
    catalog = catalog_of(result)
    pairs = {(d.provider, d.model) for d in base.deployments.values()}
    assert {(d.provider, d.model) for d in catalog.deployments.values()} == pairs
    # gemini/ is LiteLLM's name for our provider google: one alias per model.
    gemini = [name for name in catalog.aliases if name.startswith("gemini/")]
    assert gemini and all(len(catalog.aliases[name].targets) == 1 for name in gemini)
    endpoint = catalog.deployments[catalog.aliases[gemini[0]].targets[0]].endpoint
    assert endpoint is not None and endpoint.credential_ref == "GEMINI_KEY"


# -- entries that cannot be imported -------------------------------------------------------

UNPLACEABLE: dict[str, Any] = {
    "model_name": "claude-3",
    "litellm_params": {"model": "anthropic.claude-3-sonnet-20240229-v1:0"},
}
NO_PARAMS: dict[str, Any] = {"model_name": "gpt-3.5-turbo"}


def test_an_entry_that_cannot_be_imported_is_skipped_and_named(base: Catalog) -> None:
    result = import_litellm_config(config(OPENAI, UNPLACEABLE, NO_PARAMS), base, source="s.yaml")
    assert set(catalog_of(result).deployments) == {"openai-45318289/gpt-4o"}
    skipped = lines(result, "skipped")
    assert set(skipped) == {"model_list[1] (claude-3)", "model_list[2] (gpt-3.5-turbo)"}
    assert "cannot tell which provider" in skipped["model_list[1] (claude-3)"]
    assert "litellm_params" in skipped["model_list[2] (gpt-3.5-turbo)"]
    assert any("skipped" in w and "model_list[1] (claude-3)" in w for w in result.warnings)


def test_strict_refuses_the_file_instead(base: Catalog) -> None:
    with pytest.raises(CatalogError) as caught:
        import_litellm_config(config(OPENAI, UNPLACEABLE), base, source="s.yaml", strict=True)
    assert caught.value.entry == "model_list[1] (claude-3)"
    with pytest.raises(CatalogError):
        import_litellm_config(
            config(OPENAI, router_settings={"routing_strategy": "round-robin"}),
            base,
            source="s.yaml",
            strict=True,
        )


def test_a_bare_bedrock_id_with_a_region_is_placed_at_bedrock(base: Catalog) -> None:
    placed = copy.deepcopy(UNPLACEABLE)
    placed["litellm_params"]["aws_region_name"] = "us-east-1"
    catalog = catalog_of(import_litellm_config(config(placed), base, source="b.yaml"))
    (deployment,) = catalog.deployments.values()
    assert (deployment.provider, deployment.regions) == ("bedrock", ("us",))


# -- the format a file looks like ------------------------------------------------------------


def test_sniff_tells_the_formats_apart(full: ImportResult) -> None:
    proxy = yaml.safe_load((FIXTURES / "full_config.yaml").read_text())
    cost_map = json.loads((FIXTURES / "model_prices_sample.json").read_text())
    assert sniff(proxy) == "litellm-config"
    assert sniff(cost_map) == "litellm"
    assert sniff(full.document) == "yaml"
    assert sniff({"something": "else"}) is None
    message = wrong_format(proxy, "litellm")
    assert message is not None and "LiteLLM proxy config" in message
    assert "litellm-config" in message
    assert wrong_format(proxy, "litellm-config") is None
