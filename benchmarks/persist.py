"""Routing throughput with decisions persisted, against without, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.persist [--decisions N] [--postgres URL]

For each backend: route N decisions from ``--threads`` threads (16, as a
service at concurrency 16) with persistence off (the baseline, in the same
process), then route them again submitting each to the ``DecisionWriter``
(which returns once the decision is durable in the journal: concurrent
submits share a group commit) and waiting at the end until every decision is
committed. Prints decisions per second for both and the cost of persistence
as a share of routing throughput.
PostgreSQL defaults to a fresh database on 127.0.0.1:5432 (dropped afterwards).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run directly, this folder would come first on the import path, and its
# http.py would shadow the standard library's http: take it off.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import itertools
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from modelrouter.catalog.index import Catalog
from modelrouter.router import Router
from modelrouter.service.collector import settle_collector
from modelrouter.store.database import create_engine_for, upgrade
from modelrouter.store.journal import Journal, encode
from modelrouter.store.repository import Repository
from modelrouter.store.writer import DecisionWriter
from modelrouter.types import RoutingPlan


def clock() -> Callable[[], datetime]:
    """A clock that moves a microsecond per reading, safe to read from threads."""
    start = datetime(2026, 6, 1, tzinfo=UTC)
    ticks = itertools.count()
    lock = threading.Lock()

    def now() -> datetime:
        with lock:
            tick = next(ticks)
        return start + timedelta(microseconds=tick)

    return now


def requests(count: int, tag: str) -> list[dict[str, object]]:
    return [
        {
            "model": "gpt-4o",
            "input_tokens": 2000 + i % 700,
            "max_output_tokens": 500,
            "request_id": f"{tag}-{i}",
            "tenant_id": f"t{i % 5}",
        }
        for i in range(count)
    ]


def rate(count: int, seconds: float) -> float:
    return count / seconds


def routed_rate(
    router: Router, count: int, threads: int, tag: str, each: Callable[[RoutingPlan], object]
) -> float:
    """Decisions per second routing ``count`` requests from ``threads``
    threads, handing each plan to ``each``."""

    def one(request: dict[str, object]) -> None:
        each(router.route(request))

    batch = requests(count, tag)
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, batch))
    return rate(count, time.perf_counter() - start)


def warmed(catalog: Catalog) -> Router:
    router = Router(catalog, clock=clock())
    for request in requests(300, "warm"):
        encode(router.route(request))
    return router


def stages(catalog: Catalog, count: int, folder: Path, threads: int) -> None:
    """The cost of each stage of persisting, against routing alone measured
    just before it."""
    router = warmed(catalog)
    journal = Journal(folder, "stages").start()

    def journaled(plan: RoutingPlan) -> None:
        done = threading.Lock()
        done.acquire()
        journal.append(plan, lambda row, segment, error: done.release())
        done.acquire()

    for label, each in (("encoded", encode), ("encoded+journaled", journaled)):
        off = routed_rate(router, count, threads, f"{label}-off", lambda plan: None)
        on = routed_rate(router, count, threads, f"{label}-on", each)
        print(
            f"stage {label:18} off {off:8.0f}/s   on {on:8.0f}/s   "
            f"cost {100 * (1 - on / off):5.1f} % of throughput"
        )
    journal.close()


def run(label: str, url: str, catalog: Catalog, count: int, spool: Path, threads: int) -> None:
    engine = create_engine_for(url)
    upgrade(engine)
    repository = Repository(engine)
    router = warmed(catalog)
    off = routed_rate(router, count, threads, "off", lambda plan: None)

    writer = DecisionWriter(repository, spool).start()
    start = time.perf_counter()
    routed = routed_rate(router, count, threads, "on", writer.submit)
    writer.flush()
    committed = rate(count, time.perf_counter() - start)
    writer.close()
    stored = repository.count_decisions()
    assert stored >= count, (stored, count)
    engine.dispose()
    print(
        f"{label:10} off {off:8.0f}/s   on {routed:8.0f}/s routed, "
        f"{committed:8.0f}/s committed   cost "
        f"{100 * (1 - committed / off):5.1f} % of throughput (all committed), "
        f"{100 * (1 - routed / off):5.1f} % (routing loop)"
    )


def record_cost(url: str, catalog: Catalog, count: int) -> None:
    """What making the record of one decision costs, piece by piece, in one
    thread: building its snapshot, encoding its row and journal line, and its
    share of a batched insert (batches of 500, as the writer takes them)."""
    engine = create_engine_for(url)
    upgrade(engine)
    repository = Repository(engine)
    router = Router(catalog, clock=clock())
    plans = [router.route(request, reserve=False) for request in requests(count, "rec")]
    start = time.perf_counter()
    for plan in plans:
        _ = plan.snapshot
    snapshot = time.perf_counter() - start
    start = time.perf_counter()
    rows = [encode(plan)[0] for plan in plans]
    encoded = time.perf_counter() - start
    start = time.perf_counter()
    for first in range(0, len(rows), 500):
        repository.save_decisions(rows[first : first + 500])
    inserted = time.perf_counter() - start
    engine.dispose()
    per = 1e6 / count
    print(
        f"record per decision ({url.split(':', 1)[0]}): snapshot {snapshot * per:6.1f} µs, "
        f"row and journal line {encoded * per:6.1f} µs, insert {inserted * per:6.1f} µs, "
        f"total {(snapshot + encoded + inserted) * per:6.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--record-only", action="store_true", help="only the per-decision cost")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--default-gc", action="store_true", help="the interpreter's collector settings"
    )
    args = parser.parse_args()
    catalog = Catalog.bundled()
    if not args.default_gc:
        settle_collector()
    print(
        f"{args.decisions} decisions per run from {args.threads} threads, bundled catalog, "
        "alias gpt-4o (3 deployments), collector "
        + ("as the interpreter sets it" if args.default_gc else "as a serving process sets it")
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        record_cost(f"sqlite:///{folder / 'record.db'}", catalog, args.decisions)
        if args.record_only:
            return
        stages(catalog, args.decisions, folder, args.threads)
        run(
            "sqlite",
            f"sqlite:///{folder / 'bench.db'}",
            catalog,
            args.decisions,
            folder / "spool-sqlite.jsonl",
            args.threads,
        )
        admin_url = "postgresql+psycopg://" + args.postgres.split("://", 1)[1]
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        name = f"modelrouter_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            base = args.postgres.rsplit("/", 1)[0]
            spool = folder / "spool-pg.jsonl"
            run("postgresql", f"{base}/{name}", catalog, args.decisions, spool, args.threads)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
