"""Normalised token usage: one convention for every provider.

``input_tokens`` is the total input, cache reads and writes included (the
OpenAI convention; Anthropic's separate counts are added up by the parsers).
``output_tokens`` is the total output, reasoning included (Gemini's separate
thought count is added by its parser). The other counts are parts of those
totals (the hierarchy is drawn in ``pricing.units``, whose table defines the
fields), so a token is never counted twice and never dropped.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from modelrouter.errors import InvalidInputError
from modelrouter.pricing.units import BY_USAGE_FIELD, PARTS, USAGE_FIELDS

__all__ = ["FIELDS", "Usage"]

# Every field of a Usage: the token counts of the unit table, then the request count.
FIELDS: tuple[str, ...] = (*USAGE_FIELDS, "requests")


@cache
def billing_order(priced: frozenset[str]) -> tuple[str, ...]:
    """Most specific first, so every part is known before its total."""
    return tuple(sorted(priced, key=lambda name: (-len(BY_USAGE_FIELD[name].dimensions), name)))


class Usage:
    """Token counts of one served request (``Usage(input_tokens=2000, output_tokens=300)``);
    every count defaults to 0 and ``requests`` to 1. Immutable."""

    __slots__ = FIELDS

    if TYPE_CHECKING:
        # The fields come from the unit table; each one is a whole number.
        def __getattr__(self, name: str) -> int: ...

    def __init__(self, **counts: int) -> None:
        unknown = sorted(set(counts) - set(FIELDS))
        if unknown:
            raise InvalidInputError(
                f"unknown usage field(s): {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}",
                field=unknown[0],
            )
        for name in FIELDS:
            value = counts.get(name, 1 if name == "requests" else 0)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInputError(
                    f"usage {name} must be a whole number, got {value!r}", field=name
                )
            if value < 0:
                raise InvalidInputError(f"usage {name} is negative ({value})", field=name)
            object.__setattr__(self, name, value)
        for name, parts in PARTS.items():
            total = getattr(self, name)
            for part in parts:
                if getattr(self, part) > total:
                    raise InvalidInputError(
                        f"inconsistent usage: {part} ({getattr(self, part)}) exceeds "
                        f"{name} ({total}), which includes it",
                        field=part,
                    )
        self.leaves(frozenset(USAGE_FIELDS))  # disjoint parts must fit their total too

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Usage is immutable: cannot set {name}")

    def _values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Usage):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value}"
            for name, value in zip(FIELDS, self._values(), strict=True)
            if value != (1 if name == "requests" else 0)
        )
        return f"Usage({shown})"

    def leaves(self, priced: frozenset[str]) -> dict[str, int]:
        """Tokens to bill under each priced field: its count less the priced
        parts inside it. Tokens of an unpriced part stay with the nearest
        priced total above it, so they are billed at that rate (a provider
        without a cache price bills cached tokens as input)."""
        counts = {name: getattr(self, name) for name in USAGE_FIELDS}
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
        return dict(zip(FIELDS, self._values(), strict=True))

    @classmethod
    def from_dict(cls, raw: Any) -> Usage:
        """Our normalised shape, as JSON; unknown keys are an error naming them."""
        if not isinstance(raw, dict):
            raise InvalidInputError("usage must be an object of token counts", field="usage")
        return cls(**raw)
