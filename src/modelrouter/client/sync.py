"""``Client``: the service over HTTP, blocking.

::

    with Client("http://127.0.0.1:8080", api_key="...") as client:
        plan = client.route({"model": "gpt-4o", "input_tokens": 900})
        result = client.run({"model": "gpt-4o", "messages": [...]}, call)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from modelrouter.client import api
from modelrouter.client.hop import Hop, Observed
from modelrouter.client.http import Retries, Transport
from modelrouter.client.models import AttemptAnswer, Decision, Estimate, Spend
from modelrouter.client.run import Measure, Reported, RunResult, run_sync
from modelrouter.client.stream import StreamRun, open_sync
from modelrouter.request.model import RouteRequest
from modelrouter.routing.replay import ReplayResult
from modelrouter.types import RoutingPlan

__all__ = ["Client"]


class Client:
    """The router's HTTP API. ``base_url`` defaults to ``MODELROUTER_URL``
    (else http://127.0.0.1:8080), ``api_key`` to ``MODELROUTER_API_KEY``;
    ``timeout`` is in seconds; 503 and 429 answers are retried as ``retries``
    says. ``transport`` is an ``httpx`` transport (a mock, an ASGI app)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        retries: Retries | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._transport = Transport(base_url, api_key, timeout=timeout, retries=retries)
        self._http = httpx.Client(transport=transport, **self._transport.options())

    def _send(self, method: str, path: str, **options: Any) -> Any:
        return self._transport.send(self._http, method, path, **options)

    def route(
        self, request: RouteRequest | Mapping[str, Any], *, include_snapshot: bool = False
    ) -> RoutingPlan:
        """The plan (``POST /v1/route``); the request gets a request id if it has none."""
        params = {"include": "snapshot"} if include_snapshot else None
        return RoutingPlan.from_dict(
            self._send("POST", "/v1/route", json=api.route_body(request), params=params)
        )

    def estimate(self, request: RouteRequest | Mapping[str, Any]) -> Estimate:
        """Each hop's cost, nothing recorded (``POST /v1/estimate``)."""
        return Estimate.from_dict(self._send("POST", "/v1/estimate", json=api.route_body(request)))

    def report_attempt(
        self, decision_id: str, report: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> AttemptAnswer:
        """One attempt (the service's ``AttemptReport`` body), or a list of them."""
        path, body = api.attempts_call(decision_id, report)
        return AttemptAnswer.from_dict(self._send("POST", path, json=body))

    def decision(self, decision_id: str) -> Decision:
        return Decision.from_dict(self._send("GET", api.decision_path(decision_id)))

    def replay(self, decision_id: str) -> ReplayResult:
        """Recompute the stored decision and compare plan hashes (``plan`` is None)."""
        return api.replay_result(self._send("POST", api.decision_path(decision_id, "/replay")))

    def spend(
        self, tenant_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> Spend:
        path, params = api.spend_call(tenant_id, since, until)
        return Spend.from_dict(self._send("GET", path, params=params))

    def run(
        self, request: RouteRequest | Mapping[str, Any], call: Callable[[Hop], Any]
    ) -> RunResult:
        """Route, call ``call(hop)`` until a hop serves, report every attempt
        (``modelrouter.client.run``)."""
        return run_sync(_Backend(self), request, call)

    def run_stream(
        self, request: RouteRequest | Mapping[str, Any], call: Callable[[Hop], Any]
    ) -> StreamRun:
        """As ``run``, for a call that returns the provider's stream of events."""
        return open_sync(_Backend(self), request, call)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Backend:
    def __init__(self, client: Client) -> None:
        self.client = client

    def route_plan(self, request: RouteRequest) -> RoutingPlan:
        return self.client.route(request)

    def record(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> Reported:
        path, body = api.record_call(plan.decision_id, hop, observed, measure, final)
        answer = AttemptAnswer.from_dict(self.client._send("POST", path, json=body))
        return api.reported(answer, measure.attempt_id)
