"""Actual cost from reported usage: agreement with genai-prices, and every
pricing trap in shared/research/pricing.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.errors import InvalidInputError, UnknownPriceError
from modelrouter.pricing.cost import actual_cost
from modelrouter.pricing.usage import Usage
from tests.genai_oracle import genai_total

NOV = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BEFORE_BATCH = datetime(2026, 10, 13, 12, 0, tzinfo=UTC)


def openai_style(prompt: int, cached: int, completion: int, reasoning: int = 0) -> Usage:
    """OpenAI reports prompt_tokens including cached ones."""
    return Usage(
        input_tokens=prompt,
        cache_read_tokens=cached,
        output_tokens=completion,
        reasoning_tokens=reasoning,
    )


def anthropic_style(
    uncached: int, cache_read: int, write_5m: int, write_1h: int, output: int
) -> Usage:
    """Anthropic reports input_tokens without cache reads and writes: add them up."""
    return Usage(
        input_tokens=uncached + cache_read + write_5m + write_1h,
        cache_read_tokens=cache_read,
        cache_write_tokens=write_5m + write_1h,
        cache_write_1h_tokens=write_1h,
        output_tokens=output,
    )


PLAIN = openai_style(12_000, 0, 900)
CACHED = openai_style(12_000, 8_000, 900)
REASONING = openai_style(3_000, 1_024, 5_000, reasoning=4_200)
ANTHROPIC = anthropic_style(1_200, 30_000, 4_000, 2_000, 700)
LONG = openai_style(250_000, 0, 2_000)

# (deployment, usage, when, price context). Each row is priced by us and by genai-prices.
TABLE: list[tuple[str, Usage, datetime, dict[str, str] | None]] = [
    ("openai/gpt-4o", PLAIN, NOV, None),
    ("openai/gpt-4o", CACHED, NOV, None),
    ("openai/gpt-4o", CACHED, NOV, {"processing": "batch"}),
    ("openai/gpt-4o", CACHED, BEFORE_BATCH, {"processing": "batch"}),
    ("openai/gpt-4o", PLAIN, NOV, {"service_tier": "priority"}),
    ("openai/gpt-4o-mini", CACHED, NOV, None),
    ("openai/gpt-4o-mini", PLAIN, NOV, {"processing": "batch"}),
    ("openai/o3", REASONING, NOV, None),
    ("openai/o3", REASONING, datetime(2025, 6, 9, tzinfo=UTC), None),
    ("openai/o3", REASONING, datetime(2025, 6, 10, tzinfo=UTC), None),
    ("openai/o3", REASONING, NOV, {"service_tier": "flex"}),
    ("openai/o3", REASONING, NOV, {"service_tier": "priority"}),
    ("openai/o3", REASONING, NOV, {"processing": "batch"}),
    ("openai/gpt-5.4", REASONING, NOV, None),
    ("openai/gpt-5.4", REASONING, NOV, {"service_tier": "flex"}),
    ("openai/gpt-5.4", CACHED, NOV, {"service_tier": "priority"}),
    ("azure/o3", REASONING, NOV, None),
    ("anthropic/claude-sonnet-4-5", ANTHROPIC, NOV, None),
    ("anthropic/claude-sonnet-4-5", ANTHROPIC, NOV, {"processing": "batch"}),
    ("anthropic/claude-sonnet-4-5", PLAIN, NOV, None),
    ("anthropic/claude-sonnet-4-5", LONG, NOV, None),
    ("anthropic/claude-haiku-4-5", ANTHROPIC, NOV, None),
    ("anthropic/claude-haiku-4-5", CACHED, NOV, {"processing": "batch"}),
    ("vertex/claude-sonnet-4-5", ANTHROPIC, NOV, None),
    ("bedrock/claude-sonnet-4-5", ANTHROPIC, NOV, None),
    ("bedrock/claude-sonnet-4-5", PLAIN, NOV, None),
    ("google/gemini-2.5-pro", PLAIN, NOV, None),
    ("google/gemini-2.5-pro", CACHED, NOV, None),
    ("google/gemini-2.5-pro", LONG, NOV, None),
    ("google/gemini-2.5-pro", LONG, NOV, {"processing": "batch"}),
    ("google/gemini-2.5-pro", REASONING, NOV, None),
    ("google/gemini-2.5-flash", CACHED, NOV, None),
    ("google/gemini-2.5-flash", PLAIN, NOV, {"processing": "batch"}),
    ("openrouter/gpt-4o", PLAIN, datetime(2026, 10, 18, tzinfo=UTC), None),
    ("openrouter/gpt-4o", PLAIN, datetime(2026, 10, 19, tzinfo=UTC), None),
    ("deepseek/deepseek-v3", CACHED, datetime(2026, 11, 1, 2, 0, tzinfo=UTC), None),
    ("deepseek/deepseek-v3", CACHED, datetime(2026, 11, 1, 20, 0, tzinfo=UTC), None),
    ("deepseek/deepseek-v4-pro", CACHED, datetime(2026, 8, 16, 12, 0, tzinfo=UTC), None),
    ("deepseek/deepseek-v4-pro", CACHED, datetime(2026, 8, 17, 2, 0, tzinfo=UTC), None),
    ("deepseek/deepseek-v4-pro", CACHED, datetime(2026, 8, 17, 12, 0, tzinfo=UTC), None),
    ("groq/llama-3.3-70b-instruct", PLAIN, NOV, None),
    ("together/llama-3.3-70b-instruct", PLAIN, NOV, None),
    ("fireworks/deepseek-v3.2", CACHED, NOV, None),
    ("mistral/mistral-large-3", PLAIN, NOV, None),
    ("mistral/mistral-large-3", PLAIN, NOV, {"processing": "batch"}),
    ("xai/grok-4", CACHED, NOV, None),
]


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 40
    assert len({row[0].split("/")[0] for row in TABLE}) >= 10


@pytest.mark.parametrize(
    ("deployment", "usage", "when", "context"),
    TABLE,
    ids=[f"{d}-{i}" for i, (d, *_) in enumerate(TABLE)],
)
def test_total_equals_genai_prices(
    bundled: Catalog,
    deployment: str,
    usage: Usage,
    when: datetime,
    context: dict[str, str] | None,
) -> None:
    ours = actual_cost(
        bundled.deployments[deployment],
        usage,
        at=when,
        catalog_version=bundled.version,
        context=context,
    )
    assert ours.total_usd == genai_total(bundled, deployment, usage, when, context)
    assert sum(ours.components.values()) == ours.total_usd
    assert ours.catalog_version == bundled.version
    assert ours.price_rule.startswith(deployment)


# -- the traps ------------------------------------------------------------------


def cost(
    catalog: Catalog,
    deployment: str,
    usage: Usage,
    when: datetime = NOV,
    context: dict[str, str] | None = None,
) -> Any:
    return actual_cost(
        catalog.deployments[deployment],
        usage,
        at=when,
        catalog_version=catalog.version,
        context=context,
    )


def test_cached_tokens_are_not_double_counted(bundled: Catalog) -> None:
    # gpt-4o: input $2.5/M, cached input $1.25/M, output $10/M.
    result = cost(bundled, "openai/gpt-4o", openai_style(10_000, 4_000, 0))
    assert result.components == {
        "input": Decimal("0.015"),  # 6,000 uncached x 2.5/M
        "cache_read": Decimal("0.005"),  # 4,000 cached x 1.25/M
    }
    assert result.total_usd == Decimal("0.02")


def test_reasoning_is_counted_once(bundled: Catalog) -> None:
    plain = cost(bundled, "openai/o3", openai_style(1_000, 0, 5_000))
    with_reasoning = cost(bundled, "openai/o3", openai_style(1_000, 0, 5_000, reasoning=4_000))
    # Reasoning is part of output for OpenAI: the same 5,000 output tokens, billed once.
    assert with_reasoning.total_usd == plain.total_usd


def test_reasoning_reported_apart_is_added_not_dropped() -> None:
    # Gemini reports thoughts apart from candidates; the parser adds them to the
    # output total, so a thought-heavy reply costs what its thoughts cost.
    gemini = Usage(input_tokens=1_000, output_tokens=300 + 2_000, reasoning_tokens=2_000)
    assert gemini.output_tokens == 2_300
    with pytest.raises(InvalidInputError, match="reasoning_tokens"):
        Usage(input_tokens=1_000, output_tokens=300, reasoning_tokens=2_000)


def test_anthropic_cache_writes_at_125_and_200_percent(bundled: Catalog) -> None:
    d = bundled.deployments["anthropic/claude-sonnet-4-5"]
    assert d.prices is not None
    sheet = d.prices.rules[0].sheet
    write, write_1h = sheet.rate("cache_write"), sheet.rate("cache_write_1h")
    assert sheet.input is not None and write is not None and write_1h is not None
    assert write.base == sheet.input.base * Decimal("1.25")
    assert write_1h.base == sheet.input.base * 2
    result = cost(bundled, "anthropic/claude-sonnet-4-5", anthropic_style(0, 0, 1_000, 1_000, 0))
    assert result.components == {
        "cache_write": Decimal("0.00375"),  # 1,000 x 3.75/M (1.25 x $3)
        "cache_write_1h": Decimal("0.006"),  # 1,000 x 6/M (2 x $3)
    }


def test_long_context_tier_reprices_the_whole_request(bundled: Catalog) -> None:
    below = cost(bundled, "google/gemini-2.5-pro", openai_style(200_000, 0, 1_000))
    above = cost(bundled, "google/gemini-2.5-pro", openai_style(200_001, 0, 1_000))
    assert below.components["input"] == Decimal("0.25")  # 200,000 x 1.25/M
    assert below.components["output"] == Decimal("0.01")  # 1,000 x 10/M
    assert above.components["input"] == Decimal("0.5000025")  # all 200,001 x 2.5/M
    assert above.components["output"] == Decimal("0.015")  # output re-priced too: 15/M
    assert "tier >200000" in above.price_rule


def test_batch_and_flex_roughly_halve(bundled: Catalog) -> None:
    usage = openai_style(10_000, 0, 1_000)
    standard = cost(bundled, "openai/o3", usage).total_usd
    batch = cost(bundled, "openai/o3", usage, context={"processing": "batch"}).total_usd
    flex = cost(bundled, "openai/o3", usage, context={"service_tier": "flex"}).total_usd
    assert batch * 2 == standard
    assert flex * 2 == standard
    priority = cost(bundled, "openai/o3", usage, context={"service_tier": "priority"}).total_usd
    assert priority > standard


def test_price_before_and_after_a_change(bundled: Catalog) -> None:
    usage = openai_style(1_000_000, 0, 1_000_000)
    before = cost(bundled, "openai/o3", usage, when=datetime(2025, 6, 9, 23, 0, tzinfo=UTC))
    after = cost(bundled, "openai/o3", usage, when=datetime(2025, 6, 10, 1, 0, tzinfo=UTC))
    assert before.total_usd == Decimal("50")  # $10/M in + $40/M out
    assert after.total_usd == Decimal("10")  # $2/M in + $8/M out from 2025-06-10
    assert "from 2025-06-10" in after.price_rule
    assert "from 2025-06-10" not in before.price_rule


def test_off_peak_window(bundled: Catalog) -> None:
    usage = openai_style(1_000_000, 0, 0)
    peak = cost(bundled, "deepseek/deepseek-v3", usage, when=datetime(2026, 1, 1, 3, tzinfo=UTC))
    off = cost(bundled, "deepseek/deepseek-v3", usage, when=datetime(2026, 1, 1, 18, tzinfo=UTC))
    assert off.total_usd < peak.total_usd
    assert "daily 00:30-16:30 UTC" in peak.price_rule


def test_missing_price_is_an_error_never_zero(small_catalog: Catalog) -> None:
    with pytest.raises(UnknownPriceError, match="beta/unpriced"):
        cost(small_catalog, "beta/unpriced", openai_style(10, 0, 10))
    output_only = small_catalog.layered(
        "no output price",
        {"models": {"m": {"deployments": {"alpha": {"prices": {"input": "1"}}}}}},
    )
    with pytest.raises(UnknownPriceError, match="no output price for deployment alpha/m"):
        cost(output_only, "alpha/m", openai_style(10, 0, 10))
    # With no output tokens there is nothing to price at the missing rate.
    assert cost(output_only, "alpha/m", openai_style(10, 0, 0)).total_usd == Decimal("0.00001")


def test_per_request_fee(small_catalog: Catalog) -> None:
    feed = small_catalog.layered(
        "fee",
        {
            "models": {
                "m": {
                    "deployments": {
                        "alpha": {"prices": {"input": "1", "output": "2", "request": "0.005"}}
                    }
                }
            }
        },
    )
    result = cost(feed, "alpha/m", openai_style(1_000, 0, 1_000))
    assert result.components["request"] == Decimal("0.005")
    assert result.total_usd == Decimal("0.008")


def test_cache_reads_without_a_cache_price_bill_as_input(small_catalog: Catalog) -> None:
    # beta/chat-large has no cache_read price: cached tokens are plain input there.
    result = cost(small_catalog, "beta/chat-large", openai_style(1_000, 600, 0))
    assert result.components == {"input": Decimal("0.0025")}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"input_tokens": 10, "cache_read_tokens": 11}, "cache_read_tokens (11) exceeds"),
        ({"input_tokens": -1}, "negative"),
        ({"input_tokens": 10, "cache_read_tokens": 6, "cache_write_tokens": 6}, "add up to 12"),
        ({"output_tokens": 1.5}, "whole number"),
    ],
)
def test_inconsistent_usage_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        Usage(**fields)
