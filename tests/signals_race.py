"""One router process of a fleet sharing Redis, for the fleet tests: it routes
in a loop for a while and writes what it did as JSON lines.

    python -m tests.signals_race MODE PREFIX SECONDS OUT

``rpm``: chat-small under ``cheapest``, whose cheapest deployment (beta) has
an rpm limit of ``RPM``; each line is the time and the primary of one plan.
``budget``: routes chat-large for one tenant under a day budget of
``LIMIT`` on the Redis ledger and settles each plan at once with the usage
it expected; each line is one settled cost.
Every process waits on a Redis barrier so that all start together.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis

from modelrouter.catalog.index import Catalog
from modelrouter.errors import BudgetExceeded, NoRouteError
from modelrouter.feedback.attempt import Attempt
from modelrouter.policy.document import parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.signals.redis import RedisSignals
from modelrouter.signals.redis_budgets import RedisBudgetStore
from tests.conftest import small_document

RPM = 60
LIMIT = Decimal("0.05")
PROCESSES = 3


def catalog() -> Catalog:
    document = small_document()
    document["models"]["chat-small"]["deployments"]["beta"]["rpm"] = RPM
    return Catalog.from_layers([("fleet", document)])


def _barrier(client: redis.Redis, prefix: str) -> None:
    key = f"{prefix}:barrier"
    client.incr(key)
    client.expire(key, 120)
    deadline = time.monotonic() + 60
    while int(client.get(key) or 0) < PROCESSES and time.monotonic() < deadline:
        time.sleep(0.01)


def run(mode: str, prefix: str, seconds: float, out: Path) -> None:
    client = redis.Redis()
    signals = RedisSignals(redis.Redis(), prefix=prefix).start()
    lines: list[dict[str, Any]] = []
    if mode == "rpm":
        router = Router(catalog(), signals=signals)
        _barrier(client, prefix)
        deadline = time.monotonic() + seconds
        count = 0
        while time.monotonic() < deadline:
            count += 1
            plan = router.route(
                {"model": "chat-small", "input_tokens": 100, "strategy": "cheapest"}
            )
            lines.append({"t": time.time(), "primary": plan.primary.deployment})
            if count % 50 == 0:
                time.sleep(0.001)  # let the refresh thread have the interpreter
    else:
        policy = parse_policy({"budgets": [{"period": "day", "limit_usd": str(LIMIT)}]})
        budgets = RedisBudgetStore(redis.Redis(), prefix=prefix)
        router = Router(catalog(), policy, signals=signals, budgets=budgets)
        _barrier(client, prefix)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                plan = router.route(
                    {
                        "model": "chat-large",
                        "input_tokens": 1000,
                        "max_output_tokens": 500,
                        "tenant_id": "shared",
                    }
                )
            except (BudgetExceeded, NoRouteError):
                lines.append({"refused": True})
                time.sleep(0.002)
                continue
            hop = plan.primary
            usage = Usage(input_tokens=1000, output_tokens=hop.estimate.expected_output_tokens)
            cost = router.record_attempt(plan, Attempt(hop.deployment, usage=usage))
            assert cost is not None
            lines.append({"cost": str(cost.total_usd)})
    signals.close()
    out.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], float(sys.argv[3]), Path(sys.argv[4]))
