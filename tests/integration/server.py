"""A real ``modelrouter serve`` process for the crash and outage tests, and a
bounded load generator that records what the service acknowledged."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from modelrouter.store.database import create_engine_for, upgrade

ROOT = Path(__file__).resolve().parents[2]


def upgrade_database(url: str) -> None:
    """Bring the database's schema up to date from this process (servers
    started side by side then find nothing to migrate)."""
    engine = create_engine_for(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """``modelrouter serve`` on a free port, with its data under ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.workers = workers
        self.env = {
            **os.environ,
            "MODELROUTER_DATA_DIR": str(data_dir),
            "MODELROUTER_DATABASE_URL": database_url,
        }
        self.env.pop("MODELROUTER_NATS_URL", None)
        self.env.update(env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        return self.launch().ready(timeout)

    def launch(self) -> Server:
        """Start the process and return at once (``ready`` waits for it)."""
        command = [sys.executable, "-m", "modelrouter", "serve", "--local-keys"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        log = (self.data_dir / f"server-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        return self

    def ready(self, timeout: float = 60) -> Server:
        """Wait until the launched process answers ``/healthz``."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not start in time")

    @staticmethod
    def start_all(servers: list[Server], timeout: float = 60) -> list[Server]:
        """Start several servers side by side (their start-up is mostly
        importing, one core each), then wait until every one answers; if one
        fails to, every one is stopped."""
        try:
            for server in servers:
                server.launch()
            for server in servers:
                server.ready(timeout)
        except BaseException:
            for server in servers:
                server.stop()
            raise
        return servers

    @property
    def gateway_key(self) -> str:
        keys: dict[str, str] = json.loads((self.data_dir / "local-keys.json").read_text())
        return keys["gateway"]

    def kill(self) -> None:
        """``kill -9`` of the server and every worker it started."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Load:
    """What a load run saw: the decision ids acknowledged with 200, and every
    status (0: the connection failed, as it does when the server is killed)."""

    acknowledged: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after: int = 0  # 503 answers that carried Retry-After
    stop: threading.Event = field(default_factory=threading.Event)


def hammer(server: Server, load: Load, *, prefix: str, threads: int, seconds: float) -> None:
    """Route from ``threads`` clients until ``load.stop`` is set or
    ``seconds`` have passed; bounded in time, addressed to loopback only."""
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {server.gateway_key}"}
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=server.base, headers=headers, timeout=10) as http:
            count = 0
            while not load.stop.is_set() and time.monotonic() < deadline:
                count += 1
                body = {
                    "model": "gpt-4o-mini",
                    "input_tokens": 100 + count,
                    "max_output_tokens": 50,
                    "tenant_id": f"tenant-{index % 3}",
                    "request_id": f"{prefix}-{index}-{count}",
                }
                try:
                    response = http.post("/v1/route", json=body)
                except httpx.HTTPError:
                    with lock:
                        load.statuses[0] += 1
                    time.sleep(0.01)
                    continue
                with lock:
                    load.statuses[response.status_code] += 1
                    if response.status_code == 200:
                        load.acknowledged.append(response.json()["decision_id"])
                    elif response.status_code == 503 and "retry-after" in response.headers:
                        load.retry_after += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
