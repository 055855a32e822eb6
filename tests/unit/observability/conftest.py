"""Plans and costs the router really made, for the observability tests: a
routed decision with a fallback and rejections, and its settled outcome."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from modelrouter.pricing.cost import ActualCost
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.types import RoutingPlan

REQUEST: dict[str, Any] = {
    "model": "smart",
    "input_tokens": 2000,
    "max_output_tokens": 500,
    "strategy": "cheapest",
    "require": ["json_schema"],
    "tenant_id": "acme",
    "request_id": "req-1",
}


@pytest.fixture
def plan(router: Router) -> RoutingPlan:
    # beta/chat-large, then alpha/chat-large; gamma has no JSON schema output,
    # open-70b does not say whether it has.
    return router.route(REQUEST)


@pytest.fixture
def cost(router: Router, plan: RoutingPlan) -> ActualCost:
    return router.record_outcome(plan, Usage(input_tokens=2000, output_tokens=300))


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
