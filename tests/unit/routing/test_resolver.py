"""Names to candidates: policy aliases, catalog aliases, model ids, deployment
ids and provider/model pins, each target keeping its position (what the
``pinned`` strategy keeps); unknown names fail with suggestions."""

from __future__ import annotations

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import UnknownModelError
from modelrouter.policy.document import parse_policy
from modelrouter.policy.effective import EffectivePolicy, PolicyStack
from modelrouter.routing.resolver import Resolved, resolve

NO_POLICY = EffectivePolicy()


def found(resolved: list[Resolved]) -> list[tuple[str, int, str]]:
    return [(r.deployment.id, r.position, r.via) for r in resolved]


def test_a_catalog_alias_keeps_its_targets_order(small_catalog: Catalog) -> None:
    # smart: [chat-large, open-70b]; a model's deployments share its position.
    assert found(resolve("smart", small_catalog, NO_POLICY)) == [
        ("alpha/chat-large", 0, "smart"),
        ("beta/chat-large", 0, "smart"),
        ("gamma/chat-large", 0, "smart"),
        ("alpha/open-70b", 1, "smart"),
        ("gamma/open-70b", 1, "smart"),
    ]
    # budget: [chat-small, gamma/open-70b]: a pin brings in one deployment only.
    assert found(resolve("budget", small_catalog, NO_POLICY)) == [
        ("alpha/chat-small", 0, "budget"),
        ("beta/chat-small", 0, "budget"),
        ("gamma/open-70b", 1, "budget"),
    ]


def test_model_ids_and_deployment_ids(small_catalog: Catalog) -> None:
    assert found(resolve("open-70b", small_catalog, NO_POLICY)) == [
        ("alpha/open-70b", 0, "open-70b"),
        ("gamma/open-70b", 0, "open-70b"),
    ]
    assert found(resolve("beta/chat-large", small_catalog, NO_POLICY)) == [
        ("beta/chat-large", 0, "beta/chat-large")
    ]


def test_a_provider_model_pin_takes_every_deployment_at_that_provider(
    small_catalog: Catalog,
) -> None:
    # Two deployments of open-70b at provider delta, keyed by region: neither
    # id is "delta/open-70b", but the pin names them both.
    catalog = small_catalog.layered(
        "delta",
        {
            "providers": {"delta": {"regions": ["us", "eu"]}},
            "models": {
                "open-70b": {
                    "deployments": {
                        "delta-us": {"provider": "delta", "regions": ["us"]},
                        "delta-eu": {"provider": "delta", "regions": ["eu"]},
                    }
                }
            },
        },
    )
    assert found(resolve("delta/open-70b", catalog, NO_POLICY)) == [
        ("delta-eu/open-70b", 0, "delta/open-70b"),
        ("delta-us/open-70b", 0, "delta/open-70b"),
    ]
    assert [r.deployment.provider for r in resolve("delta/open-70b", catalog, NO_POLICY)] == [
        "delta",
        "delta",
    ]
    # The model id still takes every deployment of it, at any provider.
    assert len(resolve("open-70b", catalog, NO_POLICY)) == 4


def test_positions_start_where_the_caller_says(small_catalog: Catalog) -> None:
    # The planner numbers fallback models after the primary's candidates.
    assert [r.position for r in resolve("budget", small_catalog, NO_POLICY, start=10)] == [
        10,
        10,
        11,
    ]


def test_a_policy_alias_comes_before_the_catalogs(small_catalog: Catalog) -> None:
    policy = PolicyStack(parse_policy({"aliases": {"smart": ["chat-small"]}})).effective
    assert found(resolve("smart", small_catalog, policy)) == [
        ("alpha/chat-small", 0, "smart"),
        ("beta/chat-small", 0, "smart"),
    ]
    # A policy alias may even shadow a model id.
    shadow = PolicyStack(parse_policy({"aliases": {"chat-large": ["gamma/open-70b"]}})).effective
    assert found(resolve("chat-large", small_catalog, shadow)) == [
        ("gamma/open-70b", 0, "chat-large")
    ]


def test_a_tenant_alias_comes_before_the_platforms(small_catalog: Catalog) -> None:
    stack = PolicyStack(
        parse_policy({"aliases": {"fast": ["chat-large"], "cheap": ["chat-small"]}}),
        parse_policy({"aliases": {"fast": ["open-70b"]}}),
    )
    assert [r.deployment.id for r in resolve("fast", small_catalog, stack.effective)] == [
        "alpha/open-70b",
        "gamma/open-70b",
    ]
    # The platform's other aliases still apply.
    assert [r.deployment.id for r in resolve("cheap", small_catalog, stack.effective)] == [
        "alpha/chat-small",
        "beta/chat-small",
    ]


def test_a_deployment_named_twice_keeps_its_first_position(small_catalog: Catalog) -> None:
    policy = PolicyStack(
        parse_policy({"aliases": {"mine": ["beta/chat-small", "chat-small", "open-70b"]}})
    ).effective
    assert found(resolve("mine", small_catalog, policy)) == [
        ("beta/chat-small", 0, "mine"),
        ("alpha/chat-small", 1, "mine"),
        ("alpha/open-70b", 2, "mine"),
        ("gamma/open-70b", 2, "mine"),
    ]


def test_unknown_names_suggest_close_ones(small_catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve("chat-lrge", small_catalog, NO_POLICY)
    error = caught.value
    assert error.name == "chat-lrge"
    assert error.suggestions == ("chat-large", "beta/chat-large")
    assert error.message == (
        "'chat-lrge' is not an alias, model or provider/model in the catalog; "
        "did you mean chat-large, beta/chat-large?"
    )
    assert error.to_dict() == {
        "code": "unknown_model",
        "message": error.message,
        "name": "chat-lrge",
        "suggestions": ["chat-large", "beta/chat-large"],
    }
    assert isinstance(error, LookupError)

    # Names are case-sensitive, but the suggestion finds the spelling.
    with pytest.raises(UnknownModelError) as caught:
        resolve("Chat-Large", small_catalog, NO_POLICY)
    assert caught.value.suggestions == ("chat-large",)

    with pytest.raises(UnknownModelError) as caught:
        resolve("zzz", small_catalog, NO_POLICY)
    assert caught.value.suggestions == ()
    assert "did you mean" not in caught.value.message


def test_a_pin_at_a_provider_that_lacks_the_model_is_unknown(small_catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve("gamma/chat-small", small_catalog, NO_POLICY)
    assert caught.value.name == "gamma/chat-small"


def test_a_policy_alias_with_an_unknown_target_names_the_target(small_catalog: Catalog) -> None:
    policy = PolicyStack(parse_policy({"aliases": {"team": ["chat-small", "chat-xl"]}})).effective
    with pytest.raises(UnknownModelError) as caught:
        resolve("team", small_catalog, policy)
    assert caught.value.name == "chat-xl"
