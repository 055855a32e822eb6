"""Time to price one usage exactly, against genai-prices in the same process.

    .venv/bin/python -m benchmarks.cost [--samples N]

Prices the same usages on the same entries three ways and prints median and
p99 in µs: ``actual_cost`` (ours), genai-prices' ``ModelInfo.calc_price`` on
the exact entry (no name lookup) and its public ``calc_price`` (with lookup).
The ratio column divides by ours.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run directly, this folder would come first on the import path, and its
# http.py would shadow the standard library's http: take it off.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from genai_prices import Usage as GenaiUsage
from genai_prices import calc_price
from genai_prices.data import providers

from modelrouter.catalog.index import Catalog
from modelrouter.pricing.cost import actual_cost
from modelrouter.pricing.usage import Usage

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
CASES = [
    ("openai/gpt-4o", "openai", "gpt-4o"),
    ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
    ("google/gemini-2.5-pro", "google", "gemini-2.5-pro"),
    ("openai/o3", "openai", "o3"),
]


def timed(call: Callable[[], object], samples: int) -> list[float]:
    for _ in range(200):
        call()
    out = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20_000)
    args = parser.parse_args()
    catalog = Catalog.bundled()
    usage = Usage(
        input_tokens=12_000, cache_read_tokens=8_000, cache_write_tokens=1_000, output_tokens=900
    )
    genai_usage = GenaiUsage(
        input_tokens=12_000, cache_read_tokens=8_000, cache_write_tokens=1_000, output_tokens=900
    )
    entries = {(p.id, m.id): (p, m) for p in providers for m in p.models}
    ours: list[float] = []
    direct: list[float] = []
    public: list[float] = []
    per_case = args.samples // len(CASES)
    for deployment_id, genai_provider, genai_model in CASES:
        deployment = catalog.deployments[deployment_id]
        provider, entry = entries[(genai_provider, genai_model)]
        mine = actual_cost(deployment, usage, at=AT, catalog_version=catalog.version).total_usd
        theirs = entry.calc_price(genai_usage, provider, genai_request_timestamp=AT).total_price
        assert mine == theirs, (deployment_id, mine, theirs)
        ours += timed(
            partial(actual_cost, deployment, usage, at=AT, catalog_version=catalog.version),
            per_case,
        )
        direct += timed(
            partial(entry.calc_price, genai_usage, provider, genai_request_timestamp=AT), per_case
        )
        public += timed(
            partial(
                calc_price,
                genai_usage,
                genai_model,
                provider_id=genai_provider,
                genai_request_timestamp=AT,
            ),
            per_case,
        )
    base = statistics.median(ours)
    print(f"{len(ours)} pricings over {len(CASES)} deployments; same totals checked first")
    print(f"{'':38} {'median µs':>10} {'p99 µs':>10} {'ratio':>7}")
    for label, samples in (
        ("modelrouter actual_cost", ours),
        ("genai-prices ModelInfo.calc_price", direct),
        ("genai-prices calc_price (with lookup)", public),
    ):
        ordered = sorted(samples)
        p99 = ordered[int(len(ordered) * 0.99)]
        median = statistics.median(samples)
        print(f"{label:38} {median:>10.1f} {p99:>10.1f} {median / base:>7.2f}")


if __name__ == "__main__":
    main()
