"""What ``POST /v1/route`` costs the service itself, without sockets or a client.

    .venv/bin/python -m benchmarks.app [--requests N] [--concurrency C] [--rounds R]

Builds the app on the embedded defaults (a fresh SQLite store in a scratch
data directory, the bundled catalog), runs its lifespan, and calls it as an
ASGI application: ``C`` tasks send ``N`` route requests in all, each with its
own request id, in each of ``R`` rounds. Every answer is checked to be a 200.
Per round it prints the CPU time per request of the whole process (every
thread: the event loop, the journal, the writer, the event sink) and of the
event loop's thread alone, read from ``/proc/self/task``; then the fastest
round. Run it pinned (``taskset -c 0``) and side by side with another tree
(``PYTHONPATH=<tree>/src``) to compare them: no HTTP server and no load
generator share the core, so the figures move less than ``benchmarks/http.py``'s.

``--record`` takes the decision record apart, one stage at a time, to say
what each costs the service per route when runs of each are alternated:
``full`` (the default: encoded, journaled, stored), ``journal`` (encoded and
journaled; the database writer stores nothing), ``encode`` (encoded on the
event loop, then the request waits one pass of the loop, as for a group
commit, and is answered), ``none`` (the writer's ``acknowledge`` returns at
once). The answer is the same in every case: the plan and its hash.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds http.py, which would shadow the standard library's http.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]


def _thread_cpu_us() -> dict[int, float]:
    """CPU µs so far of each of this process's threads (utime + stime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for task in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{task}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(task)] = (int(fields[11]) + int(fields[12])) * 1e6 / ticks
    return out


async def _lifespan(app: Any) -> tuple[asyncio.Task[None], asyncio.Queue[Message]]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")
    return task, inbox


def _caller(app: Any, key: str) -> Callable[[str, int], Awaitable[None]]:
    headers = [
        (b"host", b"bench"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
    ]

    async def route(request_id: str, tokens: int) -> None:
        body = json.dumps(
            {
                "model": "gpt-4o",
                "input_tokens": tokens,
                "max_output_tokens": 500,
                "request_id": request_id,
            }
        ).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/route",
            "raw_path": b"/v1/route",
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"route answered {sent[0]['status']}: {sent[1:]}")

    return route


RECORDS = ("full", "journal", "encode", "none")


def _take_apart(writer: Any, record: str) -> None:
    """Replace the stages of ``writer`` that ``record`` leaves out (see the
    module's docstring)."""
    from modelrouter.store.journal import encode

    async def encoded_only(plan: Any) -> None:
        encode(plan)
        await asyncio.sleep(0)

    async def nothing(plan: Any) -> None:
        return None

    if record == "journal":
        writer.repository.save_decisions = len  # "stored": as many rows as given
    elif record == "encode":
        writer.acknowledge = encoded_only
    elif record == "none":
        writer.acknowledge = nothing


async def _run(requests: int, concurrency: int, rounds: int, key: str, record: str) -> None:
    from modelrouter.service.app import create_app

    app = create_app()
    task, inbox = await _lifespan(app)
    _take_apart(app.state.service.writer, record)
    route = _caller(app, key)
    loop_thread = threading.get_native_id()
    per_task = max(1, requests // concurrency)

    async def tasks(tag: str, count: int) -> None:
        async def one(index: int) -> None:
            for n in range(count):
                await route(f"{tag}-{index}-{n}", 2000 + n % 500)

        await asyncio.gather(*(one(i) for i in range(concurrency)))

    await tasks("warm", max(1, 300 // concurrency))
    best: tuple[float, float] | None = None
    for number in range(rounds):
        before = _thread_cpu_us()
        await tasks(f"r{number}", per_task)
        await asyncio.sleep(0.3)  # the writer commits the last batch
        after = _thread_cpu_us()
        done = per_task * concurrency
        total = sum(after[t] - before.get(t, 0.0) for t in after) / done
        loop = (after[loop_thread] - before[loop_thread]) / done
        print(f"round {number + 1}: {total:7.1f} µs CPU per route, {loop:7.1f} on the event loop")
        if best is None or total < best[0]:
            best = (total, loop)
    assert best is not None
    print(f"fastest: {best[0]:7.1f} µs CPU per route, {best[1]:7.1f} on the event loop")
    await inbox.put({"type": "lifespan.shutdown"})
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000, help="per round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--record", choices=RECORDS, default="full", help="the stages of the record kept"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["MODELROUTER_DATA_DIR"] = scratch
        for name in ("MODELROUTER_DATABASE_URL", "MODELROUTER_NATS_URL", "MODELROUTER_REDIS_URL"):
            os.environ.pop(name, None)
        key = subprocess.run(
            [sys.executable, "-m", "modelrouter", "keys", "create", "--role", "gateway"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        started = time.perf_counter()
        asyncio.run(_run(args.requests, args.concurrency, args.rounds, key, args.record))
        print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
