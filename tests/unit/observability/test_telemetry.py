"""Metrics, traces and event documents, on plans the router really made; the
event sinks' contract: publish never blocks, a full queue drops and counts."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from prometheus_client.parser import text_string_to_metric_families

from modelrouter.errors import ModelRouterError, NoRouteError
from modelrouter.observability import tracing as telemetry
from modelrouter.observability.events import decision_event, outcome_event
from modelrouter.observability.metrics import Metrics, failure_result
from modelrouter.observability.sinks import sink_from_env
from modelrouter.observability.sinks.jsonl import JsonLinesSink
from modelrouter.observability.sinks.nats import NatsSink, subject_matches
from modelrouter.observability.tracing import (
    configure_tracing,
    record_cost,
    record_plan,
    shutdown_tracing,
    span,
    tracer,
)
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
OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
)


@pytest.fixture
def plan(router: Router) -> RoutingPlan:
    # beta/chat-large, then alpha/chat-large; gamma has no JSON schema output,
    # open-70b does not say whether it has.
    return router.route(REQUEST)


@pytest.fixture
def cost(router: Router, plan: RoutingPlan) -> ActualCost:
    return router.record_outcome(plan, Usage(input_tokens=2000, output_tokens=300))


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, _ = metrics.render()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


# -- metrics ---------------------------------------------------------------------------


def test_a_routed_decision_is_counted_with_its_labels(plan: RoutingPlan) -> None:
    assert plan.primary.deployment == "beta/chat-large"
    metrics = Metrics()
    metrics.observe_decision(plan, 0.0003)
    metrics.observe_decision(plan, 0.002)

    decisions = "modelrouter_decisions_total"
    labels = {"strategy": "cheapest", "provider": "beta", "result": "routed"}
    assert value(metrics, decisions, **labels) == 2
    assert value(metrics, "modelrouter_rejections_total", reason="feature_unsupported") == 2
    assert value(metrics, "modelrouter_rejections_total", reason="feature_unknown") == 4
    assert value(metrics, "modelrouter_routing_seconds_count") == 2
    assert value(metrics, "modelrouter_routing_seconds_bucket", le="5e-05") == 0
    assert value(metrics, "modelrouter_routing_seconds_bucket", le="0.0005") == 1
    assert value(metrics, "modelrouter_routing_seconds_bucket", le="0.0025") == 2
    assert value(metrics, "modelrouter_routing_seconds_bucket", le="0.05") == 2


def test_failures_are_counted_by_result(router: Router) -> None:
    metrics = Metrics()
    with pytest.raises(NoRouteError) as no_route:
        router.route({"model": "smart", "input_tokens": 5_000_000, "strategy": "fastest"})
    assert failure_result(no_route.value) == "no_route"
    metrics.observe_failure("no_route", "fastest", 0.0004, rejections=no_route.value.rejections)
    with pytest.raises(ModelRouterError) as unknown:
        router.route({"model": "no-such-model", "input_tokens": 10})
    result = failure_result(unknown.value)
    assert result == "invalid"
    metrics.observe_failure(result, None, 0.0001)
    metrics.observe_failure("budget_exceeded", "cheapest", 0.0002)

    decisions = "modelrouter_decisions_total"
    assert value(metrics, decisions, strategy="fastest", provider="none", result="no_route") == 1
    assert value(metrics, decisions, strategy="none", provider="none", result="invalid") == 1
    labels = {"strategy": "cheapest", "provider": "none", "result": "budget_exceeded"}
    assert value(metrics, decisions, **labels) == 1
    # Every candidate of "smart" fell on its context window.
    assert value(metrics, "modelrouter_rejections_total", reason="context_window_too_small") == 5
    assert value(metrics, "modelrouter_routing_seconds_count") == 3
    with pytest.raises(ValueError, match="result must be one of"):
        metrics.observe_failure("routed", "cheapest", 0.1)  # type: ignore[arg-type]
    assert failure_result(RuntimeError("bug")) is None


def test_an_outcome_counts_estimate_actual_ratio_and_tenant_spend(
    router: Router, plan: RoutingPlan, cost: ActualCost
) -> None:
    metrics = Metrics()
    metrics.observe_outcome(plan, cost)
    estimate = plan.primary.estimate.expected_usd
    # beta/chat-large, $2.5 in / $10 out per million: 2000 in, 300 out.
    assert cost.total_usd == Decimal("0.008")
    assert estimate == Decimal("0.00756")
    assert value(metrics, "modelrouter_actual_cost_usd_total", provider="beta") == 0.008
    assert value(metrics, "modelrouter_estimated_cost_usd_total", provider="beta") == 0.00756
    assert value(metrics, "modelrouter_spend_usd_total", tenant="acme") == 0.008
    ratio = "modelrouter_cost_ratio"
    assert value(metrics, f"{ratio}_count", provider="beta") == 1
    assert value(metrics, f"{ratio}_sum", provider="beta") == pytest.approx(0.008 / 0.00756)
    assert value(metrics, f"{ratio}_bucket", provider="beta", le="1.0") == 0
    assert value(metrics, f"{ratio}_bucket", provider="beta", le="1.1") == 1

    # Served by the fallback (alpha): its provider, its estimate; no tenant: "default".
    anonymous = router.route({**REQUEST, "tenant_id": None, "request_id": "req-2"})
    fallback = anonymous.fallbacks[0]
    assert fallback.provider == "alpha"
    served = router.record_outcome(
        anonymous, Usage(input_tokens=2000, output_tokens=100), deployment=fallback.deployment
    )
    metrics.observe_outcome(anonymous, served)
    assert value(metrics, "modelrouter_actual_cost_usd_total", provider="alpha") == float(
        served.total_usd
    )
    assert value(metrics, "modelrouter_estimated_cost_usd_total", provider="alpha") == float(
        fallback.estimate.expected_usd
    )
    assert value(metrics, "modelrouter_spend_usd_total", tenant="default") == float(
        served.total_usd
    )


def test_render_negotiates_the_format_and_registries_do_not_collide(plan: RoutingPlan) -> None:
    first, second = Metrics(), Metrics()  # a registry each: no "duplicated timeseries"
    first.observe_decision(plan, 0.001)
    body, content_type = first.render()
    assert content_type.startswith("text/plain; version=0.0.4")
    assert b'modelrouter_decisions_total{provider="beta",result="routed",strategy="cheapest"}' in (
        body
    )
    labels = {"strategy": "cheapest", "provider": "beta", "result": "routed"}
    assert value(second, "modelrouter_decisions_total", **labels) is None
    open_body, open_type = first.render("application/openmetrics-text; version=1.0.0")
    assert open_type.startswith("application/openmetrics-text")
    assert open_body.endswith(b"# EOF\n")


def test_event_sink_drops_are_exposed(tmp_path: Path) -> None:
    metrics = Metrics()
    sink = JsonLinesSink(tmp_path / "events.jsonl")
    metrics.track_sink("jsonl", sink)
    sink.close()
    sink.publish({"type": "decision"})  # after close: dropped
    assert value(metrics, "modelrouter_events_dropped_total", sink="jsonl") == 1


# -- tracing ---------------------------------------------------------------------------


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


# -- event documents -------------------------------------------------------------------


def test_decision_and_outcome_documents(
    router: Router, plan: RoutingPlan, cost: ActualCost
) -> None:
    decision = decision_event(plan)
    assert json.loads(json.dumps(decision)) == decision  # JSON types only
    assert decision["type"] == "decision"
    assert decision["event_id"] == decision["decision_id"] == plan.decision_id
    assert decision["time"] == plan.timestamp.isoformat()
    assert decision["request_id"] == "req-1"
    assert decision["tenant_id"] == "acme"
    assert (decision["model"], decision["strategy"]) == ("smart", "cheapest")
    assert decision["primary"] == {
        "deployment": "beta/chat-large",
        "provider": "beta",
        "model": "chat-large",
    }
    assert decision["fallbacks"] == ["alpha/chat-large"]
    assert decision["plan_hash"] == plan.plan_hash
    assert decision["estimate"]["expected_usd"] == "0.00756"
    assert decision["estimate"]["worst_case_usd"] == "0.01"
    assert decision["rejected"] == {"feature_unknown": 2, "feature_unsupported": 1}

    outcome = outcome_event(plan, cost)
    assert json.loads(json.dumps(outcome)) == outcome
    assert outcome["type"] == "outcome"
    assert outcome["event_id"] == f"{plan.decision_id}:outcome"
    assert outcome["served"] == {**decision["primary"], "hop": 0}
    assert outcome["actual"]["total_usd"] == "0.008"
    assert outcome["actual"]["components"] == {"input": "0.005", "output": "0.003"}
    assert outcome["estimate"] == decision["estimate"]
    assert outcome["usage"]["output_tokens"] == 300
    for key in ("decision_id", "tenant_id", "plan_hash", "fallbacks", "rejected"):
        assert outcome[key] == decision[key]

    fallback = plan.fallbacks[0].deployment
    by_fallback = router.record_outcome(plan, Usage(input_tokens=2000), deployment=fallback)
    served = outcome_event(plan, by_fallback, fallback)
    assert served["served"]["hop"] == 1
    assert served["estimate"]["expected_usd"] != decision["estimate"]["expected_usd"]
    with pytest.raises(ValueError, match="priced for"):
        outcome_event(plan, cost, fallback)


def test_subject_matching() -> None:
    assert subject_matches("modelrouter.>", "modelrouter.decisions")
    assert not subject_matches("modelrouter.>", "modelrouter")
    assert subject_matches("modelrouter.*", "modelrouter.outcomes")
    assert not subject_matches("modelrouter.*", "modelrouter.outcomes.x")
    assert not subject_matches("other.>", "modelrouter.decisions")


# -- sinks -----------------------------------------------------------------------------


def test_json_lines_sink_writes_one_document_per_line(
    tmp_path: Path, plan: RoutingPlan, cost: ActualCost
) -> None:
    path = tmp_path / "data" / "events.jsonl"
    events = [decision_event(plan), outcome_event(plan, cost)]
    sink = JsonLinesSink(path)
    for event in events:
        sink.publish(event)
    assert sink.flush(5.0)
    sink.close()
    again = JsonLinesSink(path)  # appends
    again.publish({"type": "decision", "amount": Decimal("1.50")})
    again.close()

    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [*events, {"type": "decision", "amount": "1.5"}]
    assert (sink.written, sink.dropped, sink.failed) == (2, 0, 0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_stuck_file_system_never_blocks_publish(tmp_path: Path) -> None:
    # A named pipe nobody reads: opening it for writing blocks until a reader
    # comes, like a hung network file system. The writer thread waits there.
    path = tmp_path / "events.jsonl"
    os.mkfifo(path)
    sink = JsonLinesSink(path, queue_size=4)
    started = time.perf_counter()
    for i in range(10):
        sink.publish({"type": "decision", "n": i})
    assert time.perf_counter() - started < 0.5
    assert sink.dropped == 6  # the queue took four
    assert not sink.flush(0.05)

    started = time.perf_counter()
    sink.close(timeout=0.1)
    assert time.perf_counter() - started < 1.0
    sink.publish({"type": "decision", "n": 10})  # closed: dropped
    assert sink.dropped == 7

    # The file system comes back: what was queued is written.
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        sink.close(timeout=5.0)
        data = os.read(reader, 65536).decode("utf-8")
    finally:
        os.close(reader)
    assert [json.loads(line)["n"] for line in data.splitlines()] == [0, 1, 2, 3]


def test_a_failing_write_is_counted_and_never_raises(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    sink = JsonLinesSink(directory)  # cannot be opened as a file
    sink.publish({"type": "decision"})
    sink.publish({"type": "decision", "bad": object()})
    assert sink.flush(5.0)
    sink.close()
    assert (sink.written, sink.failed) == (0, 2)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_nats_sink_never_blocks_while_the_server_is_away() -> None:
    sink = NatsSink(f"nats://127.0.0.1:{closed_port()}", queue_size=3, reconnect_wait=0.05)
    assert (sink.subject, sink.outcome_subject) == (
        "modelrouter.decisions",
        "modelrouter.outcomes",
    )
    assert sink.stream_subjects == ("modelrouter.>",)
    assert sink.subject_for({"type": "outcome"}) == "modelrouter.outcomes"
    started = time.perf_counter()
    for i in range(5):
        sink.publish({"type": "decision", "event_id": f"e{i}"})
    assert time.perf_counter() - started < 0.5
    assert sink.dropped == 2
    started = time.perf_counter()
    sink.close(timeout=0.3)
    assert time.perf_counter() - started < 2.0
    assert (sink.published, sink.dropped) == (0, 5)  # the queued three were given up


def test_sink_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    local = sink_from_env(tmp_path)
    assert isinstance(local, JsonLinesSink)
    assert local.path == tmp_path / "events.jsonl"
    local.close()

    monkeypatch.setenv("MODELROUTER_NATS_URL", f"nats://127.0.0.1:{closed_port()}")
    remote = sink_from_env(tmp_path)
    assert isinstance(remote, NatsSink)
    assert remote.stream == "MODELROUTER"
    remote.close(timeout=0.1)


def test_publish_is_thread_safe(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "events.jsonl", queue_size=100_000)

    def publish(worker: int) -> None:
        for i in range(500):
            sink.publish({"type": "decision", "worker": worker, "n": i})

    workers = [threading.Thread(target=publish, args=(w,)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sink.close()
    lines = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4000 == sink.written
    assert Counter(json.loads(line)["worker"] for line in lines) == dict.fromkeys(range(8), 500)
