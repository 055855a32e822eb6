"""The runtime's capability feed: a report becomes a new catalog version, routed as it says."""

from __future__ import annotations

from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.runtime import (
    RuntimeReport,
    apply_report,
    parse_report,
    runtime_layer,
)
from modelrouter.errors import CatalogError, InvalidInputError, NoRouteError, UnknownModelError
from modelrouter.router import Router
from tests.conftest import FIXED_NOW


def _report(*deployments: dict[str, Any], force: bool = False) -> RuntimeReport:
    return parse_report({"deployments": list(deployments), "force": force})


def _apply(catalog: Catalog, *deployments: dict[str, Any], force: bool = False) -> Catalog:
    new, _ = apply_report(catalog, _report(*deployments, force=force), at=FIXED_NOW)
    return new


def _routes(catalog: Catalog, model: str, **request: Any) -> list[str]:
    plan = Router(catalog, clock=lambda: FIXED_NOW).route(
        {"model": model, "input_tokens": 1000, **request}
    )
    return [plan.primary.deployment, *(c.deployment for c in plan.fallbacks)]


def test_removing_one_of_two_deployments_routes_only_the_other(small_catalog: Catalog) -> None:
    assert sorted(_routes(small_catalog, "budget")) == [
        "alpha/chat-small",
        "beta/chat-small",
        "gamma/open-70b",
    ]
    new, problems = apply_report(
        small_catalog,
        _report({"id": "beta/chat-small", "available": False}),
        at=FIXED_NOW,
    )

    assert problems == []
    assert "beta/chat-small" not in new.deployments
    assert sorted(_routes(new, "budget")) == ["alpha/chat-small", "gamma/open-70b"]
    assert _routes(new, "chat-small") == ["alpha/chat-small"]
    assert new.sources == (*small_catalog.sources, "runtime")


def test_the_new_version_is_the_hash_of_its_content(small_catalog: Catalog) -> None:
    new = _apply(small_catalog, {"id": "beta/chat-small", "available": False})

    assert new.version != small_catalog.version
    assert Catalog.from_content(new.content()).version == new.version
    # Removal is content, not history: the same catalog written by hand has the same version.
    by_hand = small_catalog.content()
    del by_hand["models"]["chat-small"]["deployments"]["beta"]
    assert Catalog.from_content(by_hand).version == new.version


def test_a_plan_on_the_new_catalog_replays(small_catalog: Catalog) -> None:
    new = _apply(
        small_catalog,
        {"id": "alpha/chat-small", "available": False},
        {"id": "beta/chat-small", "context_window": 64000},
    )
    router = Router(new, clock=lambda: FIXED_NOW)
    plan = router.route({"model": "budget", "input_tokens": 40000})
    assert plan.snapshot is not None
    assert plan.catalog_version == new.version

    reloaded = Catalog.from_content(new.content())
    assert Router(reloaded, clock=lambda: FIXED_NOW).replay(plan.snapshot).matched


def test_removing_the_last_deployment_of_an_alias_names_it(small_catalog: Catalog) -> None:
    document = small_catalog.content()
    document["aliases"]["edge"] = ["gamma/open-70b"]
    catalog = Catalog.from_content(document)
    report = _report({"id": "gamma/open-70b", "available": False})

    with pytest.raises(CatalogError) as caught:
        apply_report(catalog, report, at=FIXED_NOW)

    assert caught.value.entry == "aliases.edge"
    assert "alias 'edge' is gone from the new catalog" in caught.value.message
    assert "it routed to gamma/open-70b" in caught.value.message
    assert "force" in caught.value.message


def test_force_applies_it_and_returns_the_problems(small_catalog: Catalog) -> None:
    document = small_catalog.content()
    document["aliases"]["edge"] = ["gamma/open-70b"]
    catalog = Catalog.from_content(document)

    new, problems = apply_report(
        catalog, _report({"id": "gamma/open-70b", "available": False}, force=True), at=FIXED_NOW
    )

    assert [(p.code, p.subject) for p in problems] == [("alias_emptied", "edge")]
    assert "edge" not in new.aliases
    with pytest.raises(UnknownModelError):
        _routes(new, "edge")
    # Another alias that named it keeps its other targets.
    assert new.aliases["budget"].targets == ("chat-small",)
    assert Catalog.from_content(new.content()).version == new.version


def test_removing_every_deployment_of_a_model_an_alias_names_is_refused(
    small_catalog: Catalog,
) -> None:
    report = _report(
        {"id": "alpha/open-70b", "available": False},
        {"id": "gamma/open-70b", "available": False},
    )
    with pytest.raises(CatalogError, match="model 'open-70b' has no deployment left") as caught:
        apply_report(small_catalog, report, at=FIXED_NOW)
    assert "alias 'smart'" in caught.value.message

    forced = report.model_copy(update={"force": True})
    new, problems = apply_report(small_catalog, forced, at=FIXED_NOW)
    assert [p.code for p in problems] == ["model_removed"]
    assert new.aliases["smart"].targets == ("chat-large",)
    # The model stays (its facts serve a deployment that comes back), without deployments.
    assert "open-70b" in new.models and new.deployments_of("open-70b") == ()


def test_a_context_window_report_changes_what_a_long_request_gets(
    small_catalog: Catalog,
) -> None:
    with pytest.raises(NoRouteError, match="context_window_too_small"):
        _routes(small_catalog, "chat-small", input_tokens=40000)

    new = _apply(small_catalog, {"id": "beta/chat-small", "context_window": 64000})

    assert _routes(new, "chat-small", input_tokens=40000) == ["beta/chat-small"]
    assert new.deployments["alpha/chat-small"].context_window == 32000


def test_capabilities_and_regions_change_field_by_field(small_catalog: Catalog) -> None:
    new = _apply(
        small_catalog,
        {"id": "alpha/chat-large", "capabilities": {"tools": False}, "regions": ["eu"]},
    )
    deployment = new.deployments["alpha/chat-large"]
    assert deployment.capabilities.tools is False
    assert deployment.capabilities.vision is True  # not in the report: unchanged
    assert deployment.regions == ("eu",)
    assert deployment.prices == small_catalog.deployments["alpha/chat-large"].prices


def test_a_new_deployment_of_a_known_provider_and_model(small_catalog: Catalog) -> None:
    report = _report({"id": "gamma/chat-small", "max_output_tokens": 2048})

    assert runtime_layer(small_catalog, report) == {
        "models": {"chat-small": {"deployments": {"gamma": {"max_output_tokens": 2048}}}}
    }
    new, _ = apply_report(small_catalog, report, at=FIXED_NOW)
    added = new.deployments["gamma/chat-small"]
    assert (added.provider, added.model, added.max_output_tokens) == ("gamma", "chat-small", 2048)
    assert added.context_window == 32000  # the model's
    assert added.regions == ("eu",)  # the provider's
    assert added.prices is None  # until a price source names it


def test_the_layer_over_the_catalog_is_the_applied_report(small_catalog: Catalog) -> None:
    report = _report(
        {"id": "beta/chat-small", "context_window": 64000},
        {"id": "gamma/chat-small"},
        {"id": "alpha/chat-large"},  # available, nothing else: no change
    )
    layer = runtime_layer(small_catalog, report)
    assert "chat-large" not in layer["models"]
    layered = small_catalog.layered("runtime", layer)
    new, _ = apply_report(small_catalog, report, at=FIXED_NOW)
    assert layered.version == new.version


def test_a_layer_cannot_remove(small_catalog: Catalog) -> None:
    report = _report({"id": "beta/chat-small", "available": False})
    with pytest.raises(CatalogError, match="cannot remove") as caught:
        runtime_layer(small_catalog, report)
    assert caught.value.field == "deployments[0].available"


@pytest.mark.parametrize(
    ("deployment_id", "reason"),
    [
        ("delta/chat-small", "provider 'delta' is not in the catalog"),
        ("alpha/chat-huge", "model 'chat-huge' is not in the catalog"),
        ("chat-huge", "it is not provider/model"),
    ],
)
def test_an_unknown_deployment_is_named(
    small_catalog: Catalog, deployment_id: str, reason: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        apply_report(small_catalog, _report({"id": deployment_id}), at=FIXED_NOW)
    assert caught.value.field == "deployments[0].id"
    assert repr(deployment_id) in caught.value.message
    assert reason in caught.value.message


def test_a_report_sent_again_changes_nothing(small_catalog: Catalog) -> None:
    report = _report({"id": "beta/chat-small", "available": False})
    once, _ = apply_report(small_catalog, report, at=FIXED_NOW)
    twice, problems = apply_report(once, report, at=FIXED_NOW)
    assert twice.version == once.version
    assert problems == []


def test_a_report_that_changes_nothing_keeps_the_version(small_catalog: Catalog) -> None:
    new = _apply(small_catalog, {"id": "alpha/chat-large"})
    assert new.version == small_catalog.version


@pytest.mark.parametrize(
    ("raw", "field", "why"),
    [
        ({"deployments": []}, "deployments", "at least 1"),
        ({"deployments": [{"id": "alpha/chat-large", "speed": 1}]}, "deployments[0].speed", ""),
        ({"deployments": [{"id": "a/b", "context_window": "64000"}]}, "[0].context_window", ""),
        ({"deployments": [{"id": "a/b", "context_window": 0}]}, "[0].context_window", ""),
        ({"deployments": [{"id": "a/b", "available": "no"}]}, "[0].available", ""),
        ({"deployments": [{"id": "a/b", "capabilities": {"flying": True}}]}, "flying", ""),
        ({"deployments": [{"id": "a b"}]}, "deployments[0].id", ""),
        ({"deployments": [{"id": "a/b", "regions": []}]}, "deployments[0].regions", ""),
        (
            {"deployments": [{"id": "a/b", "available": False, "context_window": 5}]},
            "deployments[0]",
            "takes no other fields",
        ),
        ({"deployments": [{"id": "a/b"}, {"id": "a/b"}]}, "deployments", "listed twice"),
        ({"deployments": [{"id": "a/b"}] * 1001}, "deployments", "at most 1000"),
    ],
)
def test_validation_names_the_field(raw: dict[str, Any], field: str, why: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_report(raw)
    assert caught.value.field is not None
    assert field in caught.value.field
    assert why in caught.value.message


def test_the_bundled_catalog_takes_a_report(bundled: Catalog) -> None:
    # A deployment of an alias whose model keeps another deployment: nothing is emptied.
    alias, gone = next(
        (name, deployment.id)
        for name in sorted(bundled.aliases)
        for deployment in bundled.alias_deployments(name) or ()
        if len(bundled.deployments_of(deployment.model)) >= 2
    )
    before = {d.id for d in bundled.alias_deployments(alias) or ()}

    new, problems = apply_report(bundled, _report({"id": gone, "available": False}), at=FIXED_NOW)

    assert problems == []
    assert gone not in new.deployments
    assert {d.id for d in new.alias_deployments(alias) or ()} == before - {gone}
    assert Catalog.from_content(new.content()).version == new.version
