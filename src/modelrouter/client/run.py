"""Running a plan: call each hop until one serves, and report every attempt.

::

    plan = route(request)
    hop = plan.primary
    loop:
        call(hop)            -> served, or a failure sorted by feedback.classify
        report the attempt   (latency, time to first token, usage, rate-limit headers)
        served               -> RunResult (decision id, hop, response, actual cost)
        next hop             the attempt answer's ``next`` (HTTP), else plan.next_hop
        none left, or a bad request -> HopsFailed

The walk is one small state machine (``Walk``), driven by a sync loop
(``run_sync``) and an async one (``run_async``) over a ``Backend``: the HTTP
clients, or a ``Router`` in process (``LocalClient``).
"""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from modelrouter.client.errors import HopsFailed
from modelrouter.client.hop import AttemptSummary, Hop, Observed, observe
from modelrouter.pricing.cost import ActualCost
from modelrouter.pricing.usage import Usage
from modelrouter.request.model import RouteRequest, parse_request
from modelrouter.router import new_request_id
from modelrouter.types import Candidate, RoutingPlan

__all__ = [
    "AsyncBackend",
    "Backend",
    "Measure",
    "Reported",
    "RunResult",
    "Walk",
    "attempt_body",
    "prepared",
    "run_async",
    "run_sync",
]

Call = Callable[[Hop], Any]


@dataclass(frozen=True, slots=True)
class Measure:
    """How one attempt went, beside what it answered."""

    attempt_id: str
    latency_ms: Decimal
    ttft_ms: Decimal | None = None
    # measured (a whole answer's usage), partial (a stream cut short), or None: estimated
    usage_source: str | None = "measured"


@dataclass(frozen=True, slots=True)
class Reported:
    """What the router answered to an attempt report."""

    cost: ActualCost | None  # this attempt's
    decision_cost_usd: Decimal | None  # the decision's, every priced attempt summed
    next: Candidate | None = None
    has_next: bool = False  # whether ``next`` is the router's say (else the plan decides)


@dataclass(frozen=True, slots=True)
class RunResult:
    """The first served attempt of a run."""

    decision_id: str
    hop: Hop
    response: Any  # what the call returned (a ``Reply``'s body)
    actual_cost: ActualCost | None  # the served attempt's exact cost
    decision_cost_usd: Decimal | None  # the decision's: every priced attempt
    usage: Usage | None  # None: settled at the hop's estimate
    attempts: tuple[AttemptSummary, ...]
    plan: RoutingPlan = field(repr=False)


class Backend(Protocol):
    def route_plan(self, request: RouteRequest) -> RoutingPlan: ...

    def record(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> Reported: ...


class AsyncBackend(Protocol):
    async def route_plan(self, request: RouteRequest) -> RoutingPlan: ...

    async def record(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> Reported: ...


def prepared(request: RouteRequest | Mapping[str, Any]) -> RouteRequest:
    """The request validated here (the library's errors, before any I/O), with
    a request id, so that a retried route is the same decision."""
    valid = parse_request(request)
    if valid.request_id is None:
        valid = valid.model_copy(update={"request_id": new_request_id()})
    return valid


def attempt_id(hop: Hop) -> str:
    """Unique per attempt; a retried report of it is the same attempt."""
    return f"{hop.attempt}-{uuid.uuid4().hex[:16]}"


def elapsed_ms(started: float) -> Decimal:
    return Decimal(f"{(time.perf_counter() - started) * 1000:.3f}")


def attempt_body(hop: Hop, observed: Observed, measure: Measure, final: bool) -> dict[str, Any]:
    """The attempt report the service reads (``POST /v1/decisions/{id}/attempts``)."""
    status = "ok" if observed.error_class is None else observed.error_class.value
    body: dict[str, Any] = {
        "attempt_id": measure.attempt_id,
        "deployment": hop.deployment,
        "status": status,
        "latency_ms": str(measure.latency_ms),
        "final": final,
    }
    ttft = measure.ttft_ms if measure.ttft_ms is not None else observed.ttft_ms
    if ttft is not None:
        body["ttft_ms"] = str(ttft)
    if observed.http_status is not None:
        body["http_status"] = observed.http_status
    if not observed.ok and observed.error is not None:
        body["error"] = observed.error
    if observed.headers:
        body["headers"] = dict(observed.headers)
    if observed.usage is not None and measure.usage_source is not None:
        body["usage"] = observed.usage.to_dict()
        body["usage_source"] = measure.usage_source
    return body


class Walk:
    """Where a run is in its plan: the hops tried, and what each did."""

    def __init__(self, plan: RoutingPlan) -> None:
        self.plan = plan
        self.attempts: list[AttemptSummary] = []
        self.spent = Decimal(0)  # the priced attempts' costs, for a backend that keeps no sum
        self.hop = Hop.of(plan.decision_id, plan.primary, 0)

    def final(self, observed: Observed) -> bool:
        """Whether this attempt is the decision's last (its reservation is then released)."""
        return observed.ok or self._planned_next(observed) is None

    def _planned_next(self, observed: Observed) -> Candidate | None:
        tried = [a.deployment for a in self.attempts] + [self.hop.deployment]
        cls = None if observed.error_class is None else observed.error_class.value
        return self.plan.next_hop(tried, cls)

    def done(self, observed: Observed, measure: Measure, reported: Reported) -> RunResult | None:
        """The result when it served; else moves to the next hop, or raises ``HopsFailed``."""
        self.attempts.append(
            AttemptSummary(
                attempt_id=measure.attempt_id,
                deployment=self.hop.deployment,
                status="ok" if observed.error_class is None else observed.error_class.value,
                detail=observed.detail,
                latency_ms=measure.latency_ms,
                ttft_ms=measure.ttft_ms if measure.ttft_ms is not None else observed.ttft_ms,
                http_status=observed.http_status,
            )
        )
        if reported.cost is not None:
            self.spent += reported.cost.total_usd
        if observed.ok:
            total = reported.decision_cost_usd
            return RunResult(
                decision_id=self.plan.decision_id,
                hop=self.hop,
                response=observed.response,
                actual_cost=reported.cost,
                decision_cost_usd=self.spent if total is None else total,
                usage=observed.usage,
                attempts=tuple(self.attempts),
                plan=self.plan,
            )
        after = reported.next if reported.has_next else self._planned_next_after()
        tried = {a.deployment for a in self.attempts}
        if after is None or after.deployment in tried:
            raise HopsFailed(self.plan.decision_id, self.attempts) from observed.exception
        # The plan's own hop (with its endpoint) when it is one.
        mine = next((c for c in self.plan.hops if c.deployment == after.deployment), after)
        self.hop = Hop.of(self.plan.decision_id, mine, len(self.attempts))
        return None

    def _planned_next_after(self) -> Candidate | None:
        last = self.attempts[-1]
        tried = [a.deployment for a in self.attempts]
        return self.plan.next_hop(tried, None if last.status == "ok" else last.status)


def run_sync(backend: Backend, request: RouteRequest | Mapping[str, Any], call: Call) -> RunResult:
    walk = Walk(backend.route_plan(prepared(request)))
    while True:
        hop = walk.hop
        started = time.perf_counter()
        try:
            returned = call(hop)
        except BaseException as exc:
            observed = observe(hop, raised=exc)
        else:
            observed = observe(hop, returned=returned)
        measure = Measure(attempt_id(hop), elapsed_ms(started))
        reported = backend.record(walk.plan, hop, observed, measure, walk.final(observed))
        result = walk.done(observed, measure, reported)
        if result is not None:
            return result


async def run_async(
    backend: AsyncBackend,
    request: RouteRequest | Mapping[str, Any],
    call: Callable[[Hop], Awaitable[Any] | Any],
) -> RunResult:
    walk = Walk(await backend.route_plan(prepared(request)))
    while True:
        hop = walk.hop
        started = time.perf_counter()
        try:
            returned = call(hop)
            if inspect.isawaitable(returned):
                returned = await returned
        except BaseException as exc:
            observed = observe(hop, raised=exc)
        else:
            observed = observe(hop, returned=returned)
        measure = Measure(attempt_id(hop), elapsed_ms(started))
        reported = await backend.record(walk.plan, hop, observed, measure, walk.final(observed))
        result = walk.done(observed, measure, reported)
        if result is not None:
            return result
