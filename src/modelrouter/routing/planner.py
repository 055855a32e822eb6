"""The routing flow: resolve -> constrain -> order -> chain -> plan.

``plan()`` is a pure function of its inputs: the normalised request, the
catalog, the policy stack and the signals read. It reads no clock, draws no
unseeded random number and does no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Alias, Deployment
from modelrouter.errors import CatalogVersionError, NoRouteError, UnknownPriceError
from modelrouter.frozen import quick_init
from modelrouter.policy.budgets import BudgetContext
from modelrouter.policy.document import DEFAULT_MAX_FALLBACKS
from modelrouter.policy.effective import EffectiveList, EffectivePolicy, PolicyStack
from modelrouter.pricing.cost import estimate_cost
from modelrouter.request.normalize import NormalizedRequest
from modelrouter.routing.constraints import Need, check_cost, check_live, check_static
from modelrouter.routing.regions import check_regions
from modelrouter.routing.resolver import Resolved, resolve
from modelrouter.routing.strategies import Scored, order_candidates
from modelrouter.routing.tags import prefer_default, select_by_tags
from modelrouter.types import (
    Candidate,
    CostEstimate,
    DeploymentSignals,
    Percentile,
    RecordedInputs,
    Rejection,
    RejectionCode,
    RoutingPlan,
    Strategy,
    Weights,
)

__all__ = ["DEFAULT_STRATEGY", "PlanInputs", "Planned", "decision_id_for", "plan"]

DEFAULT_STRATEGY = Strategy.BALANCED
_MS = Decimal(1000)
_TENTH = Decimal("0.1")


class _Hop(Protocol):
    """What the plan reads of an ordered candidate (a ``Scored``, or the
    compiled path's own)."""

    @property
    def deployment(self) -> Deployment: ...
    @property
    def estimate(self) -> CostEstimate: ...
    @property
    def latency_ms(self) -> Decimal | None: ...
    @property
    def quality(self) -> Decimal | None: ...
    @property
    def via(self) -> str: ...


H = TypeVar("H", bound=_Hop)


@quick_init
@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything a plan is a function of. In a snapshot, ``signals`` holds
    only those the planner read, and the catalog is named by its version."""

    request: NormalizedRequest
    catalog: Catalog
    policy: PolicyStack
    signals: Mapping[str, DeploymentSignals]
    budget: BudgetContext | None = None
    # Assigned by the caller (the snapshot records it); by default the identity
    # of the request: its tenant and request id.
    decision_id: str = ""
    # When the policies were the last ones read before the store stopped
    # answering: since when (the plan says so in its notes).
    policy_stale_since: str | None = None
    # How old the live signals' view was, and whether past the platform's bound
    # (the shared store unreachable: the plan says so in its notes).
    signals_age_ms: int | None = None
    signals_stale: bool = False

    def to_dict(self) -> dict[str, Any]:
        stale: dict[str, Any] = (
            {}
            if self.policy_stale_since is None
            else {"policy_stale_since": self.policy_stale_since}
        )
        if self.signals_age_ms is not None:
            stale["signals_age_ms"] = self.signals_age_ms
        if self.signals_stale:
            stale["signals_stale"] = True
        return {
            **stale,
            "request": self.request.to_dict(),
            "catalog_version": self.catalog.version,
            "policy": self.policy.content(),
            "policy_version": self.policy.version,
            "policy_versions": self.policy.versions,
            "effective_policy": self.policy.effective_content,
            "signals": {key: self.signals[key].to_dict() for key in sorted(self.signals)},
            "budget": None if self.budget is None else self.budget.to_dict(),
        }

    @classmethod
    def from_dict(
        cls, raw: Mapping[str, Any], catalog: Catalog, *, decision_id: str = ""
    ) -> PlanInputs:
        """The inputs a snapshot recorded, over ``catalog`` (which must be the
        version they name: ``CatalogVersionError`` otherwise)."""
        wanted = raw["catalog_version"]
        if wanted != catalog.version:
            raise CatalogVersionError(wanted, catalog.version)
        budget = raw.get("budget")
        return cls(
            request=NormalizedRequest.from_dict(raw["request"]),
            catalog=catalog,
            policy=PolicyStack.from_content(raw["policy"]),
            signals={
                key: DeploymentSignals.from_dict(value) for key, value in raw["signals"].items()
            },
            budget=None if budget is None else BudgetContext.from_dict(budget),
            decision_id=decision_id,
            policy_stale_since=raw.get("policy_stale_since"),
            signals_age_ms=raw.get("signals_age_ms"),
            signals_stale=raw.get("signals_stale") is True,
        )


@dataclass(frozen=True, slots=True)
class Planned:
    """A plan, and the signals the planner read to make it: they belong in its
    snapshot, which ``recorded`` attaches."""

    plan: RoutingPlan
    signals: Mapping[str, DeploymentSignals]

    def recorded(self, inputs: PlanInputs) -> RoutingPlan:
        """The plan carrying the inputs it was made from, as its snapshot records them."""
        return replace(self.plan, inputs=replace(inputs, signals=self.signals))


def decision_id_for(tenant_id: str | None, request_id: str) -> str:
    """A decision is one request of one tenant: a retry under the same request
    id is the same decision (one reservation, one settlement), whenever and
    wherever it is routed."""
    identity = f"{tenant_id or ''}\x00{request_id}"
    return "dec_" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]


def _blend(prior: Decimal | None, seen: Decimal | None, trust: Decimal) -> Decimal | None:
    if seen is None or prior is None:
        return seen if seen is not None else prior
    return prior + (seen - prior) * trust


@dataclass(frozen=True, slots=True)
class _Speed:
    """A deployment's time to first token and output speed at one percentile:
    what was observed, leaning on the catalog's prior until samples suffice."""

    ttft_ms: Decimal | None
    tokens_per_s: Decimal | None

    @classmethod
    def of(
        cls,
        d: Deployment,
        signals: DeploymentSignals | None,
        percentile: Percentile,
        prior_samples: int,
    ) -> _Speed:
        prior_ttft = None if d.latency is None else d.latency.ttft_ms
        prior_tps = None if d.latency is None else d.latency.output_tokens_per_s
        if signals is None:
            return cls(prior_ttft, prior_tps)
        samples = signals.samples
        if samples is None or prior_samples == 0:
            trust = Decimal(1)  # given by hand, or the platform trusts the first sample
        else:
            trust = min(samples / Decimal(prior_samples), Decimal(1))
        return cls(
            _blend(prior_ttft, signals.ttft_at(percentile), trust),
            _blend(prior_tps, signals.speed_at(percentile), trust),
        )

    def latency_ms(self, output_tokens: int) -> Decimal | None:
        if self.ttft_ms is None or self.tokens_per_s is None:
            return None
        return (self.ttft_ms + Decimal(output_tokens) * _MS / self.tokens_per_s).quantize(_TENTH)

    def meets(self, request: NormalizedRequest) -> bool:
        """Within the request's preferred cut-offs (unknown: not known to be)."""
        cap, floor = request.max_latency_ms, request.min_output_tokens_per_s
        if cap is not None and (self.ttft_ms is None or self.ttft_ms > cap):
            return False
        return floor is None or (self.tokens_per_s is not None and self.tokens_per_s >= floor)


def _worst_output(d: Deployment, request: NormalizedRequest) -> int | None:
    if request.max_output_tokens is not None:
        return request.max_output_tokens
    if d.max_output_tokens is not None:
        return d.max_output_tokens
    if d.context_window is not None:
        return max(d.context_window - request.input_tokens, 0)
    return None


@dataclass(frozen=True, slots=True)
class _Live:
    """What the live signals are read against for one request."""

    signals: Mapping[str, DeploymentSignals]
    read: dict[str, DeploymentSignals]
    seed: str
    percentile: Percentile
    prior_samples: int


def _evaluate(
    resolved: Sequence[Resolved],
    request: NormalizedRequest,
    need: Need,
    live: _Live,
) -> tuple[list[Scored], list[Rejection]]:
    admissible: list[Scored] = []
    rejected: list[Rejection] = []
    expected_output = request.expected_output_tokens
    tokens = request.input_tokens + expected_output
    context = request.price_context()
    for item in resolved:
        d = item.deployment
        signal = live.signals.get(d.id)
        if signal is not None:
            live.read[d.id] = signal
        found = check_static(d, need, signal)
        if signal is not None and signal.circuit != "open":
            found += check_live(d, signal, seed=live.seed, tokens=tokens)
        try:
            estimate, sheet = estimate_cost(
                d,
                input_tokens=request.input_tokens,
                input_exact=request.input_exact,
                expected_output_tokens=expected_output,
                max_output_tokens=_worst_output(d, request),
                at=request.timestamp,
                context=context,
                cache_hit_ratio=request.expected_cache_hit_ratio,
            )
        except UnknownPriceError as exc:
            found.append(Rejection(d.id, RejectionCode.PRICE_UNKNOWN, exc.message, have="unknown"))
        else:
            if need.has_cost_caps:
                found += check_cost(d, need, estimate, sheet)
        if found:
            rejected += [replace(r, via=item.via) for r in found]
        else:
            speed = _Speed.of(d, signal, live.percentile, live.prior_samples)
            admissible.append(
                Scored(
                    d,
                    estimate,
                    speed.latency_ms(expected_output),
                    item.position,
                    item.via,
                    headroom=None if signal is None else signal.headroom,
                    meets_cutoffs=speed.meets(request),
                )
            )
    return admissible, rejected


def _reservation(chain: Sequence[_Hop], budget: BudgetContext) -> Decimal:
    """Any hop may serve, so the costliest worst case is reserved. Every hop's
    worst case is bounded here: the budget layer rejects unbounded ones, and a
    hop-scoped budget (provider, model, deployment, tag) those it covers. With
    only hop-scoped budgets, only the hops one covers hold money."""
    if budget.remaining_usd is None:
        chain = [s for s in chain if budget.covered(s.deployment.id)]
    worst = [s.estimate.worst_case_usd for s in chain]
    return max((w for w in worst if w is not None), default=Decimal(0))


def _diversify(chain: list[H], length: int | None = None) -> list[H]:
    """No two consecutive hops on one provider while another is available in
    the same priority tier. With ``length``, only the first ``length`` hops are
    placed so (each pick depends only on those before it); the rest follow as
    they were."""
    if len(chain) < 3:
        return chain
    out = [chain[0]]
    rest = chain[1:]
    while rest:
        if length is not None and len(out) >= length:
            out += rest
            break
        # Only within the next hop's priority tier: ``order`` is never crossed.
        tier = rest[0].deployment.order
        last = out[-1].deployment.provider
        index = 0
        for i, s in enumerate(rest):
            d = s.deployment
            if d.order == tier and d.provider != last:
                index = i
                break
        out.append(rest.pop(index))
    return out


def _candidate(s: _Hop) -> Candidate:
    d = s.deployment
    return Candidate(
        d.id, d.provider, d.model, s.estimate, s.latency_ms, s.quality, s.via, d.endpoint
    )


def _budget_layer(budget: BudgetContext) -> EffectivePolicy:
    """What a budget asks of every hop: a worst case within what remains, and
    none of the models a soft limit turns away."""
    return EffectivePolicy(
        models=EffectiveList((), budget.deny_models),
        allow_unknown=True,
        max_cost_per_request_usd=budget.remaining_usd,
    )


def _need(request: NormalizedRequest, policy: PolicyStack, budget: BudgetContext | None) -> Need:
    layers = (*policy.layers, ("request", request.as_policy()))
    if budget is not None:
        layers = (*layers, ("budget", _budget_layer(budget)))
    hop_budgets = () if budget is None else budget.hops
    return Need(
        input_tokens=request.input_tokens,
        input_exact=request.input_exact,
        max_output_tokens=request.max_output_tokens,
        require=request.require,
        layers=layers,
        allow_unknown=policy.effective.allow_unknown is True,
        zero_data_retention=tuple(name for name, p in layers if p.zero_data_retention),
        no_training=tuple(name for name, p in layers if p.no_training),
        has_cost_caps=bool(hop_budgets)
        or any(
            cap is not None
            for _, p in layers
            for cap in (
                p.max_cost_per_request_usd,
                p.max_input_price_per_mtok,
                p.max_output_price_per_mtok,
            )
        ),
        budgets=hop_budgets,
        has_list_rules=any(
            rule.allow or rule.deny
            for _, p in layers
            for rule in (p.providers, p.vendors, p.models, p.regions)
        )
        or any(p.tags_require or p.tags_deny for _, p in layers),
    )


def _tokens_of(request: NormalizedRequest) -> str:
    total = request.input_tokens + (request.max_output_tokens or 0)
    return f"{total}{'' if request.input_exact else ' (estimated)'}"


def _error_chains(
    alias: Alias, regroup: Callable[[str], list[H]], limit: int
) -> tuple[tuple[str, list[H]], ...]:
    """The hops that follow an attempt failing with one of these error classes
    (its next hop comes from here, not the main chain), each cut like the chain;
    ``regroup`` scores a group even when the main chain already holds it."""
    out = []
    for error_class, names in (
        ("content_policy", alias.content_policy_fallbacks),
        ("context_window_exceeded", alias.context_window_fallbacks),
    ):
        if names:
            hops = list({s.deployment.id: s for name in names for s in regroup(name)}.values())[
                : 1 + limit
            ]
            if hops:
                out.append((error_class, hops))
    return tuple(out)


def _walk_names(
    request: NormalizedRequest,
    catalog: Catalog,
    effective: EffectivePolicy,
    group: Callable[[str], list[H]],
    groups: list[list[H]],
    rejected: list[Rejection],
    notes: list[str],
) -> Alias | None:
    """Group the request's name, its fallback models and its alias's
    fallbacks in order (into ``groups``), putting the alias's
    context_window_fallbacks next when the request fits none of the first
    group's windows. Returns the catalog alias (not one a policy redefines):
    it brings the error chains."""
    alias = catalog.aliases.get(request.model) if effective.alias(request.model) is None else None
    names = list(dict.fromkeys((request.model, *request.fallback_models)))
    if alias is not None:
        names += [n for n in alias.fallbacks if n not in names]
    for index, name in enumerate(names):
        groups.append(group(name))
        if index == 0 and not groups[0] and alias is not None and alias.context_window_fallbacks:
            too_small = {
                r.deployment for r in rejected if r.code is RejectionCode.CONTEXT_WINDOW_TOO_SMALL
            }
            if too_small:
                extra = [n for n in alias.context_window_fallbacks if n not in names]
                names[1:1] = extra
                notes.append(
                    f"{_tokens_of(request)} tokens do not fit the window of {request.model}'s "
                    f"deployments: its context_window_fallbacks [{', '.join(extra)}] come next"
                )
    return alias


def _strategy(request: NormalizedRequest, effective: EffectivePolicy) -> Strategy:
    return request.strategy or effective.strategy_for(request.model) or DEFAULT_STRATEGY


def plan(inputs: PlanInputs) -> Planned:
    """The plan, and the signals it read."""
    request, catalog = inputs.request, inputs.catalog
    check_regions(request.regions, catalog)
    effective = inputs.policy.effective
    budget = inputs.budget
    need = _need(request, inputs.policy, budget)
    strategy = _strategy(request, effective)
    if budget is not None and budget.soft_strategy is not None:
        strategy = budget.soft_strategy
    weights = request.weights or effective.weights or Weights()
    seed = request.affinity_key or request.request_id
    live = _Live(
        signals=inputs.signals,
        read={},
        seed=seed,
        percentile=request.latency_percentile or effective.latency_percentile or "p50",
        prior_samples=effective.latency_prior_samples,
    )
    cutoffs = request.max_latency_ms is not None or request.min_output_tokens_per_s is not None
    missed = 0

    groups: list[list[Scored]] = []
    rejected: list[Rejection] = []
    notes: list[str] = []
    seen: set[str] = set()
    position = 0

    def group(name: str, *, again: bool = False) -> list[Scored]:
        # ``again``: an error chain may name a group the main chain already
        # holds; its deployments are scored again but rejected only once.
        nonlocal position, missed
        found = resolve(name, catalog, effective, start=position)
        notes.extend(dict.fromkeys(r.how for r in found if r.how is not None))
        resolved = [r for r in found if again or r.deployment.id not in seen]
        fresh = {r.deployment.id for r in resolved} - seen
        seen.update(fresh)
        position += len(resolved) + 1
        if request.tags:
            selection = select_by_tags([r.deployment for r in resolved], request.tags, via=name)
            rejected.extend(r for r in selection.rejected if r.deployment in fresh)
            resolved = [resolved[i] for i in selection.kept]
            if selection.note is not None and not again:
                notes.append(selection.note)
        admissible, fell = _evaluate(resolved, request, need, live)
        rejected.extend(r for r in fell if r.deployment in fresh)
        ordered = order_candidates(admissible, strategy, weights, seed)
        if cutoffs:
            # Preferred cut-offs reorder, never exclude: misses go last, in order.
            late = [s for s in ordered if not s.meets_cutoffs]
            missed += len(late)
            ordered = [s for s in ordered if s.meets_cutoffs] + late
        return ordered if request.tags else prefer_default(ordered)

    alias = _walk_names(request, catalog, effective, group, groups, rejected, notes)

    result = _assemble(
        inputs,
        strategy,
        groups,
        rejected,
        notes,
        alias,
        lambda name: group(name, again=True),
        live.percentile,
        lambda: missed,
    )
    return Planned(result, live.read)


def _assemble(
    inputs: PlanInputs,
    strategy: Strategy,
    groups: Sequence[Sequence[H]],
    rejected: list[Rejection],
    notes: list[str],
    alias: Alias | None,
    regroup: Callable[[str], list[H]],
    percentile: Percentile,
    missed: Callable[[], int],
    recorded: RecordedInputs | None = None,
) -> RoutingPlan:
    """The plan from the ordered groups: the chain cut to its length, the
    error chains, the notes, and the budget's reservation. ``recorded``: the
    inputs to attach as the snapshot's (None: the caller attaches them)."""
    request, catalog = inputs.request, inputs.catalog
    effective = inputs.policy.effective
    budget = inputs.budget
    chain = [s for group_ in groups for s in group_]
    if not chain:
        raise NoRouteError(request.model, rejected, notes)
    # The request may ask for any length up to the policy's cap; the default
    # applies only when neither says.
    limit = DEFAULT_MAX_FALLBACKS if request.max_fallbacks is None else request.max_fallbacks
    if effective.max_fallbacks is not None:
        limit = min(limit, effective.max_fallbacks)
    diversify = effective.diversify_providers
    if diversify is None or diversify:
        chain = _diversify(chain, 1 + limit)
    kept = chain[: 1 + limit]
    chains = _error_chains(alias, regroup, limit) if alias is not None else ()

    if request.translation:
        notes[:0] = [f"translated: {note}" for note in request.translation]
    if budget is not None:
        notes += budget.notes
    if inputs.policy_stale_since is not None:
        notes.append(
            "policies as last read: the store has been unreachable since "
            f"{inputs.policy_stale_since}"
        )
    if not groups[0]:
        notes.append(
            f"no admissible deployment for {request.model}; primary is fallback model {kept[0].via}"
        )
    if inputs.signals_stale:
        notes.append(
            f"signals as last read, {inputs.signals_age_ms} ms old: the shared signal store "
            "is not answering"
        )
    if missed():
        notes.append(
            f"{missed()} candidates miss the preferred latency cut-offs "
            f"at {percentile} and go after those that meet them"
        )
    if len(chain) > len(kept):
        notes.append(f"{len(chain) - len(kept)} admissible candidates beyond max_fallbacks")

    result = RoutingPlan(
        decision_id=inputs.decision_id or decision_id_for(request.tenant_id, request.request_id),
        request_id=request.request_id,
        tenant_id=request.tenant_id,
        model=request.model,
        strategy=strategy.value,
        primary=_candidate(kept[0]),
        fallbacks=tuple([_candidate(s) for s in kept[1:]]),
        rejected=tuple(rejected),
        catalog_version=catalog.version,
        policy_version=inputs.policy.version,
        timestamp=request.timestamp,
        price_context=tuple(sorted(request.price_context().items())),
        notes=tuple(notes),
        chains=tuple([(cls, tuple([_candidate(s) for s in c])) for cls, c in chains])
        if chains
        else (),
        reserved_usd=_reservation([*kept, *(s for _, c in chains for s in c)], budget)
        if budget is not None
        else None,
        budget_keys=()
        if budget is None
        else budget.plan_keys(s.deployment.id for s in [*kept, *(s for _, c in chains for s in c)]),
        inputs=recorded,
    )
    return result
