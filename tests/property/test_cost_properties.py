"""Properties of cost: monotone in tokens, components that add up, and a worst
case that no usage within the request's limits can exceed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.pricing.cost import actual_cost, estimate_cost
from modelrouter.pricing.units import PARTS, USAGE_FIELDS
from modelrouter.pricing.usage import Usage

AT = datetime(2026, 11, 1, tzinfo=UTC)
PRICE = st.decimals(min_value=0, max_value=50, places=3).map(lambda d: d.normalize())
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIELDS = list(USAGE_FIELDS)


@st.composite
def deployments(draw: st.DrawFn) -> Deployment:
    base_in, base_out = draw(PRICE), draw(PRICE)
    rates: dict[str, Any] = {"input": str(base_in), "output": str(base_out)}
    for unit in (
        "cache_read",
        "cache_write",
        "cache_write_1h",
        "output_reasoning",
        "input_audio",
        "output_audio",
    ):
        if draw(st.booleans()):
            rates[unit] = str(draw(PRICE))
    if draw(st.booleans()):
        # Long-context tiers raise prices (as every provider's do): tier >= base.
        threshold = draw(st.integers(1, 300_000))
        rates["input"] = {
            "base": str(base_in),
            "tiers": [{"above_input_tokens": threshold, "rate": str(base_in + draw(PRICE))}],
        }
        rates["output"] = {
            "base": str(base_out),
            "tiers": [{"above_input_tokens": threshold, "rate": str(base_out + draw(PRICE))}],
        }
    if draw(st.booleans()):
        rates["request"] = str(draw(PRICE) / 1000)
    document = {
        "models": {"m": {"context_window": 2_000_000, "deployments": {"p": {"prices": rates}}}}
    }
    return Catalog.from_layers([("generated", document)]).deployments["p/m"]


@st.composite
def usages(draw: st.DrawFn, max_input: int = 400_000, max_output: int = 50_000) -> Usage:
    input_tokens = draw(st.integers(0, max_input))
    cache_read = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cache_read))
    write_1h = draw(st.integers(0, cache_write))
    audio = draw(st.integers(0, input_tokens - cache_read - cache_write))
    output = draw(st.integers(0, max_output))
    reasoning = draw(st.integers(0, output))
    output_audio = draw(st.integers(0, output - reasoning))
    return Usage(
        input_tokens=input_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
        input_audio_tokens=audio,
        output_tokens=output,
        reasoning_tokens=reasoning,
        output_audio_tokens=output_audio,
    )


def price(d: Deployment, usage: Usage) -> Decimal:
    return actual_cost(d, usage, at=AT, catalog_version="v").total_usd


def grown(usage: Usage, name: str, extra: int) -> Usage:
    """``extra`` more tokens of ``name``, and of every total that includes it."""
    counts = usage.to_dict()
    for total, parts in PARTS.items():
        if name == total or name in parts:
            counts[total] += extra
    return Usage(**counts)


@SETTINGS
@given(deployments(), usages(), st.sampled_from(FIELDS), st.integers(1, 100_000))
def test_cost_never_falls_when_tokens_are_added(
    d: Deployment, usage: Usage, name: str, extra: int
) -> None:
    assert price(d, grown(usage, name, extra)) >= price(d, usage)


@SETTINGS
@given(deployments(), usages())
def test_components_sum_to_the_total(d: Deployment, usage: Usage) -> None:
    cost = actual_cost(d, usage, at=AT, catalog_version="v")
    assert sum(cost.components.values(), Decimal(0)) == cost.total_usd
    assert all(value >= 0 for value in cost.components.values())


@SETTINGS
@given(deployments(), st.data())
def test_worst_case_bounds_any_usage_within_the_limits(d: Deployment, data: st.DataObject) -> None:
    input_tokens = data.draw(st.integers(0, 400_000), label="input_tokens")
    max_output = data.draw(st.integers(1, 50_000), label="max_output_tokens")
    estimate, _ = estimate_cost(
        d,
        input_tokens=input_tokens,
        input_exact=True,
        expected_output_tokens=0,
        max_output_tokens=max_output,
        at=AT,
    )
    assert estimate.worst_case_usd is not None
    # Any split of up to that input (cached, written, audio) and any output up to the cap.
    usage = data.draw(usages(max_input=input_tokens, max_output=max_output), label="usage")
    assert price(d, usage) <= estimate.worst_case_usd


@SETTINGS
@given(deployments(), st.integers(0, 300_000), st.integers(0, 20_000), st.integers(1, 5_000))
def test_estimates_rise_with_tokens(d: Deployment, tokens: int, output: int, more: int) -> None:
    def expected(input_tokens: int, output_tokens: int) -> Decimal:
        estimate, _ = estimate_cost(
            d,
            input_tokens=input_tokens,
            input_exact=True,
            expected_output_tokens=output_tokens,
            max_output_tokens=output_tokens,
            at=AT,
        )
        return estimate.expected_usd

    assert expected(tokens + more, output) >= expected(tokens, output)
    assert expected(tokens, output + more) >= expected(tokens, output)
