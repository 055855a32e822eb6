"""The Router: the library's front door. It reads the clock and the signals
once, at the boundary, and hands the pure planner a snapshot of both."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.errors import (
    BudgetExceeded,
    CatalogVersionError,
    InvalidInputError,
    ModelRouterError,
    NoRouteError,
)
from modelrouter.feedback.attempt import Attempt
from modelrouter.feedback.classify import ErrorClass
from modelrouter.money import ZERO, exact_str
from modelrouter.policy.budgets import (
    DEFAULT_RESERVATION_TTL,
    HOP_SCOPES,
    BudgetStore,
    BudgetWindow,
    WindowState,
    applies,
    budget_context,
    covers,
    exceeded,
    hop_values,
    key_value,
    scope_of_key,
    settlement_id,
    window_for,
)
from modelrouter.policy.document import Budget, PolicyDocument
from modelrouter.policy.effective import PolicyStack
from modelrouter.pricing.cost import ActualCost, actual_cost
from modelrouter.pricing.usage import Usage
from modelrouter.request.model import RouteRequest, parse_request
from modelrouter.request.normalize import normalize
from modelrouter.routing.compiled import CompiledTables
from modelrouter.routing.planner import PlanInputs, plan
from modelrouter.routing.replay import ReplayResult, replay
from modelrouter.routing.resolver import resolve
from modelrouter.signals.budgets import MemoryBudgetStore
from modelrouter.signals.calibration import CalibrationLog, CalibrationRecord
from modelrouter.signals.learner import InputCorrection, OutputLearner
from modelrouter.signals.live import Observation, SignalStore, to_ms
from modelrouter.signals.memory import MemorySignals
from modelrouter.types import Candidate, DeploymentSignals, RejectionCode, RoutingPlan

__all__ = ["DEFAULT_TENANT", "Router", "new_request_id"]

# Budgets of requests without a tenant_id are kept under this name.
DEFAULT_TENANT = "default"
RESERVE_ATTEMPTS = 3

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _observation(attempt: Attempt, now: datetime) -> Observation:
    at_ms = to_ms(now)
    reset = attempt.reset_after_s
    speed = attempt.speed()
    return Observation(
        deployment=attempt.deployment,
        at_ms=at_ms,
        error_class=attempt.error_class,
        reset_at_ms=None if reset is None else at_ms + int(reset * 1000),
        ttft_ms=None if attempt.ttft_ms is None else float(attempt.ttft_ms),
        tokens_per_s=None if speed is None else float(speed),
        limits=attempt.rate_limits,
    )


def new_request_id() -> str:
    """A fresh id for a request that came without one: every such request is a
    decision of its own, and identical bodies spread over weighted deployments."""
    return "req_" + uuid.uuid4().hex[:24]


class Router:
    """``Router(Catalog.bundled()).route(RouteRequest(model="gpt-4o", input_tokens=2000))``."""

    def __init__(
        self,
        catalog: Catalog,
        platform_policy: PolicyDocument | None = None,
        *,
        clock: Clock = _utc_now,
        learner: OutputLearner | None = None,
        calibration: CalibrationLog | None = None,
        budgets: BudgetStore | None = None,
        reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
        signals: SignalStore | None = None,
        input_correction: InputCorrection | None = None,
        catalogs: Callable[[str], Catalog | None] | None = None,
        compiled: bool = True,
    ) -> None:
        self.catalog = catalog
        self.platform_policy = platform_policy or PolicyDocument()
        self._clock = clock
        self.learner = learner or OutputLearner()
        self.input_correction = input_correction or InputCorrection()
        # Other catalog versions by version: attempts of decisions routed on
        # them are priced at their own prices.
        self._catalogs = catalogs
        self.calibration = calibration or CalibrationLog()
        self.budgets = budgets if budgets is not None else MemoryBudgetStore()
        self.reservation_ttl = reservation_ttl
        # Live signals: in process unless a shared store is handed in.
        self.signals: SignalStore = (
            signals if signals is not None else MemorySignals(self.platform_policy.health)
        )
        self.signals.configure(self.platform_policy.health)
        self._platform_stack = PolicyStack(self.platform_policy)
        # Derived policy values are computed once per tenant document, not per request.
        self._tenant_stacks: dict[int, tuple[PolicyDocument, PolicyStack]] = {}
        # What routing computes that no request changes, per catalog version and
        # policy stack version (``routing.table``, planned on by
        # ``routing.compiled``); off: every plan from scratch.
        self._tables: CompiledTables | None = CompiledTables() if compiled else None

    def now(self) -> datetime:
        """The router's clock (budget windows are read against it)."""
        return self._clock()

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
        reserve: bool = True,
        skip_budgets: bool = False,
        policy_stale_since: datetime | None = None,
        api_key_id: str | None = None,
    ) -> RoutingPlan:
        """The plan for one request, with its snapshot attached.

        Raises ``InvalidInputError`` for a malformed request, ``UnknownModelError``
        for a name the catalog does not know, ``NoRouteError`` (listing every
        candidate and why it fell) when nothing is admissible, and
        ``BudgetExceeded`` when the tenant's budget cannot cover the request.
        ``reserve=False`` plans under the budgets without holding any money
        (an estimate); ``skip_budgets`` plans as if there were none (a
        platform that admits traffic while its ledger is unreachable), and
        ``policy_stale_since`` records that the policies handed in are the last
        ones read before the store stopped answering. ``api_key_id`` is the
        caller's API key: budgets of scope ``key`` count its spend (its windows
        are named in the plan's ``budget_keys``); without one they do not apply."""
        valid = parse_request(request)
        now = self._clock()
        learned = (
            self.learner.expected(valid.model) if valid.expected_output_tokens is None else None
        )
        normalized = normalize(
            valid,
            now=now,
            learned_output_tokens=learned,
            assigned_id=None if valid.request_id else new_request_id(),
            input_scale=None
            if valid.messages is None
            else self.input_correction.scale(valid.model),
        )
        policy = self._stack(tenant_policy)
        stale_since = None if policy_stale_since is None else policy_stale_since.isoformat()
        # Headroom is spent only by plans that will be sent, never by estimates.
        live = signals is None
        for _ in range(RESERVE_ATTEMPTS):
            if signals is not None:  # handed in: one pass
                inputs = PlanInputs(
                    normalized, self.catalog, policy, signals, None, "", stale_since
                )
            else:
                view = self.signals.view(self.catalog, now)
                inputs = PlanInputs(
                    normalized,
                    self.catalog,
                    policy,
                    view,
                    None,
                    "",
                    stale_since,
                    view.age_ms,
                    view.stale,
                )
            result = self._budgeted(
                inputs,
                valid.tenant_id,
                now,
                reserve=reserve,
                skip=skip_budgets,
                api_key_id=api_key_id,
            )
            if not (live and reserve) or self._take_headroom(result, now):
                return result
            # Another plan took the last of the primary's headroom: plan again on what is left.
        return result

    def _take_headroom(self, plan: RoutingPlan, now: datetime) -> bool:
        primary = self.catalog.deployments.get(plan.primary.deployment)
        if primary is None:
            return True
        estimate = plan.primary.estimate
        return self.signals.take(
            primary, estimate.input_tokens + estimate.expected_output_tokens, now
        )

    def _budgeted(
        self,
        inputs: PlanInputs,
        tenant_id: str | None,
        now: datetime,
        *,
        reserve: bool,
        skip: bool,
        api_key_id: str | None = None,
    ) -> RoutingPlan:
        budgets = inputs.policy.effective.budgets
        if not budgets or skip:
            return self._plan(inputs)
        tenant = tenant_id or DEFAULT_TENANT
        windows = _request_windows(budgets, tenant, api_key_id, now)
        scoped = [(i, b) for i, b in enumerate(budgets) if b.scope in HOP_SCOPES]
        hops = _HopWindows(scoped, now)
        if scoped:
            hops.add(self._candidates(inputs))
        if not windows and not hops.windows():
            unbudgeted = self._plan(inputs)
            if not scoped or not hops.add(_served_by(self.catalog, unbudgeted)):
                return unbudgeted
            if not hops.windows():
                return unbudgeted
        failed = 0
        # Each pass either returns, reads the budgets of hops not read before (the
        # catalog is finite), or follows a reservation lost to another request.
        while True:
            hop_windows = hops.windows()
            keys = [w.key for w in windows] + [w.key for w, _ in hop_windows]
            read = self.budgets.state(tenant, keys, now)
            states, hop_states = read[: len(windows)], read[len(windows) :]
            context = budget_context(tenant, windows, states, hop_windows, hop_states)
            budgeted = replace(inputs, budget=context)
            try:
                result = self._plan(budgeted)
            except NoRouteError as exc:
                raise self._budget_refusal(
                    inputs, tenant, windows, states, hop_windows, hop_states, exc
                ) from None
            if scoped and hops.add(_served_by(self.catalog, result)):
                # A hop the budgets were not read for: read them, and plan again.
                continue
            assert result.reserved_usd is not None
            if not reserve:
                return result
            held = _holdings(result, windows, hop_windows)
            if not held:
                return result
            try:
                self.budgets.reserve(
                    tenant,
                    [w for w, _ in held],
                    result.reserved_usd,
                    result.decision_id,
                    now + self.reservation_ttl,
                    now,
                    amounts=[amount for _, amount in held],
                )
            except BudgetExceeded:
                # Another request reserved in between: plan again on what is left.
                failed += 1
                if failed == RESERVE_ATTEMPTS:
                    raise
                continue
            return result

    def _candidates(self, inputs: PlanInputs) -> list[tuple[Deployment, str | None]]:
        """The deployments the request's names resolve to, and through which
        name: the hop-scoped budgets are read for these."""
        request, effective = inputs.request, inputs.policy.effective
        out: dict[str, tuple[Deployment, str | None]] = {}
        for name in (request.model, *request.fallback_models):
            try:
                found = resolve(name, self.catalog, effective)
            except ModelRouterError:
                continue  # the planner names the unknown name
            for item in found:
                out.setdefault(item.deployment.id, (item.deployment, item.via))
        return list(out.values())

    def _budget_refusal(
        self,
        inputs: PlanInputs,
        tenant: str,
        windows: Sequence[BudgetWindow],
        states: Sequence[WindowState],
        hop_windows: Sequence[tuple[BudgetWindow, tuple[str, ...]]],
        hop_states: Sequence[WindowState],
        refused: NoRouteError,
    ) -> ModelRouterError:
        """A refusal the budget caused is a ``BudgetExceeded`` (402 over HTTP)
        naming the budget that refused, with the hop-level reasons; any other
        stays a ``NoRouteError``."""
        # An unbounded worst case is the request's to fix (a max_output_tokens), not the budget's.
        fell = [r for r in refused.rejections if r.rule == "budget" and r.have != "unbounded"]
        if not fell:
            return refused
        try:
            unbudgeted = self._plan(inputs)
        except NoRouteError:
            return refused  # nothing would route even with money to spare
        whole = [r for r in fell if r.code is not RejectionCode.BUDGET_EXCEEDED]
        if whole and windows:
            tightest = min(
                range(len(windows)),
                key=lambda i: windows[i].limit_usd - states[i].spent - states[i].reserved,
            )
            worst = max(
                (
                    hop.estimate.worst_case_usd
                    for hop in unbudgeted.chain
                    if hop.estimate.worst_case_usd
                ),
                default=ZERO,
            )
            error = exceeded(tenant, windows[tightest], states[tightest], worst)
        else:
            # The first hop a hop-scoped budget fell, and the tightest budget that fell it.
            first = fell[0]
            asked = Decimal(first.have or "0")
            short = [
                (window, state)
                for (window, cover), state in zip(hop_windows, hop_states, strict=True)
                if first.deployment in cover
                and window.limit_usd - state.spent - state.reserved < asked
            ]
            if not short:
                return refused
            window, state = min(
                short, key=lambda ws: ws[0].limit_usd - ws[1].spent - ws[1].reserved
            )
            error = exceeded(tenant, window, state, asked)
        error.rejections = refused.rejections
        return error

    def _plan(self, inputs: PlanInputs) -> RoutingPlan:
        # The snapshot records the inputs as the planner read them.
        if self._tables is not None:
            return self._tables.plan(inputs)
        return plan(inputs).recorded(inputs)

    def record_outcome(
        self,
        plan: RoutingPlan,
        usage: Usage,
        *,
        deployment: str | None = None,
        learn: bool = True,
    ) -> ActualCost:
        """Settle a served request: the one-attempt shorthand of ``record_attempt``.

        ``deployment`` is the hop that served (default: the primary); it must be
        one of the plan's hops, or ``InvalidInputError`` says which are."""
        result = self.record_attempt(
            plan,
            Attempt(deployment or plan.primary.deployment, usage=usage, teaches=learn),
        )
        assert result is not None
        return result

    def record_attempt(self, plan: RoutingPlan, attempt: Attempt) -> ActualCost | None:
        """What one attempt of a decision cost and taught: its exact cost (None
        without usage) at the prices in force when the decision was routed,
        settled once under its ``attempt_id``; the deployment's circuit,
        latency and headroom; and, for a served attempt whose usage is whole,
        the reply-length learner and the estimate calibration."""
        served = attempt.deployment
        position = next((i for i, c in enumerate(plan.hops) if c.deployment == served), None)
        if position is None:
            hops = ", ".join(c.deployment for c in plan.hops)
            raise InvalidInputError(
                f"{served} was not a hop of decision {plan.decision_id}; its hops are {hops}",
                field="deployment",
            )
        hop = plan.hops[position]
        catalog = self.catalog_of(plan)
        deployment = catalog.deployments[served]
        cost = None
        if attempt.usage is not None:
            cost = actual_cost(
                deployment,
                attempt.usage,
                at=plan.timestamp,
                catalog_version=catalog.version,
                context=dict(plan.price_context),
            )
        if plan.reserved_usd is not None and plan.budget_keys:
            tenant = plan.tenant_id or DEFAULT_TENANT
            release = plan.decision_id if attempt.is_final else None
            # The whole-request windows, and the hop windows of the deployment that served.
            keys = [
                key
                for key in plan.budget_keys
                if covers(
                    key,
                    deployment=deployment.id,
                    provider=deployment.provider,
                    model=deployment.model,
                    tags=deployment.tags,
                    via=hop.via,
                )
            ]
            if cost is not None and keys:
                settlement = settlement_id(plan.decision_id, attempt.attempt_id)
                self.budgets.settle(tenant, keys, settlement, cost.total_usd, release=release)
            elif release is not None:
                self.budgets.release(tenant, release)
        now = self._clock()
        if position > 0:
            # The primary's use was counted when it was planned; a fallback's when tried.
            estimate = hop.estimate
            self.signals.count(
                deployment, estimate.input_tokens + estimate.expected_output_tokens, now
            )
        self.signals.observe(_observation(attempt, now))
        if attempt.error_class is ErrorClass.CONTEXT_WINDOW_EXCEEDED:
            self._learn_overflow(plan, hop, deployment)
        if attempt.ok and attempt.teaches and attempt.usage is not None and cost is not None:
            self.learner.observe(plan.model, attempt.usage.output_tokens)
            self.calibration.add(
                CalibrationRecord(
                    plan.model,
                    hop.estimate.expected_usd,
                    hop.estimate.worst_case_usd,
                    cost.total_usd,
                )
            )
        return cost

    def catalog_of(self, plan: RoutingPlan) -> Catalog:
        """The catalog version ``plan`` was routed on (``CatalogVersionError``
        when neither this router nor its ``catalogs`` have it)."""
        if plan.catalog_version == self.catalog.version:
            return self.catalog
        found = None if self._catalogs is None else self._catalogs(plan.catalog_version)
        if found is None or found.version != plan.catalog_version:
            raise CatalogVersionError(plan.catalog_version, self.catalog.version)
        return found

    def _learn_overflow(self, plan: RoutingPlan, hop: Candidate, deployment: Deployment) -> None:
        """A prompt planned to fit did not: the estimate of its tokens was low."""
        request = getattr(plan.inputs, "request", None)
        if request is None or request.input_exact or deployment.context_window is None:
            return
        self.input_correction.observe_overflow(
            plan.model,
            hop.estimate.input_tokens,
            deployment.context_window,
            request.max_output_tokens,
        )

    def over_budget(
        self, plan: RoutingPlan, tenant_policy: PolicyDocument | None = None
    ) -> list[dict[str, str]]:
        """The budget windows of a settled decision whose spend now passes the
        limit (late or over-reported usage: the money was spent, so it is
        counted and shown, not refused)."""
        if plan.reserved_usd is None:
            return []
        tenant = plan.tenant_id or DEFAULT_TENANT
        windows = self._plan_windows(plan, self._stack(tenant_policy).effective.budgets)
        states = self.budgets.state(tenant, [w.key for w in windows], self._clock())
        return [
            {
                **_named(window),
                "period": window.period,
                "limit_usd": exact_str(window.limit_usd),
                "spent_usd": exact_str(state.spent),
                "over_usd": exact_str(state.spent - window.limit_usd),
            }
            for window, state in zip(windows, states, strict=True)
            if state.spent > window.limit_usd
        ]

    def _plan_windows(self, plan: RoutingPlan, budgets: Sequence[Budget]) -> list[BudgetWindow]:
        """The windows, of these budgets, that ``plan`` holds money in."""
        tenant = plan.tenant_id or DEFAULT_TENANT
        held = set(plan.budget_keys)
        api_keys = {
            value
            for key in plan.budget_keys
            if (scope := scope_of_key(key)) is not None
            and scope[0] == "key"
            and (value := key_value(key)) is not None
        }
        candidates: list[BudgetWindow] = []
        spelled: list[str | None] = [*sorted(api_keys)]
        for api_key in spelled or [None]:
            candidates += _request_windows(budgets, tenant, api_key, plan.timestamp)
        hops = _HopWindows(
            [(i, b) for i, b in enumerate(budgets) if b.scope in HOP_SCOPES], plan.timestamp
        )
        try:
            catalog = self.catalog_of(plan)
        except CatalogVersionError:
            catalog = self.catalog
        hops.add(_served_by(catalog, plan))
        candidates += [window for window, _ in hops.windows()]
        seen: set[tuple[str, Decimal]] = set()
        out = []
        for window in candidates:
            if window.key in held and (window.key, window.limit_usd) not in seen:
                seen.add((window.key, window.limit_usd))
                out.append(window)
        return out

    def budget_windows(
        self,
        tenant_id: str | None,
        tenant_policy: PolicyDocument | None = None,
        *,
        api_keys: Sequence[str] = (),
    ) -> list[tuple[BudgetWindow, WindowState]]:
        """Every budget window in force now for a tenant, with its spend: the
        tenant's; a key budget's for each of ``api_keys`` it matches; and a
        hop-scoped budget's for each provider, model, deployment and tag of the
        catalog it matches that has spend or reservations, and always for the
        value its ``match`` names when that is no glob."""
        tenant = tenant_id or DEFAULT_TENANT
        now = self._clock()
        budgets = self._stack(tenant_policy).effective.budgets
        windows = _request_windows(budgets, tenant, None, now)
        for api_key in api_keys:
            found = _request_windows(budgets, tenant, api_key, now)
            windows += [w for w in found if w.scope == "key"]
        always = {w.key for w in windows}
        hops = _HopWindows([(i, b) for i, b in enumerate(budgets) if b.scope in HOP_SCOPES], now)
        hops.add((d, None) for d in self.catalog.deployments.values())
        extra = [w for w, _ in hops.windows()]
        for budget in budgets:
            if budget.scope in (*HOP_SCOPES, "key") and _literal(budget.match):
                assert budget.match is not None
                window = window_for(budget, now, budget.match)
                always.add(window.key)
                extra.append(window)
        seen = {(w.key, w.limit_usd) for w in windows}
        for window in extra:
            if (window.key, window.limit_usd) not in seen:
                seen.add((window.key, window.limit_usd))
                windows.append(window)
        states = self.budgets.state(tenant, [w.key for w in windows], now)
        return [
            (window, state)
            for window, state in zip(windows, states, strict=True)
            if window.key in always or state.spent or state.reserved
        ]

    def replay(self, snapshot: Mapping[str, Any]) -> ReplayResult:
        return replay(snapshot, self.catalog)


def _literal(pattern: str | None) -> bool:
    return pattern is not None and not any(c in pattern for c in "*?[")


def _named(window: BudgetWindow) -> dict[str, str]:
    """How the spend views name a window: its budget, scope and value."""
    out = {"name": window.name, "scope": window.scope}
    if window.value is not None:
        out["matched"] = window.value
    return out


def _request_windows(
    budgets: Sequence[Budget], tenant: str, api_key_id: str | None, at: datetime
) -> list[BudgetWindow]:
    """The whole-request windows: the tenant's (a ``match`` picks tenants),
    and the caller's API key's."""
    out = []
    for budget in budgets:
        if budget.scope == "tenant":
            if applies(budget, tenant):
                out.append(window_for(budget, at))
        elif budget.scope == "key" and api_key_id is not None and applies(budget, api_key_id):
            out.append(window_for(budget, at, api_key_id))
    return out


class _HopWindows:
    """The hop-scoped windows of the deployments seen so far, and which of
    them each covers; in a stable order (budget, then value)."""

    def __init__(self, budgets: Sequence[tuple[int, Budget]], at: datetime) -> None:
        self._budgets = budgets
        self._at = at
        self._seen: set[str] = set()
        self._covered: dict[tuple[int, str], list[str]] = {}

    def add(self, deployments: Iterable[tuple[Deployment, str | None]]) -> bool:
        """Take these deployments in; True when one of them was new."""
        grew = False
        for d, via in deployments:
            if d.id in self._seen:
                continue
            self._seen.add(d.id)
            grew = True
            for index, budget in self._budgets:
                values = hop_values(
                    budget.scope,
                    deployment=d.id,
                    provider=d.provider,
                    model=d.model,
                    tags=d.tags,
                    via=via,
                )
                for value in values:
                    if applies(budget, value):
                        self._covered.setdefault((index, value), []).append(d.id)
        return grew

    def windows(self) -> list[tuple[BudgetWindow, tuple[str, ...]]]:
        budgets = dict(self._budgets)
        return [
            (window_for(budgets[index], self._at, value), tuple(sorted(covered)))
            for (index, value), covered in sorted(self._covered.items())
        ]


def _served_by(catalog: Catalog, plan: RoutingPlan) -> list[tuple[Deployment, str | None]]:
    """The deployments a plan may send to, and the names they came through."""
    return [
        (catalog.deployments[hop.deployment], hop.via)
        for hop in plan.hops
        if hop.deployment in catalog.deployments
    ]


def _holdings(
    plan: RoutingPlan,
    windows: Sequence[BudgetWindow],
    hop_windows: Sequence[tuple[BudgetWindow, tuple[str, ...]]],
) -> list[tuple[BudgetWindow, Decimal]]:
    """What each window holds for ``plan``: a whole-request window the
    costliest hop's worst case, a hop window the costliest hop it covers."""
    assert plan.reserved_usd is not None
    held = [(window, plan.reserved_usd) for window in windows]
    worst = {hop.deployment: hop.estimate.worst_case_usd for hop in plan.hops}
    for window, covered in hop_windows:
        amounts = [w for d in covered if d in worst and (w := worst[d]) is not None]
        if amounts:
            held.append((window, max(amounts)))
    return held
