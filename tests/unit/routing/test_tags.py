"""Tags: a request's tags select deployments carrying all of them, with
LiteLLM's ``default`` semantics, and policies may require or deny tags."""

from __future__ import annotations

from typing import Any

import pytest

from modelrouter import Catalog, NoRouteError, Router
from modelrouter.policy.document import parse_policy


def _catalog(tags: dict[str, list[str]]) -> Catalog:
    deployments: dict[str, dict[str, Any]] = {
        name: {"prices": {"input": str(i + 1), "output": str(2 * i + 2)}, "tags": tags[name]}
        for i, name in enumerate(sorted(tags))
    }
    return Catalog.from_layers(
        [
            (
                "test",
                {
                    "providers": {name: {"regions": ["us"]} for name in tags},
                    "models": {
                        "chat": {
                            "vendor": "acme",
                            "context_window": 100_000,
                            "deployments": deployments,
                        }
                    },
                },
            )
        ]
    )


def _route(router: Router, **extra: Any) -> Any:
    return router.route(
        {"model": "chat", "input_tokens": 100, "request_id": "r1", "strategy": "cheapest", **extra}
    )


def _hops(plan: Any) -> list[str]:
    return [c.deployment for c in plan.chain]


def test_a_tagged_request_uses_only_deployments_carrying_all_its_tags() -> None:
    router = Router(_catalog({"a": ["eu", "paid"], "b": ["eu"], "c": ["paid", "eu", "gpu"]}))
    plan = _route(router, tags=["eu", "paid"])
    assert _hops(plan) == ["a/chat", "c/chat"]
    (fell,) = plan.rejected
    assert fell.deployment == "b/chat"
    assert fell.code == "tag_mismatch"
    assert "asks for [eu, paid]" in fell.message


def test_no_match_falls_back_to_default_tagged_deployments_with_a_note() -> None:
    router = Router(_catalog({"a": ["default"], "b": ["eu"], "c": []}))
    plan = _route(router, tags=["gpu"])
    assert _hops(plan) == ["a/chat"]
    assert any("tagged 'default' serve" in note for note in plan.notes)
    assert {r.deployment for r in plan.rejected} == {"b/chat", "c/chat"}


def test_no_match_and_no_default_is_no_route_with_tag_mismatch() -> None:
    router = Router(_catalog({"a": ["eu"], "b": []}))
    with pytest.raises(NoRouteError) as caught:
        _route(router, tags=["gpu"])
    assert {r.code for r in caught.value.rejections} == {"tag_mismatch"}


def test_untagged_requests_prefer_default_tagged_deployments() -> None:
    # ``a`` is the cheapest, but ``c`` is tagged default: it serves first.
    router = Router(_catalog({"a": [], "b": ["eu"], "c": ["default"]}))
    plan = _route(router)
    assert _hops(plan)[0] == "c/chat"
    assert set(_hops(plan)) == {"a/chat", "b/chat", "c/chat"}
    # Without any default tag, tags change nothing.
    plain = _route(Router(_catalog({"a": [], "b": ["eu"], "c": ["x"]})))
    assert _hops(plain)[0] == "a/chat"


def test_policies_require_and_deny_tags_and_the_rejection_names_the_layer() -> None:
    catalog = _catalog({"a": ["eu"], "b": ["eu", "preview"], "c": ["us"]})
    platform = parse_policy({"tags": {"deny": ["preview"]}})
    tenant = parse_policy({"tags": {"require": ["eu"]}})
    router = Router(catalog, platform_policy=platform)
    plan = router.route(
        {"model": "chat", "input_tokens": 100, "request_id": "r1", "tenant_id": "t1"},
        tenant_policy=tenant,
    )
    assert _hops(plan) == ["a/chat"]
    by_deployment = {r.deployment: r for r in plan.rejected}
    assert by_deployment["b/chat"].code == "tag_denied"
    assert by_deployment["b/chat"].rule == "platform"
    assert by_deployment["c/chat"].code == "tag_mismatch"
    assert by_deployment["c/chat"].rule == "tenant"


def test_a_tenant_cannot_lift_the_platforms_tag_rules() -> None:
    catalog = _catalog({"a": ["preview"], "b": []})
    platform = parse_policy({"tags": {"deny": ["preview"]}})
    tenant = parse_policy({"tags": {"require": []}})
    plan = Router(catalog, platform_policy=platform).route(
        {"model": "chat", "input_tokens": 100, "request_id": "r1", "tenant_id": "t1"},
        tenant_policy=tenant,
    )
    assert _hops(plan) == ["b/chat"]


def test_tagged_plans_replay_exactly() -> None:
    router = Router(_catalog({"a": ["default"], "b": ["eu"]}))
    plan = _route(router, tags=["eu"])
    assert plan.snapshot is not None
    assert router.replay(plan.snapshot).matched
