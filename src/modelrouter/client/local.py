"""``LocalClient``: the same ``run`` over a ``Router`` in this process, for
users without the service. Attempts go to ``Router.record_attempt``, so the
circuits, latency, headroom and budgets learn exactly what the service's
attempt endpoint would teach them; the next hop is ``plan.next_hop``.

::

    client = LocalClient(Router(Catalog.bundled()))
    result = client.run({"model": "gpt-4o", "input_tokens": 900}, call)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from modelrouter.client.hop import Hop, Observed
from modelrouter.client.run import Measure, Reported, RunResult, run_async, run_sync
from modelrouter.client.stream import AsyncStreamRun, StreamRun, open_async, open_sync
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.ratelimits import parse_rate_limit_headers
from modelrouter.policy.document import PolicyDocument
from modelrouter.pricing.usage import Usage
from modelrouter.request.model import RouteRequest
from modelrouter.router import Router
from modelrouter.types import RoutingPlan

__all__ = ["LocalClient", "attempt_of"]


def attempt_of(
    router: Router, hop: Hop, observed: Observed, measure: Measure, final: bool
) -> Attempt:
    """The library's attempt for one call, as the service builds it from a report:
    a served attempt without usage is settled at the hop's estimate."""
    usage = observed.usage if measure.usage_source is not None else None
    teaches = measure.usage_source == "measured"
    if observed.ok and usage is None:
        estimate = hop.estimate
        usage = Usage(
            input_tokens=estimate.input_tokens, output_tokens=estimate.expected_output_tokens
        )
        teaches = False
    limits = parse_rate_limit_headers(observed.headers, router.now()) if observed.headers else None
    return Attempt(
        deployment=hop.deployment,
        error_class=observed.error_class,
        attempt_id=measure.attempt_id,
        usage=usage,
        teaches=teaches,
        latency_ms=measure.latency_ms,
        ttft_ms=measure.ttft_ms if measure.ttft_ms is not None else observed.ttft_ms,
        rate_limits=limits,
        reset_after_s=observed.reset_after_s,
        final=final,
    )


class LocalClient:
    """``run``, ``arun`` and their streaming twins over ``router``; routed
    under ``tenant_policy`` when one is given."""

    def __init__(self, router: Router, *, tenant_policy: PolicyDocument | None = None) -> None:
        self.router = router
        self.tenant_policy = tenant_policy

    def route(self, request: RouteRequest | Mapping[str, Any]) -> RoutingPlan:
        return self.router.route(request, tenant_policy=self.tenant_policy)

    # The backend both run loops drive.
    def route_plan(self, request: RouteRequest) -> RoutingPlan:
        return self.route(request)

    def record(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> Reported:
        cost = self.router.record_attempt(
            plan, attempt_of(self.router, hop, observed, measure, final)
        )
        return Reported(cost=cost, decision_cost_usd=None)

    def run(
        self, request: RouteRequest | Mapping[str, Any], call: Callable[[Hop], Any]
    ) -> RunResult:
        return run_sync(self, request, call)

    def run_stream(
        self, request: RouteRequest | Mapping[str, Any], call: Callable[[Hop], Any]
    ) -> StreamRun:
        return open_sync(self, request, call)

    async def arun(
        self, request: RouteRequest | Mapping[str, Any], call: Callable[[Hop], Awaitable[Any] | Any]
    ) -> RunResult:
        return await run_async(_Async(self), request, call)

    async def arun_stream(
        self, request: RouteRequest | Mapping[str, Any], call: Callable[[Hop], Awaitable[Any] | Any]
    ) -> AsyncStreamRun:
        return await open_async(_Async(self), request, call)


class _Async:
    """The in-process router behind the async loops: it does no I/O of its own."""

    def __init__(self, local: LocalClient) -> None:
        self.local = local

    async def route_plan(self, request: RouteRequest) -> RoutingPlan:
        return self.local.route(request)

    async def record(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> Reported:
        return self.local.record(plan, hop, observed, measure, final)
