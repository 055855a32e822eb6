"""Prometheus metrics: the router's view for operators.

Outer ring: the core never imports this module; this module reads the core's
values (plans, costs, errors).

Metrics live in a ``CollectorRegistry`` of their own per ``Metrics`` object,
never the process-wide default, so several routers (or tests) in one process do
not collide. Observing is in-memory counter arithmetic: no I/O, fit for the hot
path. ``render()`` produces the Prometheus text for ``GET /metrics``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Final, Literal, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from modelrouter.errors import (
    BudgetExceeded,
    InvalidInputError,
    NoRouteError,
    UnknownModelError,
)
from modelrouter.pricing.cost import ActualCost
from modelrouter.router import DEFAULT_TENANT
from modelrouter.types import Candidate, Rejection, RoutingPlan

__all__ = [
    "FAILURE_RESULTS",
    "ROUTING_BUCKETS",
    "FailureResult",
    "Metrics",
    "failure_result",
]

_log = logging.getLogger(__name__)

FailureResult = Literal["no_route", "budget_exceeded", "invalid"]
FAILURE_RESULTS: Final = frozenset({"no_route", "budget_exceeded", "invalid"})

# Label value when a failed request never got as far as a strategy or provider.
NONE_LABEL: Final = "none"

# Routing takes tens of microseconds to a few milliseconds: 50 µs .. 50 ms.
ROUTING_BUCKETS: Final = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
)
# actual / estimated cost: 1 is a perfect estimate.
RATIO_BUCKETS: Final = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 4.0, 10.0)


def failure_result(error: BaseException) -> FailureResult | None:
    """The ``result`` label of a routing error, or None for an error that is not
    a routing outcome (a bug, an unreachable store): count those elsewhere."""
    if isinstance(error, NoRouteError):
        return "no_route"
    if isinstance(error, BudgetExceeded):
        return "budget_exceeded"
    if isinstance(error, InvalidInputError | UnknownModelError):
        return "invalid"
    return None


class DropCounting(Protocol):
    """What ``Metrics.track_sink`` reads: an event sink's drop counter."""

    @property
    def dropped(self) -> int: ...


class _SinkCollector(Collector):
    def __init__(self) -> None:
        self._sinks: dict[str, DropCounting] = {}
        self._lock = threading.Lock()

    def add(self, name: str, sink: DropCounting) -> None:
        with self._lock:
            self._sinks[name] = sink

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "modelrouter_events_dropped",
            "Decision/outcome events an event sink gave up on (best-effort telemetry).",
            labels=["sink"],
        )
        with self._lock:
            sinks = list(self._sinks.items())
        for name, sink in sinks:
            family.add_metric([name], sink.dropped)
        yield family


_CIRCUIT_LEVEL: Final = {"closed": 0, "half_open": 1, "open": 2}


class _SignalCollector(Collector):
    """Circuit state, headroom and latency per deployment, read from the live
    signals at scrape time (the same report ``GET /v1/signals`` answers)."""

    def __init__(self) -> None:
        self._read: Callable[[], list[dict[str, Any]]] | None = None

    def collect(self) -> Iterable[Metric]:
        circuit = GaugeMetricFamily(
            "modelrouter_circuit_state",
            "Circuit of each deployment with signals: 0 closed, 1 half-open, 2 open.",
            labels=["deployment", "reason"],
        )
        requests = GaugeMetricFamily(
            "modelrouter_headroom_requests",
            "Requests this instance may still send in the current minute (rpm limits).",
            labels=["deployment"],
        )
        tokens = GaugeMetricFamily(
            "modelrouter_headroom_tokens",
            "Tokens this instance may still send in the current minute (tpm limits).",
            labels=["deployment"],
        )
        ttft = GaugeMetricFamily(
            "modelrouter_ttft_ms",
            "Observed time to first token (decaying estimate), by percentile.",
            labels=["deployment", "percentile"],
        )
        for report in [] if self._read is None else self._read():
            name = report["deployment"]
            state = report["circuit"]
            circuit.add_metric([name, state["reason"] or ""], _CIRCUIT_LEVEL[state["state"]])
            room = report["headroom"]
            if room["requests_left"] is not None:
                requests.add_metric([name], room["requests_left"])
            if room["tokens_left"] is not None:
                tokens.add_metric([name], room["tokens_left"])
            for percentile, value in (report["latency"]["ttft_ms"] or {}).items():
                if value is not None:
                    ttft.add_metric([name, percentile], float(value))
        yield from (circuit, requests, tokens, ttft)


def _usd(amount: Decimal) -> float:
    # The one place money becomes float: Prometheus samples are float64. Costs
    # stay Decimal everywhere else (events and the store carry exact strings);
    # a dashboard sum may be off in the 16th significant digit, nothing more.
    return float(amount)


class Metrics:
    """The router's Prometheus metrics, in a registry of their own.

    ``modelrouter_decisions_total{strategy,provider,result}``
        every routing request; ``result`` is routed, no_route, budget_exceeded
        or invalid; ``provider`` is the primary's (``none`` when not routed).
    ``modelrouter_routing_seconds``
        time spent in ``route()`` (buckets 50 µs .. 50 ms).
    ``modelrouter_rejections_total{reason}``
        candidates dropped, by ``RejectionCode`` value.
    ``modelrouter_estimated_cost_usd_total{provider}``,
    ``modelrouter_actual_cost_usd_total{provider}``
        for served requests: the serving hop's expected cost, and the exact
        cost of the usage reported; both grow at outcome time, so their
        quotient is the estimate's accuracy over the same requests.
    ``modelrouter_cost_ratio{provider}``
        histogram of actual / estimated cost per served request.
    ``modelrouter_spend_usd_total{tenant}``
        actual spend by tenant (requests without a tenant: ``default``). Each
        tenant is a time series: fine for hundreds, not for millions.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.decisions = Counter(
            "modelrouter_decisions",
            "Routing requests, by strategy, primary provider and result.",
            ["strategy", "provider", "result"],
            registry=r,
        )
        self.routing_seconds = Histogram(
            "modelrouter_routing_seconds",
            "Time spent routing one request.",
            buckets=ROUTING_BUCKETS,
            registry=r,
        )
        self.rejections = Counter(
            "modelrouter_rejections",
            "Candidates dropped while routing, by reason code.",
            ["reason"],
            registry=r,
        )
        self.estimated_cost = Counter(
            "modelrouter_estimated_cost_usd",
            "Expected cost (USD) of the hop that served, summed over served requests.",
            ["provider"],
            registry=r,
        )
        self.actual_cost = Counter(
            "modelrouter_actual_cost_usd",
            "Actual cost (USD) of served requests.",
            ["provider"],
            registry=r,
        )
        self.cost_ratio = Histogram(
            "modelrouter_cost_ratio",
            "Actual cost divided by the serving hop's expected cost, per served request.",
            ["provider"],
            buckets=RATIO_BUCKETS,
            registry=r,
        )
        self.spend = Counter(
            "modelrouter_spend_usd",
            "Actual spend (USD) by tenant.",
            ["tenant"],
            registry=r,
        )
        self.degraded = Counter(
            "modelrouter_degraded_decisions",
            "Decisions routed while a store was unreachable, by what could not be checked "
            "(stale_policy, budget_unchecked, stale_signals).",
            ["reason"],
            registry=r,
        )
        self.over_budget = Counter(
            "modelrouter_over_budget_outcomes",
            "Settled outcomes that took a tenant's spend past a budget limit (late or "
            "over-reported usage), by tenant.",
            ["tenant"],
            registry=r,
        )
        self.attempts = Counter(
            "modelrouter_attempts",
            "Reported attempts, by provider and status (ok or an error class).",
            ["provider", "status"],
            registry=r,
        )
        self.refreshes = Counter(
            "modelrouter_catalog_refreshes",
            "Price refreshes, by result (accepted, refused, unchanged, failed).",
            ["result"],
            registry=r,
        )
        self._sinks = _SinkCollector()
        r.register(self._sinks)
        self._signals = _SignalCollector()
        r.register(self._signals)

    def track_signals(self, read: Callable[[], list[dict[str, Any]]]) -> None:
        """Expose the live signals' per-deployment health (read at scrape time)."""
        self._signals._read = read

    def count_refresh(self, result: str) -> None:
        self.refreshes.labels(result).inc()

    def count_attempt(self, provider: str, status: str) -> None:
        self.attempts.labels(provider, status).inc()

    def count_stale_signals(self) -> None:
        """A decision routed on a signal view older than the configured bound."""
        self.degraded.labels(reason="stale_signals").inc()

    # -- routing ---------------------------------------------------------------------

    def count_over_budget(self, plan: RoutingPlan) -> None:
        """A settled outcome that took its tenant's spend past a budget limit."""
        self.over_budget.labels(tenant=plan.tenant_id or DEFAULT_TENANT).inc()

    def count_stale_policy(self) -> None:
        """A decision routed under policies read before the store stopped answering."""
        self.degraded.labels(reason="stale_policy").inc()

    def count_unchecked_budget(self) -> None:
        """A budgeted decision admitted unchecked while the ledger was unreachable."""
        self.degraded.labels(reason="budget_unchecked").inc()

    def observe_decision(self, plan: RoutingPlan, seconds: float) -> None:
        """A routed request: ``seconds`` is the time ``route()`` took."""
        self.decisions.labels(plan.strategy, plan.primary.provider, "routed").inc()
        self.routing_seconds.observe(seconds)
        self._count_rejections(plan.rejected)

    def observe_failure(
        self,
        result: FailureResult,
        strategy: str | None,
        seconds: float,
        *,
        rejections: Sequence[Rejection] = (),
    ) -> None:
        """A request that was not routed. ``strategy`` is None when the request
        was too malformed to name one; ``rejections`` (``NoRouteError.rejections``)
        are counted by reason like a routed plan's. ``failure_result(error)``
        maps an exception to ``result``."""
        if result not in FAILURE_RESULTS:
            raise ValueError(f"result must be one of {sorted(FAILURE_RESULTS)}, not {result!r}")
        self.decisions.labels(strategy or NONE_LABEL, NONE_LABEL, result).inc()
        self.routing_seconds.observe(seconds)
        self._count_rejections(rejections)

    def _count_rejections(self, rejections: Sequence[Rejection]) -> None:
        if not rejections:
            return
        for reason, count in Tally(r.code.value for r in rejections).items():
            self.rejections.labels(reason).inc(count)

    # -- outcomes --------------------------------------------------------------------

    def observe_outcome(self, plan: RoutingPlan, cost: ActualCost) -> None:
        """A served request: ``cost`` is what ``Router.record_outcome`` returned.
        The hop that served is ``cost.deployment``; its estimate in the plan is
        what the actual cost is compared with."""
        hop = serving_hop(plan, cost.deployment)
        self.observe_cost(
            provider=hop.provider,
            tenant=plan.tenant_id,
            estimated_usd=hop.estimate.expected_usd,
            actual=cost,
        )

    def observe_cost(
        self, *, provider: str, tenant: str | None, estimated_usd: Decimal, actual: ActualCost
    ) -> None:
        """``observe_outcome`` for a caller that kept only the numbers of the
        decision (a stored decision row, say) rather than the plan."""
        self.estimated_cost.labels(provider).inc(_usd(estimated_usd))
        self.actual_cost.labels(provider).inc(_usd(actual.total_usd))
        self.spend.labels(tenant or DEFAULT_TENANT).inc(_usd(actual.total_usd))
        if estimated_usd > 0:
            self.cost_ratio.labels(provider).observe(_usd(actual.total_usd / estimated_usd))

    # -- event sinks -----------------------------------------------------------------

    def track_sink(self, name: str, sink: DropCounting) -> None:
        """Expose ``sink.dropped`` as ``modelrouter_events_dropped_total{sink=name}``
        (read at scrape time)."""
        self._sinks.add(name, sink)

    # -- exposition ------------------------------------------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The metrics and their content type, for ``GET /metrics``. Pass the
        request's ``Accept`` header to let Prometheus negotiate OpenMetrics;
        without it, the classic text format (``text/plain; version=0.0.4``)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def serving_hop(plan: RoutingPlan, deployment: str) -> Candidate:
    """The hop of ``plan`` that ``deployment`` names; ValueError if none does."""
    for candidate in plan.hops:
        if candidate.deployment == deployment:
            return candidate
    hops = ", ".join(c.deployment for c in plan.hops)
    raise ValueError(
        f"{deployment} is not a hop of decision {plan.decision_id}; its hops are {hops}"
    )
