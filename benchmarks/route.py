"""Per-decision routing time, and start-up cost of the bundled catalog.

    .venv/bin/python -m benchmarks.route [--decisions N]

For an alias of 10 candidates in synthetic catalogs of 100, 2,000 and 20,000
deployments it prints the median and p99 of one full ``Router.route`` call
(validation, normalisation, planning and the snapshot), of the planner
alone, and of the planner on the compiled routing table (``table``), and
each size's ratio to the 100-deployment catalog measured in the same
process: a ratio near 1 means the cost does not grow with the catalog.
Then it starts fresh interpreters to time importing the package and building
the bundled catalog, and reads their peak resident memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run directly, this folder would come first on the import path, and its
# http.py would shadow the standard library's http: take it off.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from modelrouter.catalog.index import Catalog
from modelrouter.policy.effective import PolicyStack
from modelrouter.request.model import RouteRequest
from modelrouter.request.normalize import normalize
from modelrouter.router import Router
from modelrouter.routing.compiled import CompiledTables
from modelrouter.routing.planner import PlanInputs, plan

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PROVIDERS = [f"provider{i}" for i in range(10)]


def synthetic_document(deployments: int) -> dict[str, Any]:
    """``deployments / 10`` models, each served by the same 10 providers."""
    models: dict[str, Any] = {}
    for index in range(deployments // len(PROVIDERS)):
        models[f"model-{index}"] = {
            "vendor": f"vendor{index % 7}",
            "context_window": 128_000,
            "max_output_tokens": 8_192,
            "capabilities": {"streaming": True, "tools": True, "json_schema": True},
            "quality": {"score": 1000 + index % 300, "scale": "elo"},
            "deployments": {
                provider: {
                    "prices": {
                        "input": f"{1 + (index + p) % 9}.5",
                        "output": f"{4 + (index * p) % 11}",
                        "cache_read": "0.25",
                    },
                    "latency": {"ttft_ms": 200 + 37 * p, "output_tokens_per_s": 40 + 9 * p},
                    "weight": 1 + p % 3,
                }
                for p, provider in enumerate(PROVIDERS)
            },
        }
    return {
        "providers": {p: {"regions": ["us", "eu"]} for p in PROVIDERS},
        "models": models,
        "aliases": {"ten": ["model-1"]},
    }


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))]


def measure(catalog: Catalog, decisions: int) -> dict[str, list[float]]:
    router = Router(catalog, clock=lambda: NOW)
    requests = [
        RouteRequest(
            model="ten",
            input_tokens=2000 + i % 500,
            max_output_tokens=500,
            request_id=f"req-{i}",
            require=["tools"],
            strategy="balanced",
        )
        for i in range(decisions)
    ]
    for request in requests[:200]:  # warm caches and branch predictors
        router.route(request).to_dict(include_snapshot=True)
    samples: dict[str, list[float]] = {"route": [], "route+record": [], "plan": []}
    for request in requests:
        start = time.perf_counter_ns()
        router.route(request)
        samples["route"].append((time.perf_counter_ns() - start) / 1000)
    for request in requests:
        start = time.perf_counter_ns()
        router.route(request).to_dict(include_snapshot=True)
        samples["route+record"].append((time.perf_counter_ns() - start) / 1000)
    policy = PolicyStack()
    inputs = [
        PlanInputs(normalize(request, now=NOW, assigned_id=f"bench-{i}"), catalog, policy, {})
        for i, request in enumerate(requests)
    ]
    for item in inputs:
        start = time.perf_counter_ns()
        plan(item)
        samples["plan"].append((time.perf_counter_ns() - start) / 1000)
    tables = CompiledTables()
    for item in inputs[:200]:
        tables.plan(item)
    samples["table"] = []
    for item in inputs:
        start = time.perf_counter_ns()
        tables.plan(item)
        samples["table"].append((time.perf_counter_ns() - start) / 1000)
    return samples


def startup() -> tuple[float, int, float]:
    script = (
        "import time, resource; t = time.perf_counter();"
        "import modelrouter; from modelrouter import Catalog, Router;"
        "c = Catalog.bundled();"
        "Router(c).route({'model': 'gpt-4o', 'input_tokens': 100});"
        "print(time.perf_counter() - t, len(c.deployments),"
        " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    runs = []
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        seconds, count, rss_kb = done.stdout.split()
        runs.append((float(seconds), int(count), int(rss_kb)))
    median_seconds = statistics.median(run[0] for run in runs)
    return median_seconds, runs[0][1], max(run[2] for run in runs) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=5000)
    args = parser.parse_args()

    # Fresh interpreters first: a child forked after the big catalogs are built
    # would report their memory as its own peak.
    seconds, count, rss_mb = startup()
    print(f"python {sys.version.split()[0]}, {args.decisions} decisions per catalog")
    print(
        "route: Router.route, the plan ready to use; route+record: also its plan_hash and\n"
        "snapshot serialised (what persisting it costs); plan: the pure planner alone;\n"
        "table: the planner on the compiled routing table (what Router.route uses)"
    )
    print(
        f"{'deployments':>11} {'build s':>8}"
        + "".join(
            f" {name + ' med':>17} {name + ' p99':>17}"
            for name in ("route", "route+record", "plan", "table")
        )
        + f" {'route vs 100':>13}"
    )
    baseline: float | None = None
    for size in (100, 2_000, 20_000):
        start = time.perf_counter()
        catalog = Catalog.from_layers([("synthetic", synthetic_document(size))])
        built = time.perf_counter() - start
        assert len(catalog.deployments) == size
        samples = measure(catalog, args.decisions)
        median = statistics.median(samples["route"])
        baseline = baseline or median
        cells = "".join(
            f" {statistics.median(values):>17.1f} {percentile(values, 0.99):>17.1f}"
            for values in samples.values()
        )
        print(f"{size:>11} {built:>8.2f}{cells} {median / baseline:>13.2f}")
    print(
        f"start-up (import + bundled catalog of {count} deployments + first route): "
        f"median {seconds:.3f} s over 5 fresh processes; peak RSS {rss_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
