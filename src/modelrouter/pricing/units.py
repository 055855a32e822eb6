"""The one table of price units.

Everything that names a price unit reads it from ``UNITS``: the ``Usage``
fields, the price sheet, the catalog schema (``prices: {input: ..., ...}``),
the components of a cost, and the genai-prices and LiteLLM importers. Adding
a unit is one row here plus its data.

A unit prices the tokens of one usage field. Its ``dimensions`` place it in
the usage hierarchy: a unit whose dimensions include another's counts a part
of the other's tokens (a cache read is part of the input), so a token is
billed exactly once, at its most specific priced unit::

    input_tokens                          output_tokens
    +- cache_read_tokens                  +- reasoning_tokens
    |  `- cache_audio_read_tokens         +- output_audio_tokens
    +- cache_write_tokens (all TTLs)      `- output_image_tokens
    |  `- cache_write_1h_tokens
    +- input_audio_tokens
    |  `- cache_audio_read_tokens
    `- input_image_tokens

Token rates are USD per million tokens; ``request`` is USD per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BY_NAME",
    "BY_USAGE_FIELD",
    "INPUT_SIDE",
    "OUTPUT_SIDE",
    "PARTS",
    "TOKEN_UNITS",
    "UNITS",
    "UNIT_NAMES",
    "USAGE_FIELDS",
    "PriceUnit",
]


@dataclass(frozen=True, slots=True)
class PriceUnit:
    name: str  # price sheet and catalog key
    side: Literal["input", "output", "request"]
    usage_field: str | None  # the Usage count it prices; None for the per-request fee
    dimensions: frozenset[str]
    component: str  # its name in a cost breakdown
    genai: str | None  # genai-prices' ModelPrice field
    litellm: str | None  # LiteLLM's cost-map field (USD per token, per request for ``request``)
    genai_per: int = 1  # genai-prices prices this unit per this many


def _unit(
    name: str,
    side: Literal["input", "output", "request"],
    usage_field: str | None,
    dimensions: set[str],
    *,
    component: str | None = None,
    genai: str | None = None,
    litellm: str | None = None,
    genai_per: int = 1,
) -> PriceUnit:
    return PriceUnit(
        name,
        side,
        usage_field,
        frozenset(dimensions),
        component or name,
        genai if genai is not None else f"{name}_mtok",
        litellm,
        genai_per,
    )


UNITS: tuple[PriceUnit, ...] = (
    _unit("input", "input", "input_tokens", {"input"}, litellm="input_cost_per_token"),
    _unit(
        "cache_read",
        "input",
        "cache_read_tokens",
        {"input", "cache_read"},
        litellm="cache_read_input_token_cost",
    ),
    _unit(
        "cache_write",
        "input",
        "cache_write_tokens",
        {"input", "cache_write"},
        litellm="cache_creation_input_token_cost",
    ),
    _unit(
        "cache_write_1h",
        "input",
        "cache_write_1h_tokens",
        {"input", "cache_write", "1h"},
        litellm="cache_creation_input_token_cost_above_1hr",
    ),
    _unit(
        "input_audio",
        "input",
        "input_audio_tokens",
        {"input", "audio"},
        litellm="input_cost_per_audio_token",
    ),
    _unit(
        "cache_audio_read",
        "input",
        "cache_audio_read_tokens",
        {"input", "audio", "cache_read"},
        litellm="cache_read_input_audio_token_cost",
    ),
    _unit(
        "input_image",
        "input",
        "input_image_tokens",
        {"input", "image"},
        litellm="input_cost_per_image_token",
    ),
    _unit("output", "output", "output_tokens", {"output"}, litellm="output_cost_per_token"),
    # Cost breakdowns have always called this component "reasoning".
    _unit(
        "output_reasoning",
        "output",
        "reasoning_tokens",
        {"output", "reasoning"},
        component="reasoning",
        litellm="output_cost_per_reasoning_token",
    ),
    _unit(
        "output_audio",
        "output",
        "output_audio_tokens",
        {"output", "audio"},
        litellm="output_cost_per_audio_token",
    ),
    _unit(
        "output_image",
        "output",
        "output_image_tokens",
        {"output", "image"},
        litellm="output_cost_per_image_token",
    ),
    _unit(
        "request",
        "request",
        None,
        set(),
        genai="requests_kcount",
        genai_per=1000,
        litellm="input_cost_per_request",
    ),
)

UNIT_NAMES: tuple[str, ...] = tuple(unit.name for unit in UNITS)
BY_NAME: dict[str, PriceUnit] = {unit.name: unit for unit in UNITS}
INPUT_SIDE: tuple[str, ...] = tuple(unit.name for unit in UNITS if unit.side == "input")
OUTPUT_SIDE: tuple[str, ...] = tuple(unit.name for unit in UNITS if unit.side == "output")
TOKEN_UNITS: tuple[str, ...] = (*INPUT_SIDE, *OUTPUT_SIDE)
# Token counts of a Usage, in table order.
USAGE_FIELDS: tuple[str, ...] = tuple(u.usage_field for u in UNITS if u.usage_field is not None)
BY_USAGE_FIELD: dict[str, PriceUnit] = {
    unit.usage_field: unit for unit in UNITS if unit.usage_field is not None
}
# For each usage field, the fields that are parts of it (directly or not).
PARTS: dict[str, tuple[str, ...]] = {
    name: tuple(
        other
        for other, inner in BY_USAGE_FIELD.items()
        if other != name and unit.dimensions < inner.dimensions
    )
    for name, unit in BY_USAGE_FIELD.items()
}
