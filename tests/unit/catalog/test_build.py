from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import CatalogError
from tests.conftest import small_document


def test_version_is_a_content_hash() -> None:
    first = Catalog.from_layers([("a", small_document())])
    again = Catalog.from_layers([("b", small_document())])
    assert first.version == again.version  # the source name is not content

    changed = small_document()
    changed["models"]["chat-small"]["deployments"]["beta"]["prices"]["input"] = "0.11"
    assert Catalog.from_layers([("a", changed)]).version != first.version


def test_version_ignores_key_order_and_number_spelling() -> None:
    doc = small_document()
    reordered = {"aliases": doc["aliases"], "models": doc["models"], "providers": doc["providers"]}
    respelled = copy.deepcopy(reordered)
    respelled["models"]["chat-small"]["deployments"]["beta"]["prices"]["input"] = "0.10"
    assert (
        Catalog.from_layers([("x", doc)]).version == Catalog.from_layers([("y", respelled)]).version
    )


def test_later_layer_overrides_field_by_field(small_catalog: Catalog) -> None:
    layered = small_catalog.layered(
        "override",
        {"models": {"chat-small": {"deployments": {"beta": {"prices": {"input": "0.05"}}}}}},
    )
    sheet = layered.deployments["beta/chat-small"].prices
    assert sheet is not None
    rates = sheet.rules[0].sheet
    assert rates.input is not None and rates.input.base == Decimal("0.05")
    # Untouched fields survive from the lower layer.
    assert layered.deployments["beta/chat-small"].context_window == 32000
    assert layered.version != small_catalog.version
    assert "override" in layered.sources


def test_deployment_inherits_model_and_provider_fields(small_catalog: Catalog) -> None:
    d = small_catalog.deployments["gamma/chat-large"]
    assert d.context_window == 128000
    assert d.regions == ("eu",)
    assert d.capabilities.json_schema is False  # the deployment overrides its model
    assert d.capabilities.vision is True
    assert small_catalog.deployments["beta/chat-large"].data.zero_data_retention is True


def test_capability_unknown_stays_unknown(small_catalog: Catalog) -> None:
    assert small_catalog.deployments["alpha/open-70b"].capabilities.vision is None


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (
            {"models": {"m": {"deployments": {"p": {"prices": {"input": "-1"}}}}}},
            "entry models.m, field deployments.p.prices",
        ),
        (
            {"models": {"m": {"contxt_window": 5}}},
            "entry models.m, field contxt_window: unknown field",
        ),
        ({"models": {"m": {"context_window": 0}}}, "field context_window"),
        ({"aliases": {"a": ["nowhere"]}}, "aliases.a"),
        ({"models": {"m": {}}, "aliases": {"a": {"targets": []}}}, "aliases.a"),
        (
            {"models": {"m": {"deployments": {"p": {"genai": {"provider": "x", "model": "y"}}}}}},
            "genai-prices has no chat price",
        ),
    ],
)
def test_errors_name_source_entry_and_field(patch: dict[str, object], expected: str) -> None:
    with pytest.raises(CatalogError) as caught:
        Catalog.from_layers([("my-file.yaml", patch)])
    assert expected in str(caught.value)
    if "aliases" not in expected and "same name" not in expected:
        assert "source my-file.yaml" in str(caught.value)


def test_tiers_must_ascend() -> None:
    bad = {
        "models": {
            "m": {
                "deployments": {
                    "p": {
                        "prices": {
                            "input": {
                                "base": "1",
                                "tiers": [
                                    {"above_input_tokens": 200000, "rate": "2"},
                                    {"above_input_tokens": 100000, "rate": "3"},
                                ],
                            },
                            "output": "1",
                        }
                    }
                }
            }
        }
    }
    with pytest.raises(CatalogError, match="ascending"):
        Catalog.from_layers([("tiers.yaml", bad)])


def test_from_content_round_trips(small_catalog: Catalog) -> None:
    rebuilt = Catalog.from_content(small_catalog.content())
    assert rebuilt.version == small_catalog.version
    assert set(rebuilt.deployments) == set(small_catalog.deployments)


def test_alias_resolution_is_indexed(small_catalog: Catalog) -> None:
    smart = small_catalog.alias_deployments("smart")
    assert smart is not None
    assert [d.id for d in smart] == [
        "alpha/chat-large",
        "beta/chat-large",
        "gamma/chat-large",
        "alpha/open-70b",
        "gamma/open-70b",
    ]
    assert [d.id for d in small_catalog.lookup_target("gamma/open-70b")] == ["gamma/open-70b"]
