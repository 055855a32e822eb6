"""Prices as integers: a rate held as a count of 10^-12 USD per million
tokens, so a token count times a rate is an exact count of 10^-18 USD.

The compiled routing table estimates with these (integer products, turned
into ``Decimal`` once at the end) instead of ``Decimal`` arithmetic per
candidate. A sheet with a rate or request fee the unit does not hold exactly
is not compiled (``compile_sheet`` answers None), and an estimate whose terms
reach 10^28 units is not made (``estimate`` answers None): below that bound
``estimate_cost``'s 28-digit Decimal arithmetic rounds nothing, so both
paths give the same number, and the callers fall back to it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from modelrouter.catalog.prices import PriceSheet, Rate
from modelrouter.money import EXACT
from modelrouter.pricing.cost import worst_case_input_tokens

__all__ = ["COST_PLACES", "LIMIT", "RATE_PLACES", "IntRates", "compile_sheet", "estimate", "usd"]

# A rate is an integer count of 10^-RATE_PLACES USD per million tokens, so a
# token count times a rate is an integer count of 10^-COST_PLACES USD.
RATE_PLACES = 12
COST_PLACES = RATE_PLACES + 6
# Below this many units every intermediate of the Decimal path (28 digits) is exact.
LIMIT = 10**28

# base, then the tiers from the highest threshold down (the order ``Rate.at`` reads them).
_IntRate = tuple[int, tuple[tuple[int, int], ...]]


def _units(value: Decimal, places: int) -> int | None:
    """``value`` as an integer count of 10^-places, when it is one exactly."""
    if not value.is_finite():
        return None
    shifted = value.scaleb(places, EXACT)
    whole = shifted.to_integral_value()
    if shifted != whole:
        return None
    count = int(whole)
    return count if -LIMIT < count < LIMIT else None


def _int_rate(rate: Rate) -> _IntRate | None:
    base = _units(rate.base, RATE_PLACES)
    if base is None:
        return None
    tiers = []
    for threshold, value in reversed(rate.tiers):
        count = _units(value, RATE_PLACES)
        if count is None:
            return None
        tiers.append((threshold, count))
    return base, tuple(tiers)


def _at(rate: _IntRate, tokens: int) -> int:
    for threshold, value in rate[1]:
        if tokens > threshold:
            return value
    return rate[0]


@dataclass(frozen=True, slots=True)
class IntRates:
    """A price sheet in integer units (what ``estimate_cost`` reads of it)."""

    input: _IntRate
    output: _IntRate
    cache_read: _IntRate  # the input rate when the sheet has no cache price
    fee: int  # the request fee, in 10^-COST_PLACES USD
    input_side: tuple[_IntRate, ...]
    output_side: tuple[_IntRate, ...]
    flat_input: int | None  # the dearest input-side rate, when no rate has tiers
    flat_output: int | None
    tiered: Rate | None  # the input rate, when it has tiers (its label names the tier)


def _flat(side: tuple[_IntRate, ...]) -> int | None:
    if not side or any(rate[1] for rate in side):
        return None
    return max(rate[0] for rate in side)


def compile_sheet(sheet: PriceSheet) -> IntRates | None:
    """None: the Decimal path prices this sheet (a unit missing, which it
    names, or a rate the integer unit does not hold exactly)."""
    if sheet.input is None or sheet.output is None:
        return None
    rates = (sheet.input, sheet.output, sheet.cache_read or sheet.input)
    compiled = [_int_rate(rate) for rate in rates]
    sides = [
        tuple(_int_rate(rate) for rate in side) for side in (sheet.input_side, sheet.output_side)
    ]
    fee = _units(sheet.request.base, COST_PLACES) if sheet.request is not None else 0
    if fee is None or any(r is None for r in compiled) or any(None in side for side in sides):
        return None
    input_side: tuple[_IntRate, ...] = tuple(r for r in sides[0] if r is not None)
    output_side: tuple[_IntRate, ...] = tuple(r for r in sides[1] if r is not None)
    if not input_side or not output_side:
        return None
    input_rate, output_rate, cache_rate = (r for r in compiled if r is not None)
    return IntRates(
        input=input_rate,
        output=output_rate,
        cache_read=cache_rate,
        fee=fee,
        input_side=input_side,
        output_side=output_side,
        flat_input=_flat(input_side),
        flat_output=_flat(output_side),
        tiered=sheet.input if sheet.input.tiers else None,
    )


def estimate(
    rates: IntRates,
    tokens: int,
    exact: bool,
    expected_output: int,
    worst_output: int | None,
    cached: int | None,
) -> tuple[int, int | None] | None:
    """Expected and worst-case cost in 10^-COST_PLACES USD, by the formulas of
    ``estimate_cost``; None when a term reaches the bound of exactness."""
    rate_in = _at(rates.input, tokens)
    expected = tokens * rate_in
    size = abs(expected)
    if cached is not None:
        difference = _at(rates.cache_read, tokens) - rate_in
        term = cached * difference
        expected += term
        size += abs(term) + abs(difference)
    term = expected_output * _at(rates.output, tokens)
    expected += term + rates.fee
    size += abs(term) + abs(rates.fee)
    if size >= LIMIT:
        return None
    if worst_output is None:
        return expected, None
    worst_input = worst_case_input_tokens(tokens, exact)
    dearest_in = rates.flat_input
    if dearest_in is None:
        dearest_in = max(_at(rate, worst_input) for rate in rates.input_side)
    dearest_out = rates.flat_output
    if dearest_out is None:
        dearest_out = max(_at(rate, worst_input) for rate in rates.output_side)
    first, second = worst_input * dearest_in, worst_output * dearest_out
    if abs(first) + abs(second) + abs(rates.fee) >= LIMIT:
        return None
    return expected, first + second + rates.fee


def usd(units: int) -> Decimal:
    return Decimal(units).scaleb(-COST_PLACES, EXACT)
