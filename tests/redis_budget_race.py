"""One of the processes that race on one tenant's budget in Redis, run by
``tests/integration/test_redis_budgets.py`` as
``python -m tests.redis_budget_race URL PREFIX INDEX``.

Each process waits for the others, then reserves and settles ``CYCLES`` times
against ``LIMIT`` (reading spent + reserved after each reservation, as
``tests/budget_race.py`` does with threads), then tries to settle every one
of ``SHARED`` ids that no one reserved. It prints what it did as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from typing import Any

import redis

from modelrouter.errors import BudgetExceeded
from modelrouter.money import EXACT
from modelrouter.policy.budgets import window_for
from modelrouter.policy.document import Budget
from modelrouter.signals.redis_budgets import RedisBudgetStore
from tests.conftest import FIXED_NOW

PROCESSES = 3
CYCLES = 40
SHARED = 30
TENANT = "shared"
LIMIT = Decimal("0.5")
WORST = Decimal("0.010000000000000001")  # what each cycle reserves
SHARED_AMOUNT = Decimal("0.000000123456789012")
WINDOW = window_for(Budget(period="day", limit_usd=LIMIT), FIXED_NOW)
SHARED_KEY = window_for(Budget(period="month", limit_usd=LIMIT), FIXED_NOW).key
EXPIRES = FIXED_NOW.replace(hour=23)


def actual(index: int, cycle: int) -> Decimal:
    """Less than was reserved, and unlike every other settlement down to 10^-24."""
    return Decimal("0.009") + Decimal(index * 1000 + cycle).scaleb(-24)


def _wait_for_all(client: redis.Redis, prefix: str) -> None:
    barrier = f"{prefix}:race:barrier"
    client.incr(barrier)
    deadline = time.monotonic() + 30
    while int(client.get(barrier) or 0) < PROCESSES:
        if time.monotonic() > deadline:
            raise SystemExit("the other racers never came")
        time.sleep(0.001)


def run(url: str, prefix: str, index: int) -> dict[str, Any]:
    client = redis.Redis.from_url(url)
    store = RedisBudgetStore(client, prefix=prefix)
    out: dict[str, Any] = {"routed": 0, "refused": 0, "peaks": [], "settled": [], "won": []}
    _wait_for_all(client, prefix)
    for cycle in range(CYCLES):
        reservation = f"r-{index}-{cycle}"
        try:
            store.reserve(TENANT, [WINDOW], WORST, reservation, EXPIRES, FIXED_NOW)
        except BudgetExceeded:
            out["refused"] += 1
            continue
        [state] = store.state(TENANT, [WINDOW.key], FIXED_NOW)
        out["routed"] += 1
        out["peaks"].append(str(EXACT.add(state.spent, state.reserved)))
        cost = actual(index, cycle)
        if not store.settle(TENANT, [WINDOW.key], reservation, cost):
            raise SystemExit(f"{reservation} was settled before its first settlement")
        if store.settle(TENANT, [WINDOW.key], reservation, cost):
            raise SystemExit(f"{reservation} settled twice")
        out["settled"].append(str(cost))
    for shared in range(SHARED):
        if store.settle(TENANT, [SHARED_KEY], f"s-{shared}", SHARED_AMOUNT):
            out["won"].append(f"s-{shared}")
    client.close()
    return out


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
