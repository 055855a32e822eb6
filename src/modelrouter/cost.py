"""Cost before inference: the expected cost of a request and the most it can cost.

A deployment with no price for what the request needs raises
``UnknownPriceError``: a cost is never silently zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from modelrouter.catalog.model import Deployment
from modelrouter.catalog.prices import PriceSheet, Rate, ResolvedPrice
from modelrouter.errors import UnknownPriceError
from modelrouter.money import ZERO, per_million
from modelrouter.types import CostEstimate

__all__ = [
    "DEFAULT_EXPECTED_OUTPUT_TOKENS",
    "ESTIMATE_MARGIN",
    "estimate_cost",
    "resolve_prices",
    "worst_case_input_tokens",
]

# Without a hint, a chat reply is expected to be this long (capped by max_output_tokens).
DEFAULT_EXPECTED_OUTPUT_TOKENS = 256
# Token counts estimated from messages may be low by this much; the worst case allows for it.
ESTIMATE_MARGIN = Decimal("1.25")

# Input-side units a text request can be billed under; the worst case takes the dearest.
_INPUT_UNITS = ("input", "cache_read", "cache_write", "cache_write_1h")
_OUTPUT_UNITS = ("output", "output_reasoning")


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
) -> tuple[CostEstimate, PriceSheet]:
    """The estimate and the price sheet it used.

    Expected cost: all input uncached. Worst case: every input token at the
    dearest input-side rate, every allowed output token at the dearest
    output-side rate, at the tier the worst-case input reaches."""
    resolved = resolve_prices(deployment, at, context)
    sheet = resolved.sheet
    input_rate = _required(sheet, "input", deployment.id)
    output_rate = _required(sheet, "output", deployment.id)
    fee = sheet.request.base if sheet.request is not None else ZERO

    expected = (
        per_million(input_tokens, input_rate.at(input_tokens))
        + per_million(expected_output_tokens, output_rate.at(input_tokens))
        + fee
    )
    worst: Decimal | None = None
    if max_output_tokens is not None:
        worst_input = worst_case_input_tokens(input_tokens, input_exact)
        worst = (
            per_million(worst_input, sheet.dearest(_INPUT_UNITS, worst_input))
            + per_million(max_output_tokens, sheet.dearest(_OUTPUT_UNITS, worst_input))
            + fee
        )
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
