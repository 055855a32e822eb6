"""``ModelRouterStrategy``: LiteLLM's ``CustomRoutingStrategyBase``, deciding
by modelrouter's plan.

For each call of a model group modelrouter knows, LiteLLM asks for a
deployment; the strategy routes the request (its messages, or a token
estimate, its ``metadata.tags`` and ``metadata.tenant_id``, a request id)
and hands LiteLLM the plan's primary. A retry of the same call (LiteLLM's
``num_retries``) is the same decision: it gets the plan's next untried hop,
not a new plan. Which decision and hop an attempt belongs to travels in the
attempt's own ``model_info`` (``modelrouter_decision_id``,
``modelrouter_deployment``, ``modelrouter_attempt``), where the callback
(``callback.ModelRouterCallback``) reads it back to report the attempt.

The request id is ``metadata.request_id`` when the caller gives one, else the
``litellm_call_id`` LiteLLM's proxy gives each request, else a fresh one; it
is kept in ``metadata.modelrouter`` so that retries and fallbacks of the call
find their decision. A name modelrouter has no deployment of (a wildcard, an
embedding group), a deployment id, or ``specific_deployment=True`` is left to
LiteLLM's own choice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from litellm.router import Router as LiteLLMRouter
from litellm.types.router import CustomRoutingStrategyBase

from modelrouter.client.hop import Hop, Observed, Reply, observe, plain
from modelrouter.client.run import Measure
from modelrouter.errors import InvalidInputError, ModelRouterError
from modelrouter.integrations.litellm.backends import Backend, InProcess
from modelrouter.integrations.litellm.fleet import Fleet
from modelrouter.request.model import Message, RouteRequest, parse_request
from modelrouter.request.tokens import estimate_tokens, text_tokens
from modelrouter.router import Router, new_request_id
from modelrouter.types import Candidate, RoutingPlan

__all__ = [
    "ATTEMPT_KEY",
    "DECISION_KEY",
    "DEPLOYMENT_KEY",
    "STATE_KEY",
    "ModelRouterStrategy",
    "PlanOutsideRouter",
]

log = logging.getLogger(__name__)

# Keys of an attempt's ``model_info`` (its own copy), and of the call's ``metadata``.
DECISION_KEY = "modelrouter_decision_id"
DEPLOYMENT_KEY = "modelrouter_deployment"
ATTEMPT_KEY = "modelrouter_attempt"
STATE_KEY = "modelrouter"
# Plans kept for their attempts' reports; the oldest are forgotten first.
KEPT_PLANS = 10_000
# Request fields LiteLLM passes that say what the request needs of a deployment.
# Not ``stream``: LiteLLM streams from every provider (faking it where need be).
_PASSED = ("max_tokens", "max_completion_tokens", "tools", "response_format")


class PlanOutsideRouter(ModelRouterError):
    """The plan names no deployment of this LiteLLM router (a service whose
    catalog keys them otherwise: state each entry's ``model_info.id``)."""

    code = "plan_outside_router"

    def __init__(self, decision_id: str, deployments: Sequence[str]) -> None:
        super().__init__(
            f"decision {decision_id} names no deployment of this LiteLLM router "
            f"({', '.join(deployments)}); give each model_list entry a model_info.id "
            "and import that config into the router's catalog"
        )
        self.decision_id = decision_id
        self.deployments = tuple(deployments)

    def details(self) -> dict[str, Any]:
        return {"decision_id": self.decision_id, "deployments": list(self.deployments)}


@dataclass
class _Decision:
    plan: RoutingPlan
    tried: list[str] = field(default_factory=list)  # handed out, in order
    last_error: str | None = None  # of the last failure reported so far
    reported: set[str] = field(default_factory=set)  # attempt ids


class ModelRouterStrategy(CustomRoutingStrategyBase):
    """Set on a LiteLLM router by ``install`` (``set_custom_routing_strategy``)."""

    def __init__(
        self,
        litellm_router: LiteLLMRouter,
        backend: Backend,
        fleet: Fleet,
        *,
        strategy: str | None = None,
        tags: bool | None = None,
    ) -> None:
        self.litellm_router = litellm_router
        # LiteLLM's tags select deployments only with ``enable_tag_filtering``;
        # otherwise they label spend, and a plan must not require them.
        self.tags = (
            bool(getattr(litellm_router, "enable_tag_filtering", False)) if tags is None else tags
        )
        self.backend = backend
        self.fleet = fleet
        self.strategy = strategy
        self._plans: OrderedDict[str, _Decision] = OrderedDict()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._picked = 0
        self._settled = 0
        # The registered ``ModelRouterCallback`` (set by ``install``).
        self.callback: Any = None

    @property
    def router(self) -> Router | None:
        """The in-process ``Router`` (its ``signals`` and ``budgets``); None over HTTP."""
        return self.backend.router if isinstance(self.backend, InProcess) else None

    # LiteLLM's extension point ----------------------------------------------------------

    def get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        input: str | list[Any] | None = None,  # LiteLLM's name
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        kwargs = request_kwargs if request_kwargs is not None else {}
        if self._defers(model, specific_deployment):
            found: dict[str, Any] = LiteLLMRouter.get_available_deployment(
                self.litellm_router,
                model=model,
                messages=messages,
                input=input,
                specific_deployment=specific_deployment,
                request_kwargs=kwargs,
            )
            return found
        state = _state(kwargs)
        held = self._retry(state, model)
        if held is not None:
            return held
        plan = self.backend.route(self._request(model, messages, input, kwargs, state))
        return self._start(state, model, plan)

    async def async_get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        input: str | list[Any] | None = None,  # LiteLLM's name
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        kwargs = request_kwargs if request_kwargs is not None else {}
        if self._defers(model, specific_deployment):
            found: dict[str, Any] = await LiteLLMRouter.async_get_available_deployment(
                self.litellm_router,
                model=model,
                messages=messages,
                input=input,
                specific_deployment=specific_deployment,
                request_kwargs=kwargs,
            )
            return found
        state = _state(kwargs)
        held = self._retry(state, model)
        if held is not None:
            return held
        plan = await self.backend.aroute(self._request(model, messages, input, kwargs, state))
        return self._start(state, model, plan)

    # Choosing -----------------------------------------------------------------------------

    def _defers(self, model: str, specific_deployment: bool | None) -> bool:
        """Whether LiteLLM chooses: a deployment asked for by id, or a name
        modelrouter has no deployment of."""
        if specific_deployment or self.litellm_router.has_model_id(model):
            return True
        return not self.fleet.routes(model)

    def _request(
        self,
        model: str,
        messages: list[dict[str, Any]] | None,
        prompt: str | list[Any] | None,
        kwargs: Mapping[str, Any],
        state: dict[str, Any],
    ) -> RouteRequest:
        metadata = kwargs.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        decisions: dict[str, str] = state.setdefault("decisions", {})
        base = state.setdefault("request_id", _request_id(metadata, kwargs))
        # A fallback to another model group within the call is a decision of its own.
        body: dict[str, Any] = {
            "model": model,
            "request_id": f"{base}.{len(decisions)}" if decisions else base,
        }
        if self.strategy is not None:
            body["strategy"] = self.strategy
        tenant = metadata.get("tenant_id")
        if isinstance(tenant, str) and tenant:
            body["tenant_id"] = tenant
        tags = metadata.get("tags")
        if self.tags and isinstance(tags, list) and tags and all(isinstance(t, str) for t in tags):
            body["tags"] = list(tags)
        body.update({name: kwargs[name] for name in _PASSED if kwargs.get(name) is not None})
        if messages:
            try:
                return parse_request({**body, "messages": messages})
            except InvalidInputError:
                pass  # a message shape we do not read: route on its token estimate
        return parse_request({**body, "input_tokens": _estimate(messages, prompt)})

    def _start(self, state: dict[str, Any], model: str, plan: RoutingPlan) -> dict[str, Any]:
        decision = _Decision(plan)
        with self._lock:
            self._plans[plan.decision_id] = decision
            self._plans.move_to_end(plan.decision_id)
            while len(self._plans) > KEPT_PLANS:
                self._plans.popitem(last=False)
        state["decisions"][model] = plan.decision_id
        return self._hand_out(decision, plan.hops)

    def _retry(self, state: Mapping[str, Any], model: str) -> dict[str, Any] | None:
        """The next hop of the call's decision for ``model``, if it has one."""
        decisions = state.get("decisions")
        decision_id = decisions.get(model) if isinstance(decisions, Mapping) else None
        with self._lock:
            decision = None if decision_id is None else self._plans.get(decision_id)
            if decision is None:
                return None
            plan = decision.plan
            following = plan.next_hop(decision.tried, decision.last_error)
            chain: Sequence[Candidate]
            if following is not None:
                chain = [following, *plan.hops]
            else:
                # Every hop was tried and LiteLLM retries still: round the chain again.
                turn = len(decision.tried) % len(plan.hops)
                chain = [*plan.hops[turn:], *plan.hops[:turn]]
        return self._hand_out(decision, chain)

    def _hand_out(self, decision: _Decision, chain: Sequence[Candidate]) -> dict[str, Any]:
        """LiteLLM's deployment for the first hop of ``chain`` it has, marked
        with the decision and the hop in the attempt's own ``model_info``."""
        present = {
            found: entry
            for entry in self.litellm_router.model_list
            if isinstance(found := (entry.get("model_info") or {}).get("id"), str)
        }
        plan = decision.plan
        for hop in chain:
            litellm_id = self.fleet.litellm_id_of(hop.deployment, present)
            if litellm_id is None:
                continue
            entry = present[litellm_id]
            with self._changed:
                attempt = len(decision.tried)
                decision.tried.append(hop.deployment)
                self._picked += 1
            info = {
                **(entry.get("model_info") or {}),
                DECISION_KEY: plan.decision_id,
                DEPLOYMENT_KEY: hop.deployment,
                ATTEMPT_KEY: attempt,
            }
            return {**entry, "model_info": info}
        raise PlanOutsideRouter(plan.decision_id, [hop.deployment for hop in plan.hops])

    # Reporting (called by the callback) --------------------------------------------------

    def plan_of(self, decision_id: str) -> RoutingPlan | None:
        """A plan this strategy handed out and still keeps."""
        with self._lock:
            decision = self._plans.get(decision_id)
        return None if decision is None else decision.plan

    def _attempt(
        self,
        kwargs: Mapping[str, Any],
        response: Any,
        start: Any,
        end: Any,
        failed: bool,
    ) -> tuple[RoutingPlan, Hop, Observed, Measure, bool] | None:
        """What one LiteLLM attempt of our plans reports; None when it is not
        ours, was reported already, or failed for no provider's reason."""
        params = kwargs.get("litellm_params")
        info = params.get("model_info") if isinstance(params, Mapping) else None
        if not isinstance(info, Mapping):
            return None
        decision_id, deployment = info.get(DECISION_KEY), info.get(DEPLOYMENT_KEY)
        number = info.get(ATTEMPT_KEY)
        if not isinstance(decision_id, str) or not isinstance(deployment, str):
            return None
        number = number if isinstance(number, int) else 0
        with self._lock:
            decision = self._plans.get(decision_id)
            if decision is None:
                return None  # another router's, or forgotten
            attempt_id = _attempt_id(decision_id, number, kwargs, start)
            if attempt_id in decision.reported:
                return None
            decision.reported.add(attempt_id)
        plan = decision.plan
        candidate = next((c for c in plan.hops if c.deployment == deployment), None)
        if candidate is None:
            return None
        hop = Hop.of(decision_id, candidate, number)
        latency = _ms_between(start, end)
        ttft = (
            _ms_between(start, kwargs.get("completion_start_time")) if _streamed(kwargs) else None
        )
        observed = _observed(hop, kwargs, response, failed, ttft)
        if observed is None:
            return None
        with self._lock:
            if not observed.ok and observed.error_class is not None:
                decision.last_error = observed.error_class.value
            tried = decision.tried[: number + 1] or [deployment]
        final = observed.ok or plan.next_hop(tried, decision.last_error) is None
        measure = Measure(
            attempt_id=attempt_id,
            latency_ms=latency if latency is not None else Decimal(0),
            ttft_ms=ttft,
            usage_source="measured" if observed.usage is not None else None,
        )
        return plan, hop, observed, measure, final

    def report(
        self, kwargs: Mapping[str, Any], response: Any, start: Any, end: Any, *, failed: bool
    ) -> None:
        try:
            found = self._attempt(kwargs, response, start, end, failed)
            if found is not None:
                self.backend.report(*found)
        finally:
            self._settle(kwargs)

    async def areport(
        self, kwargs: Mapping[str, Any], response: Any, start: Any, end: Any, *, failed: bool
    ) -> None:
        try:
            found = self._attempt(kwargs, response, start, end, failed)
            if found is not None:
                await self.backend.areport(*found)
        finally:
            self._settle(kwargs)

    def _settle(self, kwargs: Mapping[str, Any]) -> None:
        """Count a callback of one of our attempts (reported or not)."""
        params = kwargs.get("litellm_params")
        info = params.get("model_info") if isinstance(params, Mapping) else None
        decision_id = info.get(DECISION_KEY) if isinstance(info, Mapping) else None
        with self._changed:
            if isinstance(decision_id, str) and decision_id in self._plans:
                self._settled += 1
                self._changed.notify_all()

    # Waiting for LiteLLM's callbacks -----------------------------------------------------

    def _caught_up(self) -> bool:
        return self._settled >= self._picked

    def wait_reported(self, timeout: float = 5.0) -> bool:
        """Block until every attempt handed out has been reported (LiteLLM
        runs its callbacks after the call returns, on a worker thread or a
        task); False if ``timeout`` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(self._caught_up, timeout)

    async def await_reported(self, timeout: float = 5.0) -> bool:
        """As ``wait_reported``, yielding to the event loop that runs LiteLLM's
        async callbacks."""
        import asyncio

        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._caught_up():
                    return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)


def _state(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's own record of its decisions, in its ``metadata`` (which
    LiteLLM keeps across the call's retries)."""
    metadata = kwargs.get("metadata")
    if not isinstance(metadata, dict):
        metadata = kwargs["metadata"] = {}
    state = metadata.get(STATE_KEY)
    if not isinstance(state, dict):
        state = metadata[STATE_KEY] = {}
    return state


def _request_id(metadata: Mapping[str, Any], kwargs: Mapping[str, Any]) -> str:
    for given in (metadata.get("request_id"), kwargs.get("litellm_call_id")):
        if isinstance(given, str) and given and not any(c.isspace() for c in given):
            return given[:150]
    return new_request_id()


def _estimate(messages: list[dict[str, Any]] | None, prompt: str | list[Any] | None) -> int:
    if messages:
        try:
            return estimate_tokens([Message.model_validate(m) for m in messages])[0]
        except ValueError:
            return text_tokens(" ".join(str(m.get("content", "")) for m in messages))
    if isinstance(prompt, str):
        return text_tokens(prompt)
    if isinstance(prompt, list):
        return sum(text_tokens(str(part)) for part in prompt)
    return 0


def _attempt_id(decision_id: str, number: int, kwargs: Mapping[str, Any], start: Any) -> str:
    """One id per LiteLLM attempt: its call id and start, with the hop's number
    (the proxy's call id is the same for every retry of a request)."""
    call_id = kwargs.get("litellm_call_id")
    began = start.isoformat() if isinstance(start, datetime) else str(start)
    digest = hashlib.sha256(f"{decision_id}|{number}|{call_id}|{began}".encode()).hexdigest()
    return f"litellm-{number}-{digest[:16]}"


def _ms_between(start: Any, end: Any) -> Decimal | None:
    """Milliseconds from ``start`` to ``end`` (datetimes, or seconds as LiteLLM
    gives them for some calls), to the microsecond."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        seconds = (end - start).total_seconds()
    elif isinstance(start, int | float) and isinstance(end, int | float):
        seconds = float(end - start)
    else:
        return None
    return max(Decimal(f"{seconds * 1000:.3f}"), Decimal(0))


def _streamed(kwargs: Mapping[str, Any]) -> bool:
    return kwargs.get("stream") is True


def _observed(
    hop: Hop, kwargs: Mapping[str, Any], response: Any, failed: bool, ttft: Decimal | None
) -> Observed | None:
    """The attempt as the feedback loop reads it. LiteLLM answers every
    provider in the OpenAI chat shape, so its usage is read as that; its
    exceptions carry the provider's status code and response."""
    if failed:
        raised = kwargs.get("exception")
        if not isinstance(raised, BaseException):
            raised = response if isinstance(response, BaseException) else None
        if raised is None:
            return None
        try:
            return observe(hop, raised=raised)
        except BaseException:
            log.debug("not a provider failure, not reported: %r", raised)
            return None
    if _streamed(kwargs):
        response = kwargs.get("complete_streaming_response") or response
    return observe(hop, returned=Reply(_answer(response), api="openai-chat", ttft_ms=ttft))


def _answer(response: Any) -> Any:
    """What the feedback loop reads of LiteLLM's answer (a ``ModelResponse``):
    how each choice finished (a content filter is a failure) and the usage.
    Read field by field: dumping the whole answer makes pydantic warn."""
    if response is None or isinstance(response, Mapping):
        return response
    body: dict[str, Any] = {
        "object": "chat.completion",
        "choices": [
            {"index": i, "finish_reason": getattr(choice, "finish_reason", None)}
            for i, choice in enumerate(getattr(response, "choices", None) or [])
        ],
    }
    model = getattr(response, "model", None)
    if isinstance(model, str):
        body["model"] = model
    usage = getattr(response, "usage", None)
    if usage is not None:
        body["usage"] = plain(usage)
    return body
