"""Prometheus metrics, on plans the router really made: decisions and
failures by result, outcomes and spend, the exposition format, sink drops."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelrouter.errors import ModelRouterError, NoRouteError
from modelrouter.observability.metrics import Metrics, failure_result
from modelrouter.observability.sinks.jsonl import JsonLinesSink
from modelrouter.pricing.cost import ActualCost
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.types import RoutingPlan
from tests.unit.observability.conftest import REQUEST


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, _ = metrics.render()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


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
