"""Price sheets and schedules: which rates are in force for a request.

Rates are USD per million tokens (``request`` is USD per request). A rate may
have cliff tiers: once the request's total input passes a tier's threshold the
whole request is billed at that tier, not just the tokens above it.

A schedule is a list of rules. Rules without ``when`` form the price history:
the last one in force at the request's time wins (a rule with neither a start
date nor a daily window is always in force); when none is, the first applies.
Rules with ``when`` are price-context variants (``processing: batch``,
``service_tier: flex``): each one that matches the context overrides, unit by
unit, the units it names; earlier variants take precedence. These are the
semantics of genai-prices, so costs agree with it to the last digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from modelrouter.pricing.units import INPUT_SIDE, OUTPUT_SIDE, UNIT_NAMES, UNITS

__all__ = [
    "PriceRule",
    "PriceSchedule",
    "PriceSheet",
    "Rate",
    "ResolvedPrice",
]


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate with optional cliff tiers: ``tiers`` is ((threshold, rate), ...)
    ascending; a tier applies when total input tokens exceed its threshold."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()

    def at(self, total_input_tokens: int) -> Decimal:
        for threshold, rate in reversed(self.tiers):
            if total_input_tokens > threshold:
                return rate
        return self.base

    def tier_label(self, total_input_tokens: int) -> str | None:
        for threshold, _ in reversed(self.tiers):
            if total_input_tokens > threshold:
                return f">{threshold}"
        return None


def _flat_max(rates: tuple[Rate, ...]) -> Decimal | None:
    if not rates or any(rate.tiers for rate in rates):
        return None
    return max(rate.base for rate in rates)


class PriceSheet:
    """The rates of one price rule, by unit name (the units of
    ``pricing.units``): ``PriceSheet(input=Rate(...), output=Rate(...))``.
    Immutable; units without a rate are unpriced."""

    __slots__ = (
        "_flat_input",
        "_flat_output",
        "_hash",
        "_rates",
        "cache_read",
        "input",
        "input_side",
        "output",
        "output_side",
        "priced_usage",
        "request",
    )
    _rates: dict[str, Rate]
    _hash: int
    _flat_input: Decimal | None
    _flat_output: Decimal | None
    # The units the estimate reads per candidate, as attributes for speed.
    input: Rate | None
    cache_read: Rate | None
    output: Rate | None
    request: Rate | None
    # Every rate a request's input or output tokens can be billed at, for the worst case.
    input_side: tuple[Rate, ...]
    output_side: tuple[Rate, ...]
    # The usage fields this sheet prices (the rest bill at the total that includes them).
    priced_usage: frozenset[str]

    def __init__(self, **rates: Rate | None) -> None:
        unknown = sorted(set(rates) - set(UNIT_NAMES))
        if unknown:
            raise ValueError(
                f"unknown price unit(s): {', '.join(unknown)}; known: {', '.join(UNIT_NAMES)}"
            )
        present = {unit: rate for unit in UNIT_NAMES if (rate := rates.get(unit)) is not None}
        setattr_ = object.__setattr__
        setattr_(self, "_rates", present)
        setattr_(self, "_hash", hash(tuple(present.items())))
        for unit in ("input", "cache_read", "output", "request"):
            setattr_(self, unit, present.get(unit))
        input_side = tuple(present[u] for u in INPUT_SIDE if u in present)
        output_side = tuple(present[u] for u in OUTPUT_SIDE if u in present)
        setattr_(self, "input_side", input_side)
        setattr_(self, "output_side", output_side)
        # Without tiers the dearest rate of a side never changes: compute it once.
        setattr_(self, "_flat_input", _flat_max(input_side))
        setattr_(self, "_flat_output", _flat_max(output_side))
        setattr_(
            self,
            "priced_usage",
            frozenset(
                unit.usage_field
                for unit in UNITS
                if unit.usage_field is not None and unit.name in present
            ),
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"PriceSheet is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PriceSheet):
            return NotImplemented
        return self._rates == other._rates

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"PriceSheet({', '.join(f'{u}={r!r}' for u, r in self._rates.items())})"

    def rate(self, unit: str) -> Rate | None:
        return self._rates.get(unit)

    def dearest_input(self, total_input_tokens: int) -> Decimal:
        """The highest rate any input token can be billed at, at this tier."""
        if self._flat_input is not None:
            return self._flat_input
        return max(rate.at(total_input_tokens) for rate in self.input_side)

    def dearest_output(self, total_input_tokens: int) -> Decimal:
        if self._flat_output is not None:
            return self._flat_output
        return max(rate.at(total_input_tokens) for rate in self.output_side)

    def units(self) -> tuple[str, ...]:
        return tuple(self._rates)

    def overlay(self, other: PriceSheet, skip: set[str]) -> tuple[PriceSheet, set[str]]:
        """Units of ``other`` replace ours, except those already in ``skip``."""
        changes = {unit: rate for unit, rate in other._rates.items() if unit not in skip}
        return PriceSheet(**{**self._rates, **changes}), skip | set(changes)


@dataclass(frozen=True, slots=True)
class PriceRule:
    sheet: PriceSheet
    effective_from: date | None = None
    # A daily window in UTC, [start, end); end before start wraps past midnight.
    daily_utc: tuple[time, time] | None = None
    when: tuple[tuple[str, str], ...] = ()

    def in_force(self, at: datetime) -> bool:
        utc = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        if self.effective_from is not None and utc.date() < self.effective_from:
            return False
        if self.daily_utc is not None:
            start, end = self.daily_utc
            now = utc.time().replace(tzinfo=None)
            if end < start:
                return now >= start or now < end
            return start <= now < end
        return True

    def matches(self, context: Mapping[str, str]) -> bool:
        return all(context.get(key) == value for key, value in self.when)

    def label(self) -> str:
        parts = []
        if self.effective_from is not None:
            parts.append(f"from {self.effective_from.isoformat()}")
        if self.daily_utc is not None:
            start, end = (moment.strftime("%H:%M") for moment in self.daily_utc)
            parts.append(f"daily {start}-{end} UTC")
        parts += [f"{key}={value}" for key, value in self.when]
        return ", ".join(parts) or "standard"


@dataclass(frozen=True, slots=True)
class ResolvedPrice:
    sheet: PriceSheet
    rule: str  # human- and machine-readable: which rules produced this sheet


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    rules: tuple[PriceRule, ...]
    _history: tuple[PriceRule, ...] = field(init=False, repr=False, compare=False)
    _variants: tuple[PriceRule, ...] = field(init=False, repr=False, compare=False)
    # One unconditional rule and no variants: the answer never changes.
    _fixed: ResolvedPrice | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.rules:
            raise ValueError("a price schedule needs at least one rule")
        history = tuple(rule for rule in self.rules if not rule.when)
        if not history:
            raise ValueError("a price schedule needs a rule without 'when' (the standard price)")
        object.__setattr__(self, "_history", history)
        object.__setattr__(self, "_variants", tuple(rule for rule in self.rules if rule.when))
        only = self.rules[0]
        fixed = len(self.rules) == 1 and only.effective_from is None and only.daily_utc is None
        object.__setattr__(
            self, "_fixed", ResolvedPrice(only.sheet, only.label()) if fixed else None
        )

    def resolve(self, at: datetime, context: Mapping[str, str] | None = None) -> ResolvedPrice:
        if self._fixed is not None and not context:
            return self._fixed
        base = self._history[0]
        if len(self._history) > 1:
            for rule in reversed(self._history):
                if rule.in_force(at):
                    base = rule
                    break
        sheet = base.sheet
        labels = [base.label()]
        if context:
            overridden: set[str] = set()
            for variant in self._variants:
                if variant.matches(context) and variant.in_force(at):
                    sheet, overridden = sheet.overlay(variant.sheet, overridden)
                    labels.append(variant.label())
        return ResolvedPrice(sheet, "; ".join(labels))
