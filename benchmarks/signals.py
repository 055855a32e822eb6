"""What live signals cost a decision: ``Router.route`` with signals off, on
the in-process backend and on Redis, alternated in one process.

    taskset -c 0 .venv/bin/python -m benchmarks.signals [--rounds R] [--decisions N]
    taskset -c 0 .venv/bin/python -m benchmarks.signals --limits [--rounds R]

Every deployment the request can reach has observed state (latency samples,
a closed circuit, one with an rpm limit to lease), so each candidate reads
its signals and the snapshot records them. "off" is the same router handed
an empty signal mapping. Each round times ``--decisions`` routes of each
configuration in turn; the figures are the fastest round's median and p99,
and their ratio to "off" in the same round.

``--limits`` times a busy rate-limited fleet instead: a LiteLLM ``model_list``
of 2,000 deployments in groups of 4, each with rpm and tpm (compare.py's),
imported as ``catalog import`` does, routed on the in-process backend with a
clock that moves 5 ms a decision, each route taking headroom from its primary.
A simulated minute of traffic first fills every window (61 one-second buckets),
then the rounds are timed; printed: median and p99 of the fastest round.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis

from modelrouter.catalog.index import Catalog
from modelrouter.router import Router
from modelrouter.signals.live import Observation, to_ms
from modelrouter.signals.memory import MemorySignals
from modelrouter.signals.redis import RedisSignals

REQUEST = {"model": "gpt-4o", "input_tokens": 1200, "max_output_tokens": 300}


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def observed(signals: MemorySignals | RedisSignals, catalog: Catalog) -> None:
    now = to_ms(datetime.now(UTC))
    reached = [d for d in catalog.deployments.values() if d.model == "gpt-4o"]
    for index, deployment in enumerate(reached):
        for sample in range(40):
            signals.observe(
                Observation(
                    deployment.id,
                    now - sample * 100,
                    ttft_ms=200.0 + 30 * index + sample,
                    tokens_per_s=60.0 + index + sample % 7,
                )
            )


def timed(route: Callable[[int], object], decisions: int) -> list[float]:
    samples = []
    for index in range(decisions):
        started = time.perf_counter()
        route(index)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def limits(rounds: int, decisions: int) -> None:
    from benchmarks import litellm_side
    from modelrouter.catalog.sources.litellm import import_litellm_config

    entries = litellm_side.model_list(2000)
    groups = litellm_side.group_names(2000)
    imported = import_litellm_config({"model_list": entries}, Catalog.bundled(), source="bench")
    catalog = Catalog.from_layers([("import", imported.document)])
    start = datetime(2026, 6, 1, tzinfo=UTC)
    tick = [0]

    def clock() -> datetime:
        return start + timedelta(milliseconds=5 * tick[0])

    router = Router(catalog, clock=clock, signals=MemorySignals())

    def route(index: int) -> object:
        tick[0] += 1
        return router.route(
            {
                "model": groups[index % 8],  # 32 deployments, each busy all minute
                "input_tokens": 800 + index % 300,
                "max_output_tokens": 200,
                "request_id": f"r{tick[0]}",
            }
        )

    for index in range(12_000 + 1000):  # a minute of the clock, and more
        route(index)
    best: tuple[float, float] | None = None
    for _ in range(rounds):
        samples = timed(route, decisions)
        median, p99 = statistics.median(samples), percentile(samples, 99)
        if best is None or median < best[0]:
            best = (median, p99)
    assert best is not None
    print(
        "Router.route, rate-limited groups of 4 (2,000 deployments), every window busy, "
        f"{rounds} rounds of {decisions}"
    )
    print(f"p50 {best[0]:.1f} µs   p99 {best[1]:.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--limits", action="store_true", help="a busy rate-limited fleet")
    args = parser.parse_args()
    if args.limits:
        limits(args.rounds, args.decisions)
        return

    catalog = Catalog.bundled()
    memory = MemorySignals()
    observed(memory, catalog)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    shared = RedisSignals(redis.Redis.from_url(args.redis), prefix=prefix)
    observed(shared, catalog)
    shared.start()
    routers = {
        "off": Router(catalog),
        "memory": Router(catalog, signals=memory),
        "redis": Router(catalog, signals=shared),
    }
    plain = routers["off"]

    def run(name: str) -> Callable[[int], object]:
        router = routers[name]
        if name == "off":
            return lambda i: plain.route({**REQUEST, "request_id": f"o{i}"}, signals={})
        return lambda i: router.route({**REQUEST, "request_id": f"{name[0]}{i}"})

    assert routers["memory"].route(REQUEST).inputs is not None
    best: dict[str, tuple[float, float]] = {}
    ratios: dict[str, list[float]] = {"memory": [], "redis": []}
    for _ in range(args.rounds):
        medians = {}
        for name in routers:
            samples = timed(run(name), args.decisions)
            median, p99 = statistics.median(samples), percentile(samples, 99)
            medians[name] = median
            if name not in best or median < best[name][0]:
                best[name] = (median, p99)
        for name, values in ratios.items():
            values.append(medians[name] / medians["off"])
    shared.close()
    client = redis.Redis.from_url(args.redis)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)

    print(f"Router.route, gpt-4o (every candidate with signals), {args.rounds} rounds alternated")
    print(f"{'signals':<8} {'p50 µs':>9} {'p99 µs':>9} {'p50 / off':>10}")
    for name, (median, p99) in best.items():
        ratio = "1.00" if name == "off" else f"{min(ratios[name]):.2f}"
        print(f"{name:<8} {median:>9.1f} {p99:>9.1f} {ratio:>10}")
    for name, values in ratios.items():
        print(f"{name} / off by round: " + " ".join(f"{v:.2f}" for v in values))


if __name__ == "__main__":
    main()
