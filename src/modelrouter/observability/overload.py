"""Admission control's metrics: how many requests a worker refused because too
many were already in flight, and how many are in flight now.

``modelrouter_overloaded_requests_total``
    requests answered 503 ``overloaded`` (never started), this worker.
``modelrouter_requests_in_flight``
    requests being served by this worker now (probes and ``/metrics`` are not
    counted); ``modelrouter_max_in_flight`` is the limit (0: no limit).

The values live in the admission gate (plain integers on the event loop); this
collector reads them when ``/metrics`` is rendered, so counting costs nothing
on the hot path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["AdmissionCounts", "OverloadCollector", "track_admission"]


class AdmissionCounts(Protocol):
    @property
    def limit(self) -> int: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def rejected(self) -> int: ...


class OverloadCollector(Collector):
    def __init__(self, gate: AdmissionCounts) -> None:
        self.gate = gate

    def collect(self) -> Iterable[Metric]:
        rejected = CounterMetricFamily(
            "modelrouter_overloaded_requests",
            "Requests refused with 503 overloaded: this worker had too many in flight.",
        )
        rejected.add_metric([], self.gate.rejected)
        in_flight = GaugeMetricFamily(
            "modelrouter_requests_in_flight",
            "Requests being served by this worker (probes and /metrics not counted).",
        )
        in_flight.add_metric([], self.gate.in_flight)
        limit = GaugeMetricFamily(
            "modelrouter_max_in_flight",
            "Requests in flight beyond which this worker answers 503 (0: no limit).",
        )
        limit.add_metric([], self.gate.limit)
        return [rejected, in_flight, limit]


def track_admission(registry: CollectorRegistry, gate: AdmissionCounts) -> None:
    """Expose ``gate`` on ``registry``; a registry that already exposes a gate
    (one service state handed to a second app) keeps the first."""
    with contextlib.suppress(ValueError):  # "Duplicated timeseries": already there
        registry.register(OverloadCollector(gate))
