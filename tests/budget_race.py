"""200 route-and-settle cycles from 20 threads against one tenant's budget:
the harness both budget ledgers (memory and database) are tested with."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal

from modelrouter.errors import BudgetExceeded, NoRouteError
from modelrouter.policy.budgets import BudgetStore, WindowState
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from tests.conftest import FIXED_NOW

THREADS = 20
CYCLES = 10


@dataclass
class Race:
    routed: int = 0
    refused: int = 0
    # spent + reserved, read right after each successful reservation
    peaks: list[Decimal] = field(default_factory=list)
    final: WindowState | None = None


def race(router: Router, store: BudgetStore, key: str, *, serve_costliest: bool) -> Race:
    """Route chat-large for tenant "shared" and settle each plan at once;
    ``serve_costliest`` reports the last (dearest) hop as the one that served."""
    result = Race()
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        start.wait()
        for cycle in range(CYCLES):
            request = {
                "model": "chat-large",
                "input_tokens": 1000,
                "max_output_tokens": 500,
                "tenant_id": "shared",
                "request_id": f"{index}-{cycle}",
                "strategy": "cheapest",
            }
            try:
                plan = router.route(request)
            except (BudgetExceeded, NoRouteError):
                with lock:
                    result.refused += 1
                continue
            [state] = store.state("shared", [key], FIXED_NOW)
            with lock:
                result.routed += 1
                result.peaks.append(state.spent + state.reserved)
            served = plan.chain[-1].deployment if serve_costliest else None
            router.record_outcome(
                plan, Usage(input_tokens=1000, output_tokens=400), deployment=served
            )

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [result.final] = store.state("shared", [key], FIXED_NOW)
    return result
