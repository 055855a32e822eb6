"""A fleet on one Redis: router processes that never talk to each other
share circuits, rpm windows and a budget ledger through it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from modelrouter.policy.budgets import window_for
from modelrouter.policy.document import Budget
from modelrouter.signals.redis_budgets import RedisBudgetStore
from tests import signals_race
from tests.integration.conftest import REDIS_URL
from tests.integration.server import ROOT, Server, upgrade_database


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


def _race(tmp_path: Path, mode: str, prefix: str, seconds: float) -> list[list[dict[str, Any]]]:
    outputs = [tmp_path / f"{mode}-{i}.jsonl" for i in range(signals_race.PROCESSES)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.signals_race", mode, prefix, str(seconds), str(out)],
            cwd=ROOT,
        )
        for out in outputs
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0
    return [[json.loads(line) for line in out.read_text().splitlines() if line] for out in outputs]


def test_an_rpm_limit_holds_across_three_processes(tmp_path: Path, prefix: str) -> None:
    runs = _race(tmp_path, "rpm", prefix, 4.0)
    plans = [line for lines in runs for line in lines]
    first = sorted(line["t"] for line in plans if line["primary"] == "beta/chat-small")
    # Every plan in this run falls inside one minute: none may pass the limit.
    assert len(plans) > 1000
    assert len(first) <= signals_race.RPM
    # And the limit is used, not hoarded: at most what the other instances hold unspent.
    assert len(first) >= signals_race.RPM - 2 * signals_race.PROCESSES
    # Once it is spent, the next cheapest serves.
    assert {line["primary"] for line in plans} == {"beta/chat-small", "alpha/chat-small"}


def test_three_processes_on_the_redis_ledger_never_pass_the_budget(
    tmp_path: Path, prefix: str
) -> None:
    runs = _race(tmp_path, "budget", prefix, 3.0)
    settled = [Decimal(line["cost"]) for lines in runs for line in lines if "cost" in line]
    refused = [line for lines in runs for line in lines if "refused" in line]
    assert settled and refused
    store = RedisBudgetStore(redis.Redis.from_url(REDIS_URL), prefix=prefix)
    now = datetime.now(UTC)
    key = window_for(Budget(period="day", limit_usd=signals_race.LIMIT), now).key
    [state] = store.state("shared", [key], now)
    assert state.spent == sum(settled)
    assert state.spent <= signals_race.LIMIT
    assert state.reserved == 0


# -- two `modelrouter serve` processes -----------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path, postgres_url: str, prefix: str) -> Iterator[tuple[Server, Server]]:
    env = {"MODELROUTER_REDIS_URL": REDIS_URL, "MODELROUTER_REDIS_PREFIX": prefix}
    upgrade_database(postgres_url)  # once, before the two start side by side
    servers = []
    for name in ("a", "b"):
        directory = tmp_path / name
        directory.mkdir()
        servers.append(Server(directory, postgres_url, env=env))
    Server.start_all(servers)
    yield servers[0], servers[1]
    for server in servers:
        server.stop()


def _route(server: Server, **extra: Any) -> dict[str, Any]:
    body = {"model": "gpt-4o", "input_tokens": 500, "max_output_tokens": 100, **extra}
    answer = httpx.post(
        f"{server.base}/v1/route",
        json=body,
        headers={"Authorization": f"Bearer {server.gateway_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    plan: dict[str, Any] = answer.json()
    return plan


def _attempt(server: Server, decision: str, **attempt: Any) -> None:
    answer = httpx.post(
        f"{server.base}/v1/decisions/{decision}/attempts",
        json=attempt,
        headers={"Authorization": f"Bearer {server.gateway_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def _health(server: Server, deployment: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.base}/v1/deployments/{deployment}/health",
        headers={"Authorization": f"Bearer {server.gateway_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def test_a_circuit_opened_on_one_instance_is_honoured_by_the_other(
    fleet: tuple[Server, Server],
) -> None:
    first, second = fleet
    plan = _route(first)
    victim = plan["primary"]["deployment"]
    assert _route(second)["primary"]["deployment"] == victim
    for index in range(3):
        _attempt(
            first,
            plan["decision_id"],
            attempt_id=str(index),
            deployment=victim,
            status="server_error",
        )
    reported = time.monotonic()
    while _route(second)["primary"]["deployment"] == victim:
        assert time.monotonic() - reported < 1.0, "the second instance still routes to it"
        time.sleep(0.02)
    assert _health(second, victim)["circuit"]["reason"] == "server_error"
    # The CLI draws what the second instance sees.
    shown = subprocess.run(
        [sys.executable, "-m", "modelrouter", "signals", "--url", second.base],
        env={**second.env, "MODELROUTER_API_KEY": second.gateway_key, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "RedisSignals" in shown and victim in shown and "open" in shown
    assert "server_error" in shown


def test_a_quota_keeps_a_deployment_out_until_its_reset_and_a_short_signal_never_shortens(
    fleet: tuple[Server, Server],
) -> None:
    first, second = fleet
    plan = _route(first)
    hops = [plan["primary"]["deployment"], *(f["deployment"] for f in plan["fallbacks"])]
    quota, limited = hops[0], hops[1]

    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    until_midnight = int((midnight - now).total_seconds()) + 1
    _attempt(
        first,
        plan["decision_id"],
        attempt_id="quota",
        deployment=quota,
        status="error",
        http_status=429,
        error={"error": {"type": "insufficient_quota", "code": "insufficient_quota"}},
        headers={"x-ratelimit-reset-requests": f"{until_midnight}s"},
    )
    _attempt(
        first,
        plan["decision_id"],
        attempt_id="long",
        deployment=limited,
        status="rate_limited",
        headers={"retry-after": "60"},
    )
    _attempt(
        first,
        plan["decision_id"],
        attempt_id="short",
        deployment=limited,
        status="rate_limited",
        headers={"retry-after": "1"},
    )
    time.sleep(0.5)  # one refresh of the second instance's view
    out = _health(second, quota)["circuit"]
    assert out["state"] == "open" and out["reason"] == "quota_exhausted"
    reopens = datetime.fromisoformat(out["reopens_at"])
    assert abs((reopens - midnight).total_seconds()) <= 2
    cooling = _health(second, limited)["circuit"]
    assert cooling["state"] == "open"
    left = (datetime.fromisoformat(cooling["reopens_at"]) - datetime.now(UTC)).total_seconds()
    assert 50 < left <= 61  # the 1 s retry-after did not shorten the 60 s one
    time.sleep(1.5)
    assert _route(second)["primary"]["deployment"] not in (quota, limited)
