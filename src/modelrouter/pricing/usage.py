"""Normalised token usage: one convention for every provider.

``input_tokens`` is the total input, cache reads and writes included (the
OpenAI convention; Anthropic's separate counts are added up by the parsers).
``output_tokens`` is the total output, reasoning included (Gemini's separate
thought count is added by its parser). The other counts are parts of those
totals, so a token is never counted twice and never dropped:

    input_tokens                          output_tokens
    +- cache_read_tokens                  +- reasoning_tokens
    |  `- cache_audio_read_tokens         +- output_audio_tokens
    +- cache_write_tokens (all TTLs)      `- output_image_tokens
    |  `- cache_write_1h_tokens
    +- input_audio_tokens
    |  `- cache_audio_read_tokens
    `- input_image_tokens
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from modelrouter.errors import InvalidInputError

__all__ = ["PARTS", "USAGE_UNITS", "Usage"]

# usage field -> (price unit, its dimensions). A unit is part of another when
# its dimensions include the other's; that is the whole hierarchy above.
USAGE_UNITS: dict[str, tuple[str, frozenset[str]]] = {
    "input_tokens": ("input", frozenset({"input"})),
    "cache_read_tokens": ("cache_read", frozenset({"input", "cache_read"})),
    "cache_write_tokens": ("cache_write", frozenset({"input", "cache_write"})),
    "cache_write_1h_tokens": ("cache_write_1h", frozenset({"input", "cache_write", "1h"})),
    "input_audio_tokens": ("input_audio", frozenset({"input", "audio"})),
    "cache_audio_read_tokens": ("cache_audio_read", frozenset({"input", "audio", "cache_read"})),
    "input_image_tokens": ("input_image", frozenset({"input", "image"})),
    "output_tokens": ("output", frozenset({"output"})),
    "reasoning_tokens": ("output_reasoning", frozenset({"output", "reasoning"})),
    "output_audio_tokens": ("output_audio", frozenset({"output", "audio"})),
    "output_image_tokens": ("output_image", frozenset({"output", "image"})),
}

# For each field, the fields that are parts of it (directly or not).
PARTS: dict[str, tuple[str, ...]] = {
    name: tuple(
        other
        for other, (_, other_dims) in USAGE_UNITS.items()
        if other != name and dims < other_dims
    )
    for name, (_, dims) in USAGE_UNITS.items()
}


@cache
def billing_order(priced: frozenset[str]) -> tuple[str, ...]:
    """Most specific first, so every part is known before its total."""
    return tuple(sorted(priced, key=lambda name: (-len(USAGE_UNITS[name][1]), name)))


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    input_audio_tokens: int = 0
    cache_audio_read_tokens: int = 0
    input_image_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    output_audio_tokens: int = 0
    output_image_tokens: int = 0
    requests: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInputError(
                    f"usage {f.name} must be a whole number, got {value!r}", field=f.name
                )
            if value < 0:
                raise InvalidInputError(f"usage {f.name} is negative ({value})", field=f.name)
        for name, parts in PARTS.items():
            total = getattr(self, name)
            for part in parts:
                if getattr(self, part) > total:
                    raise InvalidInputError(
                        f"inconsistent usage: {part} ({getattr(self, part)}) exceeds "
                        f"{name} ({total}), which includes it",
                        field=part,
                    )
        self.leaves(frozenset(USAGE_UNITS))  # disjoint parts must fit their total too

    def leaves(self, priced: frozenset[str]) -> dict[str, int]:
        """Tokens to bill under each priced field: its count less the priced
        parts inside it. Tokens of an unpriced part stay with the nearest
        priced total above it, so they are billed at that rate (a provider
        without a cache price bills cached tokens as input)."""
        counts = {name: getattr(self, name) for name in USAGE_UNITS}
        shared = "cache_audio_read_tokens"
        if shared not in priced and {"cache_read_tokens", "input_audio_tokens"} <= priced:
            # Cached audio sits inside both cache reads and audio input; with no
            # price of its own it is billed once, as a cache read.
            counts["input_audio_tokens"] -= counts[shared]
        leaves: dict[str, int] = {}
        for name in billing_order(priced):
            inner = sum(leaves[part] for part in PARTS[name] if part in leaves)
            leaf = counts[name] - inner
            if leaf < 0:
                parts = ", ".join(part for part in PARTS[name] if getattr(self, part))
                raise InvalidInputError(
                    f"inconsistent usage: {parts} add up to {inner}, more than "
                    f"{name} ({getattr(self, name)}), which includes them",
                    field=name,
                )
            leaves[name] = leaf
        return leaves

    def count(self, name: str) -> int:
        value: int = getattr(self, name)
        return value

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, raw: Any) -> Usage:
        """Our normalised shape, as JSON; unknown keys are an error naming them."""
        if not isinstance(raw, dict):
            raise InvalidInputError("usage must be an object of token counts", field="usage")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidInputError(
                f"unknown usage field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                field=unknown[0],
            )
        return cls(**raw)
