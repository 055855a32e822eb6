"""Routes per second and latency through the HTTP service, over loopback.

    .venv/bin/python -m benchmarks.http [--seconds S] [--postgres URL]
        [--backends sqlite postgresql] [--redis URL] [--observe]
        [--servers uvicorn granian] [--rounds N]
    .venv/bin/python -m benchmarks.http --rss-routes N [--rss-every K]
        [--workers W] [--backends sqlite]

Starts ``modelrouter serve`` (uvicorn) with 1 and 2 workers, on SQLite and on
a fresh PostgreSQL database, and drives ``POST /v1/route`` from this process
with 1, 16 and 64 concurrent connections for a fixed time each. The load comes
from ``wrk`` (Debian's package; a C load generator, every request with its own
request id) when it is installed, else from httpx in this process (much more
costly for the client). Prints routes/s and latency p50/p90/p99 in ms. Client
and server share this machine's 2 cores: the figures include the client's cost.

``--servers uvicorn granian`` runs the same app on granian too (a Rust HTTP
server; ``pip install -e '.[bench]'``), the servers taken in turn ``--rounds``
times for each worker count.

``--redis URL`` runs each backend a second time with the live signals shared
through that Redis; ``--observe`` reports a served attempt (latency, usage)
for every hop of a warm-up plan first, so each route reads live signals for
its candidates.

``--rss-routes N`` measures memory instead: it starts the service (once per
backend and worker count), drives N routes with distinct request ids over
keep-alive connections (``--rss-concurrency``, default 16), and every
``--rss-every`` routes (default 10,000) reads VmRSS from ``/proc/<pid>/status``
of each uvicorn worker process (the server's children; with one worker
uvicorn serves in the server process itself, which is then what is read).
Prints a table: routes, then RSS in MB per worker.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py: take its folder off the import path, or it would
# shadow the standard library's http package that httpx imports.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from sqlalchemy import create_engine, text

BODY = {"model": "gpt-4o", "input_tokens": 2000, "max_output_tokens": 500}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The ASGI servers the benchmark can run the app on: ``modelrouter serve``
# (uvicorn, what the project ships), or granian (a Rust HTTP server, only for
# the comparison: ``pip install -e '.[bench]'``).
SERVERS = ("uvicorn", "granian")


def server_command(server: str, workers: int, port: int) -> list[str]:
    if server == "granian":
        granian = shutil.which("granian", path=str(Path(sys.executable).parent))
        if granian is None:
            raise SystemExit("granian is not installed: pip install -e '.[bench]'")
        return [
            granian,
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "modelrouter.service.app:create_app",
        ]
    return [
        sys.executable,
        "-m",
        "modelrouter",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def start(
    env: dict[str, str], workers: int, port: int, server: str = "uvicorn"
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        server_command(server, workers, port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not become ready")


def gateway_key(env: dict[str, str]) -> str:
    """A new gateway key in the store ``env`` names."""
    return subprocess.run(
        [sys.executable, "-m", "modelrouter", "keys", "create", "--role", "gateway"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def route_body(number: int) -> dict[str, Any]:
    """The benchmark's route request, with a request id of its own."""
    return {**BODY, "request_id": f"{number}-{uuid.uuid4().hex}"}


async def drive(
    url: str,
    key: str,
    concurrency: int,
    seconds: float,
    *,
    path: str = "/v1/route",
    body: Callable[[int], dict[str, Any]] = route_body,
) -> tuple[int, list[float]]:
    """httpx from this process: ``concurrency`` clients post ``body(n)`` to
    ``path`` (n unique per request) for ``seconds``; the errors and latencies."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    async def worker(index: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            sent = 0
            while time.monotonic() < stop:
                start_at = time.perf_counter()
                response = await client.post(path, json=body(index * 1_000_000 + sent))
                latencies.append((time.perf_counter() - start_at) * 1000)
                sent += 1
                if response.status_code != 200:
                    errors += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return errors, latencies


WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"model": "gpt-4o", "input_tokens": %d, "max_output_tokens": 500, "request_id": "%s-%d"}',
    2000 + counter % 500, tostring(os.time()) .. tostring(math.random(1e9)), counter)
  return wrk.format("POST", "/v1/route", nil, body)
end
"""


def drive_wrk(
    url: str, key: str, concurrency: int, seconds: float, script: str = WRK_SCRIPT
) -> tuple[float, dict[str, float]]:
    """wrk with ``script`` (Lua: the requests); requests/s and the latency
    percentiles in ms (and ``errors``: answers other than 2xx)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    done = subprocess.run(
        [
            "wrk",
            f"-t{min(2, concurrency)}",
            f"-c{concurrency}",
            f"-d{int(seconds)}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {key}",
            "-H",
            "Content-Type: application/json",
            "-s",
            file.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(file.name)
    rate = 0.0
    latency: dict[str, float] = {}
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for line in done.stdout.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rate = float(parts[1])
        elif len(parts) == 2 and parts[0].endswith("%") and parts[0] in {"50%", "90%", "99%"}:
            value = parts[1]
            unit = next(u for u in ("us", "ms", "s") if value.endswith(u))
            latency[parts[0]] = float(value[: -len(unit)]) * units[unit]
        elif "Non-2xx" in line:
            latency["errors"] = float(parts[-1])
    return rate, latency


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))]


def observe(url: str, key: str) -> None:
    """Teach every worker latency for each hop of the benchmark's plans."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for index in range(40):
            plan = client.post("/v1/route", json={**BODY, "request_id": f"warm-{index}"}).json()
            hops = [plan["primary"], *plan["fallbacks"]]
            for position, hop in enumerate(hops):
                client.post(
                    f"/v1/decisions/{plan['decision_id']}/attempts",
                    json={
                        "attempt_id": str(position),
                        "deployment": hop["deployment"],
                        "status": "ok",
                        "final": position == len(hops) - 1,
                        "ttft_ms": 200 + 50 * position,
                        "latency_ms": 2200 + 50 * position,
                        "usage": {"input_tokens": 2000, "output_tokens": 300},
                    },
                )


def run_backend(
    label: str,
    env: dict[str, str],
    seconds: float,
    workers_list: tuple[int, ...] = (1, 2),
    concurrencies: tuple[int, ...] = (1, 16, 64),
    *,
    learn: bool = False,
    servers: tuple[str, ...] = ("uvicorn",),
    rounds: int = 1,
) -> None:
    """Each worker count on each server in turn (A B A B over ``rounds``)."""
    key = gateway_key(env)
    for workers in workers_list:
        for _ in range(rounds):
            for server in servers:
                name = label if servers == ("uvicorn",) else f"{label} {server}"
                run_server(name, env, key, workers, server, seconds, concurrencies, learn)


def run_server(
    label: str,
    env: dict[str, str],
    key: str,
    workers: int,
    server: str,
    seconds: float,
    concurrencies: tuple[int, ...],
    learn: bool,
) -> None:
    port = free_port()
    process = start(env, workers, port, server)
    try:
        url = f"http://127.0.0.1:{port}"
        if learn:
            observe(url, key)
        asyncio.run(drive(url, key, 4, 1.0))  # warm up every worker
        for concurrency in concurrencies:
            if shutil.which("wrk"):
                rate, lat = drive_wrk(url, key, concurrency, seconds)
                p50, p90, p99 = lat["50%"], lat["90%"], lat["99%"]
                errors = int(lat.get("errors", 0))
            else:
                errors, latencies = asyncio.run(drive(url, key, concurrency, seconds))
                rate = len(latencies) / seconds
                p50 = statistics.median(latencies)
                p90, p99 = percentile(latencies, 0.9), percentile(latencies, 0.99)
            print(
                f"{label:10} workers {workers}  concurrency {concurrency:3}  "
                f"{rate:7.0f} routes/s  p50 {p50:7.2f} ms  p90 {p90:7.2f} ms  "
                f"p99 {p99:7.2f} ms  errors {errors}",
                flush=True,
            )
    finally:
        process.terminate()
        process.wait(30)


def worker_pids(server: int) -> list[int]:
    """The uvicorn worker processes: the server's children, or the server
    itself when it serves in process (one worker)."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("PPid:"):
                if int(line.split()[1]) == server:
                    cmdline = (entry / "cmdline").read_bytes()
                    # multiprocessing's resource tracker is a child too: not a worker.
                    if b"resource_tracker" not in cmdline:
                        children.append(int(entry.name))
                break
    return sorted(children) or [server]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def drive_count(
    port: int, key: str, routes: int, concurrency: int, tag: str, on_progress: Any
) -> int:
    """Send ``routes`` route requests, each with its own request id, over
    ``concurrency`` keep-alive HTTP/1.1 connections (a minimal client: httpx
    would cost the shared cores more than the server). ``on_progress(done)``
    is called after each answer with the number answered so far."""
    sent = 0
    errors = 0
    done = 0

    async def connection() -> None:
        nonlocal sent, errors, done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while sent < routes:
                index = sent
                sent += 1
                body = (
                    f'{{"model": "gpt-4o", "input_tokens": {2000 + index % 500}, '
                    f'"max_output_tokens": 500, "request_id": "{tag}-{index}"}}'
                ).encode()
                head = (
                    "POST /v1/route HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                writer.write(head + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                if status_line.split()[1] != b"200":
                    errors += 1
                done += 1
                on_progress(done)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return errors


def run_rss(
    label: str, env: dict[str, str], routes: int, every: int, workers: int, concurrency: int
) -> None:
    key = gateway_key(env)
    port = free_port()
    server = start(env, workers, port)
    try:
        # Every worker answers a few requests first (imports, first-use caches).
        asyncio.run(drive_count(port, key, 200, 8, "warm", lambda _: None))
        pids = worker_pids(server.pid)
        print(
            f"{label}: {workers} worker(s), pids {pids}, {routes} routes, {concurrency} connections"
        )
        print(
            f"{'routes':>9}  "
            + "  ".join(f"{'worker ' + str(i + 1):>10}" for i in range(len(pids)))
            + "   elapsed"
        )
        began = time.monotonic()

        def row(count: int) -> None:
            sizes = "  ".join(f"{rss_mb(pid):7.1f} MB" for pid in pids)
            print(f"{count:9}  {sizes}   {time.monotonic() - began:6.0f} s", flush=True)

        row(0)

        def progress(done: int) -> None:
            if done % every == 0 and done != routes:
                row(done)

        errors = asyncio.run(
            drive_count(port, key, routes, concurrency, uuid.uuid4().hex[:12], progress)
        )
        row(routes)
        time.sleep(5)  # the writer commits what is left
        print(f"{'+5 s idle':>9}  " + "  ".join(f"{rss_mb(pid):7.1f} MB" for pid in pids))
        print(f"errors {errors}")
    finally:
        server.terminate()
        server.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--redis", default=None, help="also run with signals shared through it")
    parser.add_argument("--observe", action="store_true", help="report attempts first")
    parser.add_argument(
        "--rss-routes", type=int, default=0, help="measure worker RSS over this many routes"
    )
    parser.add_argument("--rss-every", type=int, default=10_000, help="routes between samples")
    parser.add_argument("--rss-concurrency", type=int, default=16)
    parser.add_argument(
        "--servers", nargs="+", choices=SERVERS, default=["uvicorn"], help="taken in turn"
    )
    parser.add_argument("--rounds", type=int, default=1, help="alternations of the servers")
    args = parser.parse_args()
    shapes = (tuple(args.workers), tuple(args.concurrency))
    if shutil.which("wrk"):
        print("load: wrk", flush=True)
    else:
        # Said first: without wrk the figures are of little use next to wrk's.
        print(
            "load: httpx in this process, as wrk is not installed (Debian: apt-get install "
            "wrk); the client shares the cores and the interpreter, so throughput is lower "
            "and the tail includes its own stalls: compare only with runs made the same way",
            flush=True,
        )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        base = {**os.environ, "MODELROUTER_DATA_DIR": str(folder)}
        base.pop("MODELROUTER_NATS_URL", None)
        base.pop("MODELROUTER_REDIS_URL", None)
        variants: list[tuple[str, dict[str, str]]] = [("", {})]
        if args.redis:
            prefix = f"bench-{uuid.uuid4().hex[:8]}"
            variants.append(
                (
                    "+redis",
                    {"MODELROUTER_REDIS_URL": args.redis, "MODELROUTER_REDIS_PREFIX": prefix},
                )
            )
        if args.rss_routes:
            for workers in args.workers:
                if "sqlite" in args.backends:
                    env = {
                        **base,
                        "MODELROUTER_DATABASE_URL": f"sqlite:///{folder / f'rss{workers}.db'}",
                    }
                    run_rss(
                        "sqlite",
                        env,
                        args.rss_routes,
                        args.rss_every,
                        workers,
                        args.rss_concurrency,
                    )
                if "postgresql" in args.backends:
                    run_postgres_rss(args.postgres, base, args, workers)
            return
        for suffix, extra in variants:
            if "sqlite" in args.backends:
                env = {
                    **base,
                    **extra,
                    "MODELROUTER_DATABASE_URL": f"sqlite:///{folder / f'bench{suffix}.db'}",
                }
                run_for(args, "sqlite" + suffix, env, shapes)
            if "postgresql" in args.backends:
                run_postgres(args.postgres, {**base, **extra}, suffix, args, shapes)


def run_for(
    args: argparse.Namespace,
    label: str,
    env: dict[str, str],
    shapes: tuple[tuple[int, ...], tuple[int, ...]],
) -> None:
    """``run_backend`` with the command line's options."""
    run_backend(
        label,
        env,
        args.seconds,
        *shapes,
        learn=args.observe,
        servers=tuple(args.servers),
        rounds=args.rounds,
    )


@contextlib.contextmanager
def scratch_database(server: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database on ``server`` (its URL), dropped afterwards."""
    admin = create_engine(
        "postgresql+psycopg://" + server.split("://", 1)[1], isolation_level="AUTOCOMMIT"
    )
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_postgres(
    server: str,
    base: dict[str, str],
    suffix: str,
    args: argparse.Namespace,
    shapes: tuple[tuple[int, ...], tuple[int, ...]],
) -> None:
    with scratch_database(server, "modelrouter_http") as url:
        env = {**base, "MODELROUTER_DATABASE_URL": url}
        run_for(args, "postgresql" + suffix, env, shapes)


def run_postgres_rss(
    server: str, base: dict[str, str], args: argparse.Namespace, workers: int
) -> None:
    with scratch_database(server, "modelrouter_rss") as url:
        env = {**base, "MODELROUTER_DATABASE_URL": url}
        run_rss("postgresql", env, args.rss_routes, args.rss_every, workers, args.rss_concurrency)


if __name__ == "__main__":
    main()
