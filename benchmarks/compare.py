"""Our router and service against LiteLLM's, in one run, as ratios.

    .venv/bin/python -m benchmarks.compare [--quick] [--parts pick http]
        [--sizes 200 2000 20000] [--strategies simple-shuffle ...]
        [--rounds R] [--concurrency 16 64] [--seconds S]
        [--litellm-python PATH] [--litellm-launch uvicorn|cli]
    taskset -c 0 .venv/bin/python -m benchmarks.compare --parts pick

LiteLLM is the version the ``peers`` extra pins (1.77.7); the script prints the
version it imported.

``pick``: for catalogs of 200, 2,000 and 20,000 deployments (model groups of 4
deployments, each ``openai/gpt-4o`` at its own api_base) it times our
``Router.route()`` and LiteLLM's ``Router.async_get_available_deployment()``,
one request per group name chosen round-robin. Both sides describe the same
deployments: one LiteLLM ``model_list`` is given to LiteLLM's Router and, through
our importer (``import_litellm_config``, as ``modelrouter catalog import`` does),
becomes our catalog (only its deployments, no bundled catalog). Our request
has the shape of benchmarks/route.py's (input and output tokens, ``require:
[tools]``, strategy balanced; no reservation), LiteLLM's one short message.
The two sides alternate in rounds (ours, LiteLLM's, ours, ...) in this one
process and loop; each round is capped in calls and in seconds (LiteLLM's pick
grows with the catalog). Printed: median and p99 in µs of each side's fastest
round (lowest median), the growth against the smallest catalog, and
LiteLLM/ours. The machine is shared and absolute speed moves: only ratios
measured in one run count. Pin the pick part to one core (``taskset -c 0``)
so the two sides run on the same core and do not migrate.

``http``: starts our service (``modelrouter serve``, benchmarks/http.py's
``start``: 2 workers, SQLite) and LiteLLM's proxy (2 uvicorn workers, a
``gpt-4o`` group of 4 deployments answering ``mock_response``, no database, no
master key), both up for the whole part, then drives them in turn from this
machine (wrk when installed, else httpx from this process) at concurrency 16
and 64 for a few seconds each: our ``POST /v1/route`` against their
``POST /chat/completions``, alternating, best of the rounds. Prints
throughput, p50 and p99 and the ratios, then stops both servers.

LiteLLM's proxy needs its ``proxy`` extra, whose pins (uvicorn < 0.30,
fastapi < 0.116) conflict with the service's: it runs from an environment of
its own, ``.venv-litellm``, which ``make bench-litellm`` makes from
benchmarks/litellm-proxy.txt (``litellm[proxy]==1.77.7``, the version the
``peers`` extra pins); ``--litellm-python`` names another interpreter. Without
it the http part says what is missing and measures only our side.
``--litellm-launch cli`` starts the proxy through
``litellm --config ... --num_workers 2`` instead of uvicorn: with this
project's uvicorn (>= 0.30, its worker health check) the CLI's workers, which
import LiteLLM twice under multiprocessing's spawn, can miss the 5 s check on
a busy machine and are restarted in a loop.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this folder would come first on the import path and its
# http.py would shadow the standard library's http: take it off, and put the
# repository on instead so ``benchmarks.*`` imports.
_HERE = Path(__file__).resolve().parent
sys.path = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before anything imports litellm

import argparse
import asyncio
import gc
import shlex
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks import http as http_bench
from benchmarks import litellm_side
from benchmarks.route import NOW, percentile
from modelrouter.catalog.index import Catalog
from modelrouter.catalog.sources.litellm import import_litellm_config
from modelrouter.request.model import RouteRequest
from modelrouter.router import Router

STRATEGIES = ("simple-shuffle", "latency-based-routing", "usage-based-routing-v2")


# -- pick ----------------------------------------------------------------------


@dataclass
class Side:
    label: str
    call: Callable[[int], Awaitable[Any]]  # the i-th request, awaited
    rounds: list[list[float]] = field(default_factory=list)
    next_index: int = 0

    def best(self) -> list[float]:
        return min(self.rounds, key=statistics.median)


async def run_round(side: Side, calls: int, seconds: float) -> None:
    samples: list[float] = []
    stop = time.perf_counter() + seconds
    while len(samples) < calls and (len(samples) < 5 or time.perf_counter() < stop):
        index = side.next_index
        side.next_index += 1
        start = time.perf_counter_ns()
        await side.call(index)
        samples.append((time.perf_counter_ns() - start) / 1000)
    side.rounds.append(samples)


def our_side(entries: list[dict[str, Any]], groups: list[str]) -> tuple[Side, float]:
    started = time.perf_counter()
    imported = import_litellm_config(
        {"model_list": entries}, Catalog.bundled(), source="compare-model-list"
    )
    # As `serve --no-bundled --catalog imported.yaml` would run it: only these deployments.
    catalog = Catalog.from_layers([("import", imported.document)])
    built = time.perf_counter() - started
    assert len(catalog.deployments) == len(entries), (len(catalog.deployments), len(entries))
    router = Router(catalog, clock=lambda: NOW)
    count = len(groups)

    def request(i: int) -> RouteRequest:
        return RouteRequest(
            model=groups[i % count],
            input_tokens=2000 + i % 500,
            max_output_tokens=500,
            request_id=f"req-{i}",
            require=["tools"],
            strategy="balanced",
        )

    # Built ahead, as route.py does: the timed call is Router.route alone.
    requests = [request(i) for i in range(max(4 * count, 20_000))]
    first = router.route(requests[0])
    assert first.primary.via == groups[0], first.primary

    async def call(i: int) -> Any:
        return router.route(requests[i % len(requests)])

    return Side("modelrouter Router.route", call), built


def litellm_side_for(
    entries: list[dict[str, Any]], groups: list[str], strategy: str
) -> tuple[Side, float]:
    started = time.perf_counter()
    router = litellm_side.make_router(entries, strategy)
    built = time.perf_counter() - started
    count = len(groups)

    async def call(i: int) -> Any:
        return await litellm_side.pick(router, groups[i % count])

    return Side(f"litellm {strategy}", call), built


async def measure_pick(
    size: int, strategies: list[str], rounds: int, calls: int, seconds: float
) -> list[tuple[Side, float]]:
    entries = litellm_side.model_list(size)
    groups = litellm_side.group_names(size)
    sides = [our_side(entries, groups)]
    sides += [litellm_side_for(entries, groups, strategy) for strategy in strategies]
    # The same deployment must come back from LiteLLM: a group of ours.
    chosen = await sides[1][0].call(0)
    assert chosen["model_name"] == groups[0], chosen
    for side, _ in sides:  # warm-up: caches, branch predictors, LiteLLM's first-call setup
        await run_round(side, 200, min(seconds, 1.0))
        side.rounds.clear()
    # Both catalogs and every router are millions of objects: a full collection
    # landing in one side's round would stall it for seconds. Freeze them out
    # of the collector, and collect between rounds, off the clock.
    gc.collect()
    gc.freeze()
    try:
        for _ in range(rounds):
            for side, _ in sides:
                gc.collect()
                await run_round(side, calls, seconds)
    finally:
        gc.unfreeze()
    return sides


def pick_part(args: argparse.Namespace) -> list[str]:
    lines = [
        f"pick: {args.rounds} rounds per side, each at most {args.decisions} calls or "
        f"{args.round_seconds:g} s (at least 5 calls); fastest round shown; µs",
        "catalog: one LiteLLM model_list (groups of 4 deployments) -> LiteLLM Router, and "
        "-> import_litellm_config -> our Catalog",
        f"{'deployments':>11}  {'side':<38} {'build s':>8} {'calls':>11} "
        f"{'median':>10} {'p99':>10} {'vs smallest':>11} {'LiteLLM/ours':>12}",
    ]
    for line in lines:
        print(line, flush=True)
    baseline: dict[str, float] = {}
    litellm_side.load()
    Catalog.bundled()  # the importer's base: built (and cached) before anything is timed
    for size in args.sizes:
        sides = asyncio.run(
            measure_pick(size, args.strategies, args.rounds, args.decisions, args.round_seconds)
        )
        ours = statistics.median(sides[0][0].best())
        for side, built in sides:
            best = side.best()
            median = statistics.median(best)
            baseline.setdefault(side.label, median)
            calls = f"{len(best)}x{len(side.rounds)}"
            ratio = "" if side is sides[0][0] else f"{median / ours:11.1f}x"
            line = (
                f"{size:>11}  {side.label:<38} {built:>8.2f} {calls:>11} "
                f"{median:>10.1f} {percentile(best, 0.99):>10.1f} "
                f"{median / baseline[side.label]:>10.2f}x {ratio:>12}"
            )
            print(line, flush=True)
            lines.append(line)
        del sides
        gc.collect()
    return lines


# -- http ----------------------------------------------------------------------


@dataclass
class Target:
    label: str
    url: str
    key: str
    script: str | None  # wrk script; None: http.py's route script
    path: str
    body: Callable[[int], dict[str, Any]]

    def drive(self, concurrency: int, seconds: float) -> tuple[float, float, float, int]:
        if shutil.which("wrk"):
            script = http_bench.WRK_SCRIPT if self.script is None else self.script
            rate, lat = http_bench.drive_wrk(self.url, self.key, concurrency, seconds, script)
            return rate, lat["50%"], lat["99%"], int(lat.get("errors", 0))
        errors, latencies = asyncio.run(
            http_bench.drive(
                self.url, self.key, concurrency, seconds, path=self.path, body=self.body
            )
        )
        return (
            len(latencies) / seconds,
            statistics.median(latencies),
            percentile(latencies, 0.99),
            errors,
        )


def http_part(args: argparse.Namespace, scratch: Path) -> list[str]:
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    client = "wrk" if shutil.which("wrk") else "httpx (no wrk)"
    say(
        f"http: {args.workers} workers each, client {client}, {args.seconds:g} s per run, "
        f"{args.http_rounds} alternating rounds, best round shown"
    )
    env = {
        **os.environ,
        "MODELROUTER_DATA_DIR": str(scratch),
        "MODELROUTER_DATABASE_URL": f"sqlite:///{scratch / 'compare.db'}",
    }
    env.pop("MODELROUTER_NATS_URL", None)
    env.pop("MODELROUTER_REDIS_URL", None)
    problem = litellm_side.proxy_problem(args.litellm_python)
    if problem:
        say(
            f"LiteLLM's proxy cannot start: {problem} (`make bench-litellm` installs "
            "litellm[proxy]==1.77.7 into .venv-litellm). Measuring our side only."
        )
    ours_server = None
    proxy = None
    targets: list[Target] = []
    try:
        key = http_bench.gateway_key(env)
        port = http_bench.free_port()
        ours_server = http_bench.start(env, args.workers, port)
        url = f"http://127.0.0.1:{port}"
        asyncio.run(http_bench.drive(url, key, 4, 1.0))  # warm up every worker
        targets.append(
            Target(
                "modelrouter POST /v1/route",
                url,
                key,
                None,
                "/v1/route",
                http_bench.route_body,
            )
        )
        if not problem:
            config = scratch / "litellm_config.yaml"
            litellm_side.proxy_config(config)
            proxy_port = http_bench.free_port()
            proxy = litellm_side.start_proxy(
                config,
                proxy_port,
                args.workers,
                launch=args.litellm_launch,
                python=args.litellm_python,
                log=scratch / "litellm_proxy.log",
            )
            proxy_url = f"http://127.0.0.1:{proxy_port}"
            asyncio.run(
                http_bench.drive(
                    proxy_url,
                    "unused",  # no master key: the proxy reads no key
                    4,
                    1.0,
                    path="/chat/completions",
                    body=lambda i: {"model": "gpt-4o", "messages": litellm_side.MESSAGES},
                )
            )
            targets.append(
                Target(
                    "litellm POST /chat/completions (mock)",
                    proxy_url,
                    "unused",
                    litellm_side.CHAT_WRK_SCRIPT,
                    "/chat/completions",
                    lambda i: {
                        "model": "gpt-4o",
                        "messages": [{"role": "user", "content": f"Say hello {i}."}],
                    },
                )
            )
        say(
            f"{'concurrency':>11}  {'side':<38} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'errors':>6} {'rounds req/s':>20}"
        )
        for concurrency in args.concurrency:
            runs: dict[str, list[tuple[float, float, float, int]]] = {t.label: [] for t in targets}
            for _ in range(args.http_rounds):
                for target in targets:
                    runs[target.label].append(target.drive(concurrency, args.seconds))
            best = {label: max(found) for label, found in runs.items()}
            for target in targets:
                rate, p50, p99, errors = best[target.label]
                every = " ".join(f"{r[0]:.0f}" for r in runs[target.label])
                say(
                    f"{concurrency:>11}  {target.label:<38} {rate:>8.0f} {p50:>8.2f} "
                    f"{p99:>8.2f} {errors:>6} {every:>20}"
                )
            if len(targets) == 2:
                ours, theirs = best[targets[0].label], best[targets[1].label]
                # Each round's ours/LiteLLM, the two runs back to back: steadier
                # than best against best when the shared machine's load moves.
                pairs = [
                    a[0] / b[0]
                    for a, b in zip(runs[targets[0].label], runs[targets[1].label], strict=True)
                ]
                say(
                    f"{concurrency:>11}  {'ratio ours/LiteLLM':<38} {ours[0] / theirs[0]:>7.1f}x "
                    f"{'':>8} {'':>8}   (p99 LiteLLM/ours {theirs[2] / ours[2]:.1f}x, "
                    f"p50 {theirs[1] / ours[1]:.1f}x; per round "
                    + " ".join(f"{r:.1f}x" for r in pairs)
                    + ")"
                )
    finally:
        if proxy is not None:
            litellm_side.stop_proxy(proxy)
        if ours_server is not None:
            ours_server.terminate()
            ours_server.wait(30)
    stopped = [
        name
        for name, server in (("modelrouter", ours_server), ("litellm proxy", proxy))
        if server is not None
    ]
    say(f"stopped: {', '.join(stopped)}")
    return lines


# -- main ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", nargs="+", choices=["pick", "http"], default=["pick", "http"])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--decisions", type=int, default=None, help="calls per round at most")
    parser.add_argument("--round-seconds", type=float, default=None, help="per round at most")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seconds", type=float, default=None, help="per http run")
    parser.add_argument("--http-rounds", type=int, default=None)
    parser.add_argument(
        "--litellm-python",
        default=str(_HERE.parent / ".venv-litellm" / "bin" / "python"),
        help="the interpreter with litellm[proxy] installed (make bench-litellm)",
    )
    parser.add_argument("--litellm-launch", choices=["uvicorn", "cli"], default="uvicorn")
    args = parser.parse_args()
    quick = args.quick
    args.sizes = args.sizes or ([200, 2000] if quick else [200, 2000, 20_000])
    args.strategies = args.strategies or (["simple-shuffle"] if quick else list(STRATEGIES))
    args.rounds = args.rounds or (2 if quick else 5)
    args.decisions = args.decisions or (300 if quick else 2000)
    args.round_seconds = args.round_seconds or (0.5 if quick else 2.0)
    args.seconds = args.seconds or (3.0 if quick else 5.0)
    args.http_rounds = args.http_rounds or (1 if quick else 2)

    affinity = sorted(os.sched_getaffinity(0))
    python = (
        os.path.relpath(sys.executable)
        if sys.executable.startswith(os.getcwd())
        else sys.executable
    )
    pinned = (
        f"taskset -c {','.join(map(str, affinity))} "
        if len(affinity) < (os.cpu_count() or 1)
        else ""
    )
    print(f"$ {pinned}" + shlex.join([python, "-m", "benchmarks.compare", *sys.argv[1:]]))
    print(
        f"python {sys.version.split()[0]}, litellm {litellm_side.litellm_version()}, "
        f"cores allowed {affinity}, load average {os.getloadavg()[0]:.2f}"
    )
    if "pick" in args.parts:
        pick_part(args)
    if "http" in args.parts:
        # Under `taskset -c 0` (for the pick part) the servers would inherit one
        # core: give this process, and so them and wrk, every core back.
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
        with tempfile.TemporaryDirectory() as scratch:
            http_part(args, Path(scratch))


if __name__ == "__main__":
    main()
