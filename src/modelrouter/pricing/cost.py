"""Cost before inference (the expected cost of a request and the most it can
cost) and after it (the exact cost of the usage the provider reported).

A deployment with no price for what the request needs raises
``UnknownPriceError``: a cost is never silently zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from modelrouter.catalog.model import Deployment
from modelrouter.catalog.prices import PriceSheet, Rate, ResolvedPrice
from modelrouter.errors import UnknownPriceError
from modelrouter.money import EXACT as _EXACT
from modelrouter.money import ZERO, exact_str, per_million
from modelrouter.pricing.units import BY_USAGE_FIELD, UNITS
from modelrouter.pricing.usage import Usage
from modelrouter.types import CostEstimate

__all__ = [
    "ESTIMATE_MARGIN",
    "ActualCost",
    "actual_cost",
    "estimate_cost",
    "resolve_prices",
    "worst_case_input_tokens",
]

# Token counts estimated from messages may be low by this much; the worst case allows for it.
ESTIMATE_MARGIN = Decimal("1.25")


def resolve_prices(
    deployment: Deployment, at: datetime, context: Mapping[str, str] | None = None
) -> ResolvedPrice:
    if deployment.prices is None:
        raise UnknownPriceError(deployment.id, "any", "the catalog has no prices for it")
    return deployment.prices.resolve(at, context)


def _required(sheet: PriceSheet, unit: str, deployment: str) -> Rate:
    rate = sheet.rate(unit)
    if rate is None:
        raise UnknownPriceError(deployment, unit)
    return rate


def worst_case_input_tokens(input_tokens: int, exact: bool) -> int:
    if exact:
        return input_tokens
    return int((Decimal(input_tokens) * ESTIMATE_MARGIN).to_integral_value(ROUND_CEILING))


def estimate_cost(
    deployment: Deployment,
    *,
    input_tokens: int,
    input_exact: bool,
    expected_output_tokens: int,
    max_output_tokens: int | None,
    at: datetime,
    context: Mapping[str, str] | None = None,
    cache_hit_ratio: Decimal | None = None,
) -> tuple[CostEstimate, PriceSheet]:
    """The estimate and the price sheet it used.

    Expected cost: the expected cache-hit share of input at the cache-read
    rate, the rest uncached. Worst case: every input token at the
    dearest input-side rate, every allowed output token at the dearest
    output-side rate, at the tier the worst-case input reaches."""
    resolved = resolve_prices(deployment, at, context)
    sheet = resolved.sheet
    input_rate = _required(sheet, "input", deployment.id)
    output_rate = _required(sheet, "output", deployment.id)
    fee = sheet.request.base if sheet.request is not None else ZERO

    # Token counts times per-million rates, then one exact shift by 10^-6
    # (scaleb changes only the exponent): no rounding anywhere.
    tokens = Decimal(input_tokens)
    per_m = tokens * input_rate.at(input_tokens)
    if cache_hit_ratio:
        cached = (tokens * cache_hit_ratio).to_integral_value(ROUND_FLOOR)
        cache_rate = sheet.cache_read or input_rate  # no cache price: bills as input
        per_m += cached * (cache_rate.at(input_tokens) - input_rate.at(input_tokens))
    per_m += expected_output_tokens * output_rate.at(input_tokens)
    expected = per_m.scaleb(-6, _EXACT) + fee
    worst: Decimal | None = None
    if max_output_tokens is not None:
        worst_input = worst_case_input_tokens(input_tokens, input_exact)
        worst_per_m = worst_input * sheet.dearest_input(worst_input) + max_output_tokens * (
            sheet.dearest_output(worst_input)
        )
        worst = worst_per_m.scaleb(-6, _EXACT) + fee
    tier = input_rate.tier_label(input_tokens)
    rule = f"{deployment.id} {resolved.rule}" + (f"; tier {tier}" if tier else "")
    estimate = CostEstimate(
        input_tokens=input_tokens,
        expected_output_tokens=expected_output_tokens,
        max_output_tokens=max_output_tokens,
        expected_usd=expected,
        worst_case_usd=worst,
        price_rule=rule,
    )
    return estimate, sheet


# -- after inference -------------------------------------------------------------

# Components of a cost breakdown, in the table's order.
_COMPONENTS = tuple(unit.component for unit in UNITS)


@dataclass(frozen=True, slots=True)
class ActualCost:
    """The exact cost of one served request, and what produced it."""

    deployment: str
    total_usd: Decimal
    components: Mapping[str, Decimal]
    usage: Usage
    price_rule: str
    priced_at: datetime
    catalog_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "total_usd": exact_str(self.total_usd),
            "components": {name: exact_str(value) for name, value in self.components.items()},
            "usage": self.usage.to_dict(),
            "price_rule": self.price_rule,
            "priced_at": self.priced_at.isoformat(),
            "catalog_version": self.catalog_version,
        }


def actual_cost(
    deployment: Deployment,
    usage: Usage,
    *,
    at: datetime,
    catalog_version: str,
    context: Mapping[str, str] | None = None,
) -> ActualCost:
    """Price reported usage at the prices in force at ``at`` for ``context``.

    Tokens of a part the deployment has no price for (cache reads on a
    provider without a cache discount, say) are billed at the rate of the
    total that includes them. Input or output tokens with no rate at all are an
    error naming the deployment and unit: never $0."""
    resolved = resolve_prices(deployment, at, context)
    sheet = resolved.sheet
    priced = sheet.priced_usage
    for total, unit in (("input_tokens", "input"), ("output_tokens", "output")):
        if total not in priced and usage.count(total):
            raise UnknownPriceError(deployment.id, unit)
    leaves = usage.leaves(priced)
    tokens = usage.input_tokens
    components: dict[str, Decimal] = {}
    total_usd = ZERO
    for name, count in leaves.items():
        if not count:
            continue
        priced_unit = BY_USAGE_FIELD[name]
        rate = sheet.rate(priced_unit.name)
        assert rate is not None  # only priced fields have leaves
        amount = per_million(count, rate.at(tokens))
        components[priced_unit.component] = amount
        total_usd += amount
    if sheet.request is not None and usage.requests:
        fee = sheet.request.base * usage.requests
        components["request"] = fee
        total_usd += fee
    tier = sheet.input.tier_label(tokens) if sheet.input is not None else None
    ordered = {name: components[name] for name in _COMPONENTS if name in components}
    return ActualCost(
        deployment=deployment.id,
        total_usd=total_usd,
        components=ordered,
        usage=usage,
        price_rule=f"{deployment.id} {resolved.rule}" + (f"; tier {tier}" if tier else ""),
        priced_at=at,
        catalog_version=catalog_version,
    )
