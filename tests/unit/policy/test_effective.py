"""Policy documents and the narrowing merge, attacked the ways a tenant would."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import NoRouteError, PolicyError
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.policy.effective import EffectivePolicy, PolicyStack
from modelrouter.policy.explain import explain_overrides
from modelrouter.router import Router
from modelrouter.types import RoutingPlan
from tests.conftest import FIXED_NOW

PLATFORM = {
    "providers": {"deny": ["gamma"]},
    "models": {"deny": ["open-*"]},
    "data": {"no_training": True},
    # Worst cases at 1,000 in / 500 out: alpha/chat-large 0.0105, beta 0.0075.
    "limits": {"max_cost_per_request_usd": "0.01"},
}


def router_for(catalog: Catalog, platform: dict[str, Any]) -> Router:
    return Router(catalog, parse_policy(platform), clock=lambda: FIXED_NOW)


def chains(router: Router, tenant: dict[str, Any], **request: Any) -> list[str] | None:
    fields = {"input_tokens": 1000, "max_output_tokens": 500, "max_fallbacks": 10, **request}
    try:
        plan: RoutingPlan = router.route(fields, tenant_policy=parse_policy(tenant))
    except NoRouteError:
        return None
    return [hop.deployment for hop in plan.chain]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"providers": {"alow": ["x"]}}, "providers.alow: unknown field"),
        ({"limits": {"max_cost_per_request_usd": "-1"}}, "limits.max_cost_per_request_usd"),
        ({"routing": {"strategy": "random"}}, "routing.strategy"),
        ({"budgets": [{"period": "year", "limit_usd": 1}]}, "budgets[0].period"),
        (
            {"budgets": [{"period": "day", "limit_usd": 1, "timezone": "Mars/Olympus"}]},
            "unknown time zone",
        ),
        (["not", "a", "mapping"], "must be a mapping"),
    ],
)
def test_malformed_policy_names_the_field(raw: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(raw, source="p.yaml")


def test_versions_are_content_hashes() -> None:
    a = parse_policy({"providers": {"deny": ["x"]}})
    b = parse_policy({"providers": {"deny": ["x"], "allow": None}})
    assert a.version == b.version
    assert a.version != parse_policy({"providers": {"deny": ["y"]}}).version


def test_globs_match_providers_models_and_pins(small_catalog: Catalog) -> None:
    router = router_for(small_catalog, {"models": {"deny": ["*-small", "alpha/*"]}})
    plan = router.route({"model": "smart", "input_tokens": 10, "max_fallbacks": 10})
    assert {hop.deployment for hop in plan.chain} == {
        "beta/chat-large",
        "gamma/chat-large",
        "gamma/open-70b",
    }


def test_meet_narrows_and_is_idempotent() -> None:
    platform = EffectivePolicy.of(
        parse_policy(
            {
                "providers": {"allow": ["a*", "b"]},
                "limits": {"max_fallbacks": 3},
                "capabilities": {"allow_unknown": True},
            }
        )
    )
    tenant = EffectivePolicy.of(
        parse_policy(
            {
                "providers": {"allow": ["b", "c"], "deny": ["b"]},
                "limits": {"max_fallbacks": 5},
                "data": {"zero_data_retention": True},
            }
        )
    )
    merged = platform.meet(tenant)
    assert merged.providers.verdict("alpha") == (False, False)  # not in the tenant's list
    assert merged.providers.verdict("c") == (False, False)  # not in the platform's list
    assert merged.providers.verdict("b") == (True, True)  # allowed by both, denied by one
    assert merged.max_fallbacks == 3
    assert merged.zero_data_retention is True
    assert merged.allow_unknown is True  # the tenant said nothing: inherits
    assert merged.meet(tenant) == merged
    assert platform.meet(EffectivePolicy.of(PolicyDocument())) == platform


# -- adversarial overlays, each checked against the primary and every fallback -----


@pytest.mark.parametrize(
    ("tenant", "request_fields", "forbidden"),
    [
        ({"providers": {"allow": ["gamma", "alpha", "beta"]}}, {"model": "smart"}, "gamma/"),
        (
            {"limits": {"max_cost_per_request_usd": "100"}},
            {"model": "chat-large"},
            "alpha/chat-large",
        ),
        ({"data": {"no_training": False}}, {"model": "chat-large"}, "gamma/"),
        ({"aliases": {"mine": ["open-70b", "chat-small"]}}, {"model": "mine"}, "open-70b"),
        ({}, {"model": "gamma/chat-large", "fallback_models": ["smart"]}, "gamma/"),
        (
            {},
            {"model": "chat-small", "fallback_models": ["open-70b", "gamma/chat-large"]},
            "open-70b",
        ),
        (
            {"models": {"allow": ["*"]}, "routing": {"strategy": "quality"}},
            {"model": "smart"},
            "open-70b",
        ),
    ],
    ids=[
        "allow-denied-provider",
        "raise-cap",
        "switch-off-no-training",
        "alias-onto-denied",
        "pin-denied-deployment",
        "denied-explicit-fallback",
        "allow-everything",
    ],
)
def test_no_overlay_yields_a_denied_candidate(
    small_catalog: Catalog,
    tenant: dict[str, Any],
    request_fields: dict[str, Any],
    forbidden: str,
) -> None:
    router = router_for(small_catalog, PLATFORM)
    chain = chains(router, tenant, **request_fields)
    assert chain is None or not any(forbidden in hop for hop in chain), chain
    if "aliases" in tenant:
        return  # the alias exists only in the overlay: nothing to compare with
    platform_only = chains(router, {}, **request_fields)
    if chain is not None:
        assert platform_only is not None and set(chain) <= set(platform_only)


def test_platform_rule_is_named_when_it_removes_everything(small_catalog: Catalog) -> None:
    router = router_for(small_catalog, {"models": {"deny": ["open-70b"]}})
    with pytest.raises(NoRouteError) as caught:
        router.route({"model": "open-70b", "input_tokens": 10})
    assert {r.rule for r in caught.value.rejections} == {"platform"}
    assert "model open-70b is denied by the platform policy" in str(caught.value)


def test_tenant_strategy_applies_inside_what_remains(small_catalog: Catalog) -> None:
    router = router_for(small_catalog, {"routing": {"strategy": "cheapest"}})
    plan = router.route(
        {"model": "smart", "input_tokens": 10},
        tenant_policy=parse_policy({"routing": {"strategy": "quality"}}),
    )
    assert plan.strategy == "quality"


def test_explain_overrides() -> None:
    platform = parse_policy(PLATFORM)
    tenant = parse_policy(
        {
            "providers": {"allow": ["gamma", "beta"]},
            "data": {"no_training": False},
            "limits": {"max_cost_per_request_usd": "1"},
            "aliases": {"mine": ["open-70b", "beta/chat-small"]},
        }
    )
    found = {(o.field, str(o.tenant)): o.reason for o in explain_overrides(platform, tenant)}
    assert found == {
        ("providers.allow", "gamma"): "the platform denies gamma (gamma)",
        ("data.no_training", "False"): "the platform requires no_training",
        ("limits.max_cost_per_request_usd", "1"): "the platform caps it at 0.01",
        ("aliases.mine", "open-70b"): "the platform's models or providers rules reject open-70b",
    }


def test_stack_versions_cover_both_documents() -> None:
    platform = parse_policy(PLATFORM)
    alone = PolicyStack(platform)
    with_tenant = PolicyStack(platform, parse_policy({"limits": {"max_fallbacks": 1}}))
    assert alone.version != with_tenant.version
    assert PolicyStack.from_content(with_tenant.content()).version == with_tenant.version
    assert with_tenant.effective.max_cost_per_request_usd == Decimal("0.01")
