"""``AsyncClient``: the service over HTTP, for asyncio; the twin of ``Client``.

::

    async with AsyncClient() as client:
        result = await client.arun({"model": "gpt-4o", "messages": [...]}, call)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from modelrouter.client import api
from modelrouter.client.hop import Hop, Observed
from modelrouter.client.http import Retries, Transport
from modelrouter.client.models import AttemptAnswer, Decision, Estimate, Spend
from modelrouter.client.run import Measure, Reported, RunResult, run_async
from modelrouter.client.stream import AsyncStreamRun, open_async
from modelrouter.request.model import RouteRequest
from modelrouter.routing.replay import ReplayResult
from modelrouter.types import RoutingPlan

__all__ = ["AsyncClient"]

AsyncCall = Callable[[Hop], Awaitable[Any] | Any]


class AsyncClient:
    """As ``Client``; every call is awaited. ``run``/``arun`` take a call that
    is a coroutine function or a plain one."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._transport = Transport(base_url, api_key, timeout=timeout, retries=retries)
        self._http = httpx.AsyncClient(transport=transport, **self._transport.options())

    async def _send(self, method: str, path: str, **options: Any) -> Any:
        return await self._transport.asend(self._http, method, path, **options)

    async def route(
        self, request: RouteRequest | Mapping[str, Any], *, include_snapshot: bool = False
    ) -> RoutingPlan:
        params = {"include": "snapshot"} if include_snapshot else None
        answer = await self._send("POST", "/v1/route", json=api.route_body(request), params=params)
        return RoutingPlan.from_dict(answer)

    async def estimate(self, request: RouteRequest | Mapping[str, Any]) -> Estimate:
        return Estimate.from_dict(
            await self._send("POST", "/v1/estimate", json=api.route_body(request))
        )

    async def report_attempt(
        self, decision_id: str, report: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> AttemptAnswer:
        path, body = api.attempts_call(decision_id, report)
        return AttemptAnswer.from_dict(await self._send("POST", path, json=body))

    async def decision(self, decision_id: str) -> Decision:
        return Decision.from_dict(await self._send("GET", api.decision_path(decision_id)))

    async def replay(self, decision_id: str) -> ReplayResult:
        path = api.decision_path(decision_id, "/replay")
        return api.replay_result(await self._send("POST", path))

    async def spend(
        self, tenant_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> Spend:
        path, params = api.spend_call(tenant_id, since, until)
        return Spend.from_dict(await self._send("GET", path, params=params))

    async def arun(self, request: RouteRequest | Mapping[str, Any], call: AsyncCall) -> RunResult:
        """Route, await ``call(hop)`` until a hop serves, report every attempt."""
        return await run_async(_Backend(self), request, call)

    async def arun_stream(
        self, request: RouteRequest | Mapping[str, Any], call: AsyncCall
    ) -> AsyncStreamRun:
        """As ``arun``, for a call that returns (or awaits to) the provider's stream."""
        return await open_async(_Backend(self), request, call)

    run = arun
    run_stream = arun_stream

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class _Backend:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def route_plan(self, request: RouteRequest) -> RoutingPlan:
        return await self.client.route(request)

    async def record(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> Reported:
        path, body = api.record_call(plan.decision_id, hop, observed, measure, final)
        answer = AttemptAnswer.from_dict(await self.client._send("POST", path, json=body))
        return api.reported(answer, measure.attempt_id)
