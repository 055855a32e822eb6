"""Metrics and traces: the router's view for operators.

Outer ring: the core never imports this module; this module reads the core's
values (plans, costs, errors).

Metrics live in a ``CollectorRegistry`` of their own per ``Metrics`` object,
never the process-wide default, so several routers (or tests) in one process do
not collide. Observing is in-memory counter arithmetic: no I/O, fit for the hot
path. ``render()`` produces the Prometheus text for ``GET /metrics``.

Traces go through the OpenTelemetry API. Until ``configure_tracing()`` installs
an SDK provider (which it does only when the standard ``OTEL_*`` environment
variables ask for an exporter), every span is a no-op. Spans are exported from
a background thread in batches (``BatchSpanProcessor``): a slow or absent
collector never blocks a request.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Final, Literal, Protocol

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from modelrouter.cost import ActualCost
from modelrouter.errors import (
    BudgetExceeded,
    InvalidInputError,
    NoRouteError,
    UnknownModelError,
)
from modelrouter.money import exact_str
from modelrouter.router import DEFAULT_TENANT
from modelrouter.types import Candidate, Rejection, RoutingPlan

__all__ = [
    "FAILURE_RESULTS",
    "ROUTING_BUCKETS",
    "FailureResult",
    "Metrics",
    "configure_tracing",
    "failure_result",
    "record_cost",
    "record_plan",
    "shutdown_tracing",
    "span",
    "tracer",
    "tracing_requested",
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
        self._sinks = _SinkCollector()
        r.register(self._sinks)

    # -- routing ---------------------------------------------------------------------

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
    for candidate in plan.chain:
        if candidate.deployment == deployment:
            return candidate
    hops = ", ".join(c.deployment for c in plan.chain)
    raise ValueError(
        f"{deployment} is not a hop of decision {plan.decision_id}; its hops are {hops}"
    )


# -- tracing ----------------------------------------------------------------------------

INSTRUMENTATION_NAME: Final = "modelrouter"


class _TracingState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # The SDK provider configure_tracing installed (None: not installed by us).
        self.installed: trace.TracerProvider | None = None
        # (provider, tracer) of the last tracer() call, so the hot path does not
        # build a tracer per request; keyed by provider so a new one is seen.
        self.cached: tuple[trace.TracerProvider, trace.Tracer] | None = None


_tracing = _TracingState()


def tracing_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the standard environment asks for OTLP trace export: an OTLP
    endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), the SDK is not disabled
    (``OTEL_SDK_DISABLED``) and ``OTEL_TRACES_EXPORTER`` is not ``none``."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    )


def configure_tracing(service_name: str = "modelrouter") -> bool:
    """Install an SDK tracer provider exporting over OTLP/HTTP in batches, if the
    environment asks for it (see ``tracing_requested``). Returns whether spans
    are exported; without the variables nothing changes and spans stay no-ops.

    The exporter reads the rest of its configuration (headers, timeout,
    compression, certificates) from the standard ``OTEL_EXPORTER_OTLP_*``
    variables; ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` are honoured,
    ``service_name`` applies when ``OTEL_SERVICE_NAME`` is unset. Only
    http/protobuf is supported. Idempotent; if the application already installed
    an SDK provider (``opentelemetry-instrument``, say), that one is kept."""
    if not tracing_requested():
        return False
    with _tracing.lock:
        if _tracing.installed is not None:
            return True
        current = trace.get_tracer_provider()
        if not isinstance(current, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            _log.info("a tracer provider is already installed; modelrouter spans use it")
            return True
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
        ).strip()
        if protocol and protocol != "http/protobuf":
            _log.warning(
                "OTLP protocol %r is not supported; exporting with http/protobuf", protocol
            )
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
        provider = TracerProvider(resource=Resource.create(attributes))
        # The processor queues ended spans and exports them from its own thread.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        _tracing.installed = provider
        return True


def shutdown_tracing() -> None:
    """Export what is queued and stop the provider ``configure_tracing``
    installed (call it on shutdown). Bounded by the exporter's timeout
    (``OTEL_EXPORTER_OTLP_TIMEOUT``, 10 s by default) when the collector is away."""
    with _tracing.lock:
        provider, _tracing.installed = _tracing.installed, None
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        shutdown()


def tracer() -> trace.Tracer:
    """The modelrouter tracer of the current global provider (a no-op tracer
    until tracing is configured)."""
    provider = trace.get_tracer_provider()
    cached = _tracing.cached
    if cached is not None and cached[0] is provider:
        return cached[1]
    # A proxy tracer would stick to the first real provider it saw; ask the
    # provider itself and cache per provider instead.
    result = provider.get_tracer(INSTRUMENTATION_NAME)
    _tracing.cached = (provider, result)
    return result


def _attribute(value: object) -> AttributeValue | None:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return exact_str(value)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return [str(item) for item in value]
    return str(value)


def _attributes(values: Mapping[str, object]) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for key, value in values.items():
        converted = _attribute(value)
        if converted is not None:
            out[key if "." in key else f"modelrouter.{key}"] = converted
    return out


@contextmanager
def span(name: str, **attributes: object) -> Iterator[trace.Span]:
    """A span around a block, current for its duration: ``with span("route",
    model=req.model) as s: ...``. Plain keys get a ``modelrouter.`` prefix,
    dotted keys (``**{"http.route": "/v1/route"}``) are kept; None values are
    left out, Decimals become exact strings. An exception escaping the block is
    recorded on the span and re-raised."""
    with tracer().start_as_current_span(name, attributes=_attributes(attributes)) as current:
        yield current


def record_plan(target: trace.Span, plan: RoutingPlan) -> None:
    """Describe a routing decision on a ``route`` span (only when it records)."""
    if not target.is_recording():
        return
    target.set_attributes(
        _attributes(
            {
                "decision_id": plan.decision_id,
                "request_id": plan.request_id,
                "tenant": plan.tenant_id,
                "model": plan.model,
                "strategy": plan.strategy,
                "deployment": plan.primary.deployment,
                "provider": plan.primary.provider,
                "fallbacks": [c.deployment for c in plan.fallbacks],
                "rejected": len(plan.rejected),
                "expected_usd": plan.primary.estimate.expected_usd,
                "catalog_version": plan.catalog_version,
            }
        )
    )


def record_cost(target: trace.Span, cost: ActualCost) -> None:
    """Describe a settled cost on an ``outcome`` span (only when it records)."""
    if not target.is_recording():
        return
    target.set_attributes(
        _attributes(
            {
                "deployment": cost.deployment,
                "actual_usd": cost.total_usd,
                "input_tokens": cost.usage.input_tokens,
                "output_tokens": cost.usage.output_tokens,
            }
        )
    )
