"""The unit table drives every place that names a price unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from modelrouter.catalog.build import validate_layer
from modelrouter.catalog.prices import PriceSheet, Rate
from modelrouter.catalog.schema import RatesSpec
from modelrouter.catalog.sources.genai import _GENAI_UNITS
from modelrouter.catalog.sources.litellm.fields import _UNITS as LITELLM_UNITS
from modelrouter.errors import CatalogError, InvalidInputError
from modelrouter.pricing.units import PARTS, UNIT_NAMES, UNITS, USAGE_FIELDS
from modelrouter.pricing.usage import FIELDS, Usage


def test_every_consumer_reads_the_table() -> None:
    assert (*USAGE_FIELDS, "requests") == FIELDS
    assert tuple(RatesSpec.model_fields) == UNIT_NAMES
    assert sorted(name for name, _ in _GENAI_UNITS.values()) == sorted(UNIT_NAMES)
    assert sorted(LITELLM_UNITS.values()) == sorted(UNIT_NAMES)
    sheet = PriceSheet(**{name: Rate(Decimal(i + 1)) for i, name in enumerate(UNIT_NAMES)})
    assert sheet.units() == UNIT_NAMES
    assert sheet.priced_usage == frozenset(USAGE_FIELDS)


def test_the_hierarchy_comes_from_dimensions() -> None:
    assert PARTS["input_tokens"] == (
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "input_audio_tokens",
        "cache_audio_read_tokens",
        "input_image_tokens",
    )
    assert PARTS["cache_write_tokens"] == ("cache_write_1h_tokens",)
    assert PARTS["output_tokens"] == (
        "reasoning_tokens",
        "output_audio_tokens",
        "output_image_tokens",
    )
    assert all(unit.component for unit in UNITS)


def test_unknown_units_are_named() -> None:
    with pytest.raises(ValueError, match=r"unknown price unit.*cache_reed"):
        PriceSheet(cache_reed=Rate(Decimal(1)))
    with pytest.raises(InvalidInputError, match=r"unknown usage field.*cached_tokens"):
        Usage(cached_tokens=3)
    layer = {
        "models": {"m": {"vendor": "v", "deployments": {"p": {"prices": {"cache_reed": "1"}}}}}
    }
    with pytest.raises(CatalogError, match="cache_reed"):
        validate_layer("test.yaml", layer)


def test_usage_is_an_immutable_value() -> None:
    usage = Usage(input_tokens=10, cache_read_tokens=4, output_tokens=3)
    assert usage == Usage.from_dict(usage.to_dict())
    assert hash(usage) == hash(Usage.from_dict(usage.to_dict()))
    assert repr(usage) == "Usage(input_tokens=10, cache_read_tokens=4, output_tokens=3)"
    with pytest.raises(AttributeError):
        usage.input_tokens = 11
