"""Where the plugin's plans come from and its attempts go: a ``Router`` in
this process (through ``LocalClient``, which turns a call into the
library's ``Attempt``), or the service over HTTP (``Client`` or
``AsyncClient``, with the attempt report ``client.run`` sends)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from modelrouter.client.aio import AsyncClient
from modelrouter.client.hop import Hop, Observed
from modelrouter.client.local import LocalClient
from modelrouter.client.run import Measure, attempt_body
from modelrouter.client.sync import Client
from modelrouter.policy.document import PolicyDocument
from modelrouter.request.model import RouteRequest
from modelrouter.router import Router
from modelrouter.types import RoutingPlan

__all__ = ["Backend", "InProcess", "OverHttp"]


class Backend(Protocol):
    def route(self, request: RouteRequest) -> RoutingPlan: ...

    async def aroute(self, request: RouteRequest) -> RoutingPlan: ...

    def report(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> None: ...

    async def areport(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> None: ...


class InProcess:
    """A ``Router`` here: no I/O, so the async twins run inline."""

    def __init__(self, router: Router, tenant_policy: PolicyDocument | None = None) -> None:
        self.router = router
        self._local = LocalClient(router, tenant_policy=tenant_policy)

    def route(self, request: RouteRequest) -> RoutingPlan:
        return self._local.route(request)

    async def aroute(self, request: RouteRequest) -> RoutingPlan:
        return self._local.route(request)

    def report(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> None:
        self._local.record(plan, hop, observed, measure, final)

    async def areport(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> None:
        self._local.record(plan, hop, observed, measure, final)


class OverHttp:
    """The service. A ``Client`` serves LiteLLM's sync calls and, on a worker
    thread, its async ones; an ``AsyncClient`` serves only the async ones."""

    def __init__(self, client: Client | AsyncClient) -> None:
        self.client = client

    def _sync(self) -> Client:
        if not isinstance(self.client, Client):
            raise TypeError(
                "a sync LiteLLM call (router.completion) needs a modelrouter Client; "
                "an AsyncClient serves only router.acompletion"
            )
        return self.client

    def route(self, request: RouteRequest) -> RoutingPlan:
        return self._sync().route(request)

    async def aroute(self, request: RouteRequest) -> RoutingPlan:
        if isinstance(self.client, AsyncClient):
            return await self.client.route(request)
        return await asyncio.to_thread(self.client.route, request)

    def report(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> None:
        body = attempt_body(hop, observed, measure, final)
        self._sync().report_attempt(plan.decision_id, body)

    async def areport(
        self, plan: RoutingPlan, hop: Hop, observed: Observed, measure: Measure, final: bool
    ) -> None:
        body = attempt_body(hop, observed, measure, final)
        if isinstance(self.client, AsyncClient):
            await self.client.report_attempt(plan.decision_id, body)
        else:
            await asyncio.to_thread(self.client.report_attempt, plan.decision_id, body)
