"""The Router: the library's front door. It reads the clock and the signals
once, at the boundary, and hands the pure planner a snapshot of both."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from modelrouter.catalog.catalog import Catalog
from modelrouter.normalize import normalize
from modelrouter.planner import PlanInputs, plan
from modelrouter.policy import PolicyDocument, PolicyStack
from modelrouter.request import RouteRequest, parse_request
from modelrouter.snapshot import ReplayResult, make_snapshot, replay
from modelrouter.types import DeploymentSignals, RoutingPlan

__all__ = ["Router"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Router:
    """``Router(Catalog.bundled()).route(RouteRequest(model="gpt-4o", input_tokens=2000))``."""

    def __init__(
        self,
        catalog: Catalog,
        platform_policy: PolicyDocument | None = None,
        *,
        clock: Clock = _utc_now,
    ) -> None:
        self.catalog = catalog
        self.platform_policy = platform_policy or PolicyDocument()
        self._clock = clock
        self._platform_stack = PolicyStack(self.platform_policy)
        # Derived policy values are computed once per tenant document, not per request.
        self._tenant_stacks: dict[int, tuple[PolicyDocument, PolicyStack]] = {}

    def _stack(self, tenant_policy: PolicyDocument | None) -> PolicyStack:
        if tenant_policy is None:
            return self._platform_stack
        cached = self._tenant_stacks.get(id(tenant_policy))
        if cached is not None and cached[0] is tenant_policy:
            return cached[1]
        if len(self._tenant_stacks) >= 4096:
            self._tenant_stacks.clear()
        stack = PolicyStack(self.platform_policy, tenant_policy)
        self._tenant_stacks[id(tenant_policy)] = (tenant_policy, stack)
        return stack

    def route(
        self,
        request: RouteRequest | Mapping[str, Any],
        *,
        tenant_policy: PolicyDocument | None = None,
        signals: Mapping[str, DeploymentSignals] | None = None,
    ) -> RoutingPlan:
        """The plan for one request, with its snapshot attached.

        Raises ``InvalidInputError`` for a malformed request, ``UnknownModelError``
        for a name the catalog does not know, and ``NoRouteError`` (listing every
        candidate and why it fell) when nothing is admissible."""
        valid = parse_request(request)
        inputs = PlanInputs(
            request=normalize(valid, now=self._clock()),
            catalog=self.catalog,
            policy=self._stack(tenant_policy),
            signals=signals or {},
        )
        result, read = plan(inputs)
        return replace(result, snapshot_source=partial(make_snapshot, inputs, read=read))

    def replay(self, snapshot: Mapping[str, Any]) -> ReplayResult:
        return replay(snapshot, self.catalog)
