"""genai-prices as the oracle the cost tests check our totals against."""

from __future__ import annotations

import warnings
from datetime import datetime
from decimal import Decimal
from typing import Any

from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price
from genai_prices.data import providers as genai_providers

from modelrouter.catalog.index import Catalog
from modelrouter.pricing.usage import Usage


def genai_total(
    catalog: Catalog,
    deployment: str,
    usage: Usage,
    when: datetime,
    context: dict[str, str] | None = None,
) -> Decimal:
    """genai-prices' total for the same usage, through the entry the catalog names."""
    key, model = deployment.split("/", 1)
    ref = catalog.document.models[model].deployments[key].genai
    assert ref is not None, f"{deployment} has no genai-prices reference"
    counts: dict[str, Any] = {
        name: value
        for name, value in usage.to_dict().items()
        if value and name not in {"requests", "reasoning_tokens"}
    }
    if usage.reasoning_tokens:
        counts["output_reasoning_tokens"] = usage.reasoning_tokens
    # Priced through the exact entry our catalog names: genai-prices' own name
    # matching does not always find an entry by its id (Bedrock's regional ids).
    provider = next(p for p in genai_providers if p.id == ref.provider)
    entry = next(m for m in provider.models if m.id == ref.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = entry.calc_price(
            GenaiUsage(**counts), provider, genai_request_timestamp=when, price_context=context
        )
        if entry.is_match(ref.model):  # where its public lookup finds the entry, both agree
            looked_up = calc_price(
                GenaiUsage(**counts),
                ref.model,
                provider_id=ref.provider,
                genai_request_timestamp=when,
                price_context=context,
            )
            assert looked_up.total_price == result.total_price
    total: Decimal = result.total_price
    return total
