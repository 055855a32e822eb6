"""Traces through the OpenTelemetry API.

Until ``configure_tracing()`` installs an SDK provider (which it does only when
the standard ``OTEL_*`` environment variables ask for an exporter), every span
is a no-op. Spans are exported from a background thread in batches
(``BatchSpanProcessor``): a slow or absent collector never blocks a request.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Final

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from modelrouter.money import exact_str
from modelrouter.pricing.cost import ActualCost
from modelrouter.types import RoutingPlan

__all__ = [
    "configure_tracing",
    "record_cost",
    "record_plan",
    "shutdown_tracing",
    "span",
    "tracer",
    "tracing_requested",
]

_log = logging.getLogger(__name__)

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
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        # No provider is installed, so the span would record nothing: skip
        # making one and its context (several microseconds per request).
        yield trace.INVALID_SPAN
        return
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
