"""Traces through the OpenTelemetry API: no-ops until the standard OTEL_*
variables ask for export, then batched off the request path; and the span
attributes a plan and a settled cost describe themselves with."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from modelrouter.observability import tracing as telemetry
from modelrouter.observability.tracing import (
    configure_tracing,
    record_cost,
    record_plan,
    shutdown_tracing,
    span,
    tracer,
)
from modelrouter.pricing.cost import ActualCost
from modelrouter.router import Router
from modelrouter.types import RoutingPlan
from tests.unit.observability.conftest import REQUEST

OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
)


@pytest.fixture
def fresh_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No OTEL_* variables, and OpenTelemetry's process-wide provider unset (the
    API allows setting it once per process; these private names are how its
    own test utilities reset it). monkeypatch restores both afterwards."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(telemetry._tracing, "installed", None)
    monkeypatch.setattr(telemetry._tracing, "cached", None)
    yield
    shutdown_tracing()


@pytest.mark.usefixtures("fresh_tracing")
def test_tracing_stays_a_no_op_without_the_environment(
    monkeypatch: pytest.MonkeyPatch, plan: RoutingPlan
) -> None:
    assert configure_tracing() is False
    with span("route", model="smart") as current:
        assert not current.is_recording()
        record_plan(current, plan)  # a no-op on a span that does not record
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert configure_tracing() is False
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert configure_tracing() is False
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@pytest.mark.usefixtures("fresh_tracing")
def test_configured_tracing_batches_spans_without_blocking(
    monkeypatch: pytest.MonkeyPatch, plan: RoutingPlan, cost: ActualCost
) -> None:
    # Nothing listens at 4318: export fails in the background, never in the request.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")  # bounds the shutdown flush
    assert configure_tracing(service_name="modelrouter-test") is True
    assert configure_tracing() is True  # idempotent
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "modelrouter-test"
    seen = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(seen))

    started = time.perf_counter()
    for _ in range(50):
        with span("route", **{"http.route": "/v1/route"}) as current:
            assert current.is_recording()
            record_plan(current, plan)
        with span("outcome", decision_id=plan.decision_id) as current:
            record_cost(current, cost)
    with pytest.raises(RuntimeError), span("route"):
        raise RuntimeError("recorded on the span, and re-raised")
    assert time.perf_counter() - started < 1.0

    spans: tuple[ReadableSpan, ...] = seen.get_finished_spans()
    assert Counter(s.name for s in spans) == {"route": 51, "outcome": 50}
    route = spans[0]
    assert route.attributes is not None
    assert route.attributes["http.route"] == "/v1/route"
    assert route.attributes["modelrouter.deployment"] == "beta/chat-large"
    assert route.attributes["modelrouter.provider"] == "beta"
    assert route.attributes["modelrouter.expected_usd"] == "0.00756"
    assert tuple(route.attributes["modelrouter.fallbacks"]) == ("alpha/chat-large",)  # type: ignore[arg-type]
    outcome = spans[1]
    assert outcome.attributes is not None
    assert outcome.attributes["modelrouter.actual_usd"] == "0.008"
    assert outcome.attributes["modelrouter.decision_id"] == plan.decision_id
    failed = spans[-1]
    assert not failed.status.is_ok
    assert [e.name for e in failed.events] == ["exception"]
    assert tracer() is tracer()  # cached per provider

    started = time.perf_counter()
    shutdown_tracing()
    assert time.perf_counter() - started < 5.0


def test_record_plan_and_record_cost_set_the_span_attributes(
    router: Router, plan: RoutingPlan, cost: ActualCost
) -> None:
    # A provider of the test's own: the process-wide one is left alone.
    provider = TracerProvider()
    seen = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(seen))
    local = provider.get_tracer("test")
    with local.start_as_current_span("route") as current:
        record_plan(current, plan)
    with local.start_as_current_span("outcome") as current:
        record_cost(current, cost)
    anonymous = router.route({**REQUEST, "tenant_id": None, "request_id": "req-2"})
    with local.start_as_current_span("route") as current:
        record_plan(current, anonymous)
    provider.shutdown()

    route, outcome, untenanted = seen.get_finished_spans()
    assert dict(route.attributes or {}) == {
        "modelrouter.decision_id": plan.decision_id,
        "modelrouter.request_id": "req-1",
        "modelrouter.tenant": "acme",
        "modelrouter.model": "smart",
        "modelrouter.strategy": "cheapest",
        "modelrouter.deployment": "beta/chat-large",
        "modelrouter.provider": "beta",
        "modelrouter.fallbacks": ("alpha/chat-large",),
        # gamma/chat-large lacks JSON schema; both open-70b deployments do not say.
        "modelrouter.rejected": 3,
        "modelrouter.expected_usd": "0.00756",  # 2000*2.5/1e6 + 256*10/1e6, exactly
        "modelrouter.catalog_version": plan.catalog_version,
    }
    assert dict(outcome.attributes or {}) == {
        "modelrouter.deployment": "beta/chat-large",
        "modelrouter.actual_usd": "0.008",  # 2000*2.5/1e6 + 300*10/1e6
        "modelrouter.input_tokens": 2000,
        "modelrouter.output_tokens": 300,
    }
    # No tenant: the attribute is left out, not written as "None".
    assert "modelrouter.tenant" not in (untenanted.attributes or {})
    assert (untenanted.attributes or {})["modelrouter.request_id"] == "req-2"
