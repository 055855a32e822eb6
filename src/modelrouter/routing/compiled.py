"""Planning on the compiled routing table (``routing.table``): per request,
only what depends on it.

The token checks, the live signals' verdicts, the budget's, the estimates
(integer products, turned into ``Decimal`` once, for the hops the plan
shows), the strategy's keys and the draw. ``route_plan`` gives byte for byte
the plan ``plan()`` gives (the property tests hold the two to each other,
``plan()`` being the oracle); its result carries its snapshot's inputs, like
``Planned.recorded``.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import replace
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.errors import UnknownPriceError
from modelrouter.policy.effective import PolicyStack
from modelrouter.pricing.cost import estimate_cost, worst_case_input_tokens
from modelrouter.pricing.integer_rates import LIMIT, usd
from modelrouter.pricing.integer_rates import estimate as int_estimate
from modelrouter.request.normalize import NormalizedRequest
from modelrouter.routing.constraints import (
    Need,
    check_cost,
    check_live,
    check_tokens,
    circuit_open,
)
from modelrouter.routing.planner import (
    PlanInputs,
    _assemble,
    _need,
    _Speed,
    _strategy,
    _walk_names,
    _worst_output,
)
from modelrouter.routing.regions import check_regions
from modelrouter.routing.strategies import (
    _INF,
    _SCORE_PLACES,
    _normalised,
    _spread,
    weighted_draw,
)
from modelrouter.routing.table import (
    CompiledTable,
    Entry,
    drop_oldest,
    price_unknown,
    remember,
    static_key,
)
from modelrouter.routing.tags import prefer_default
from modelrouter.types import (
    CostEstimate,
    DeploymentSignals,
    Rejection,
    RoutingPlan,
    Strategy,
    Weights,
)

__all__ = ["CompiledTables", "route_plan"]

_ZERO = Decimal(0)
_UNSET: Any = object()
_DEFAULT_WEIGHTS = Weights()


class _Cand:
    """One admissible candidate of one request (the compiled ``Scored``)."""

    __slots__ = (
        "_estimate",
        "deployment",
        "entry",
        "expected",
        "headroom",
        "latency_ms",
        "live_latency",
        "meets_cutoffs",
        "request",
        "rule",
        "worst",
        "worst_output",
    )

    def __init__(
        self,
        entry: Entry,
        request: NormalizedRequest,
        expected: int | None,
        worst: int | None,
        worst_output: int | None,
        rule: str,
        estimate: CostEstimate | None,
        latency_ms: Decimal | None = None,
    ) -> None:
        self.entry = entry
        # Read often (diversifying, the plan's candidates): an attribute, not a property.
        self.deployment: Deployment = entry.deployment
        self.request = request
        self.expected = expected  # None: priced by the Decimal path (``_estimate``)
        self.worst = worst
        self.worst_output = worst_output
        self.rule = rule
        self._estimate = estimate
        self.latency_ms = latency_ms
        self.headroom: Decimal | None = None
        self.meets_cutoffs = True
        # Its latency blends observed ones (else it is the catalog's prior).
        self.live_latency = False

    @property
    def via(self) -> str:
        return self.entry.via

    @property
    def quality(self) -> Decimal | None:
        return self.entry.quality

    @property
    def estimate(self) -> CostEstimate:
        found = self._estimate
        if found is None:
            assert self.expected is not None
            request = self.request
            worst = self.worst
            found = self._estimate = CostEstimate(  # (positional: the field order)
                request.input_tokens,
                request.expected_output_tokens,
                self.worst_output,
                usd(self.expected),
                None if worst is None else usd(worst),
                self.rule,
            )
        return found


class CompiledTables:
    """The tables of the catalogs and policy stacks routed on lately, by
    (catalog version, policy stack version); at most ``max_tables``, the
    oldest dropped first."""

    def __init__(self, max_tables: int = 32, *, max_groups: int = 1024) -> None:
        self.max_tables = max_tables
        self.max_groups = max_groups
        self._tables: dict[tuple[str, str], CompiledTable] = {}

    def __len__(self) -> int:
        return len(self._tables)

    def table(self, catalog: Catalog, policy: PolicyStack) -> CompiledTable:
        key = (catalog.version, policy.version)
        found = self._tables.get(key)
        if found is None:
            found = CompiledTable(catalog, policy, max_groups=self.max_groups)
            if len(self._tables) >= self.max_tables:
                drop_oldest(self._tables)
            self._tables[key] = found
        return found

    def plan(self, inputs: PlanInputs) -> RoutingPlan:
        """``plan(inputs).recorded(inputs)``, computed on the compiled table."""
        return route_plan(inputs, self.table(inputs.catalog, inputs.policy))


def _order(
    candidates: list[_Cand],
    strategy: Strategy,
    weights: Weights,
    seed: str,
    columns: Callable[[], tuple[list[Decimal], list[Decimal]] | None] | None = None,
    *,
    one_tier: bool = False,
) -> list[_Cand]:
    """``order_candidates`` over compiled candidates: the same keys (costs in
    integer units when every candidate has them: the same order), the same
    tie groups, the same draw."""
    count = len(candidates)
    if count == 0 or (count == 1 and strategy is not Strategy.BALANCED):
        return candidates  # (balanced computes its key even for one: it may raise)
    exact = None not in [c.expected for c in candidates]

    def costs() -> list[Any]:
        if exact:
            return [c.expected for c in candidates]
        return [c.estimate.expected_usd for c in candidates]

    keys: list[Any]
    if strategy is Strategy.CHEAPEST:
        keys = costs()
    elif strategy is Strategy.FASTEST:
        keys = [
            (_INF if c.latency_ms is None else c.latency_ms, cost)
            for c, cost in zip(candidates, costs(), strict=True)
        ]
    elif strategy is Strategy.QUALITY:
        keys = [(c.entry.quality_desc, cost) for c, cost in zip(candidates, costs(), strict=True)]
    elif strategy is Strategy.PINNED:
        keys = [c.entry.position for c in candidates]
    elif strategy is Strategy.WEIGHTED:
        keys = [0] * count
    else:
        keys = _balanced(candidates, weights, exact, columns)
    if one_tier:
        full = keys  # one priority tier: the keys alone order the same
    else:
        full = [(c.entry.tier, key) for c, key in zip(candidates, keys, strict=True)]
    order = sorted(range(count), key=full.__getitem__)
    if len(set(full)) == count:  # no ties (the common case): nothing to draw
        return [candidates[i] for i in order]
    out: list[_Cand] = []
    start = 0
    while start < count:
        first = full[order[start]]
        end = start + 1
        while end < count and full[order[end]] == first:
            end += 1
        if end - start == 1:
            out.append(candidates[order[start]])
        else:
            out.extend(weighted_draw([candidates[i] for i in order[start:end]], seed))
        start = end
    return out


def _balanced(
    candidates: list[_Cand],
    weights: Weights,
    exact: bool,
    columns: Callable[[], tuple[list[Decimal], list[Decimal]] | None] | None = None,
) -> list[Decimal]:
    """``_balanced_keys``, operation for operation (so rounding for rounding);
    the cost column from integer costs when all are exact (a difference of
    exact amounts over their exact spread: the same quotient). ``columns``:
    the weighted latency and quality terms, when they are static (computed
    once by ``_static_columns``), else None."""
    total = weights.cost + weights.latency + weights.quality
    headroom = bool(weights.headroom) and any(c.headroom is not None for c in candidates)
    if headroom:
        total += weights.headroom
    weight = weights.cost
    static = None if columns is None else columns()
    if (
        static is not None
        and not headroom
        and exact
        and weight == 1
        and weights.latency
        and weights.quality
    ):
        # The common case in one pass: the same operations in the same order.
        units = [c.expected for c in candidates]
        low = min(units)  # type: ignore[type-var]
        width = max(units) - low  # type: ignore[type-var,operator]
        latency, quality = static
        places = _SCORE_PLACES
        if not width:
            return [
                ((a + b) / total).quantize(places) for a, b in zip(latency, quality, strict=True)
            ]
        spread = Decimal(width)
        return [
            (((Decimal(value - low) / spread + a) + b) / total).quantize(places)  # type: ignore[operator]
            for value, a, b in zip(units, latency, quality, strict=True)
        ]
    scores = [_ZERO] * len(candidates)
    if weight:
        if exact:
            units = [c.expected for c in candidates]
            low = min(units)  # type: ignore[type-var]
            width = max(units) - low  # type: ignore[type-var,operator]
            if width:
                # 0 + w * x, and 1 * x, are x: each x already has the context's digits.
                spread = Decimal(width)
                if weight == 1:
                    scores = [Decimal(value - low) / spread for value in units]  # type: ignore[operator]
                else:
                    scores = [weight * (Decimal(value - low) / spread) for value in units]  # type: ignore[operator]
        else:
            _column(scores, weight, [c.estimate.expected_usd for c in candidates])
    if static is not None:
        # The same terms, added in the same order.
        latency, quality = static
        if weights.latency:
            scores = [a + b for a, b in zip(scores, latency, strict=True)]
        if weights.quality:
            scores = [a + b for a, b in zip(scores, quality, strict=True)]
    else:
        _add_terms(scores, scores, candidates, weights)
    if headroom:
        _column(
            scores,
            weights.headroom,
            [_ZERO if c.headroom is None else 1 - c.headroom for c in candidates],
        )
    return [(score / total).quantize(_SCORE_PLACES) for score in scores]


def _static_columns(
    candidates: list[_Cand], weights: Weights
) -> tuple[list[Decimal], list[Decimal]]:
    """The weighted latency and quality terms of ``_balanced_keys``: they
    depend only on which candidates are admissible (and, read from the
    catalog's priors, the expected output)."""
    latency = [_ZERO] * len(candidates)
    quality = [_ZERO] * len(candidates)
    _add_terms(latency, quality, candidates, weights)
    return latency, quality


def _add_terms(
    latency: list[Decimal], quality: list[Decimal], candidates: list[_Cand], weights: Weights
) -> None:
    """Add the weighted latency term into ``latency``, then the quality term
    into ``quality`` (the same list, for the scores themselves)."""
    if weights.latency:
        _column(
            latency,
            weights.latency,
            [_INF if c.latency_ms is None else c.latency_ms for c in candidates],
        )
    if weights.quality:
        _column(quality, weights.quality, [c.entry.quality_desc for c in candidates])


def _column(scores: list[Decimal], weight: Decimal, values: list[Decimal]) -> None:
    low, width = _spread(values)
    for index, value in enumerate(values):
        scores[index] += weight * _normalised(value, low, width)


def route_plan(inputs: PlanInputs, table: CompiledTable) -> RoutingPlan:
    """The plan ``plan(inputs).recorded(inputs)`` gives, on ``table`` (which
    must be the table of ``inputs``' catalog and policy stack)."""
    request, catalog = inputs.request, inputs.catalog
    check_regions(request.regions, catalog)
    policy = inputs.policy
    effective = policy.effective
    budget = inputs.budget
    strategy = _strategy(request, effective)
    if budget is not None and budget.soft_strategy is not None:
        strategy = budget.soft_strategy
    weights = request.weights or effective.weights or _DEFAULT_WEIGHTS
    seed = request.affinity_key or request.request_id
    percentile = request.latency_percentile or effective.latency_percentile or "p50"
    prior_samples = effective.latency_prior_samples
    cutoffs = request.max_latency_ms is not None or request.min_output_tokens_per_s is not None
    signals: Mapping[str, DeploymentSignals] = inputs.signals
    # A live view names the deployments it may hold signals for (``LiveView``):
    # most candidates are not among them, and need no call to ``get``.
    observed: Container[str] | None = getattr(signals, "observed", None)
    read: dict[str, DeploymentSignals] = {}

    needs: list[Need] = []

    def need() -> Need:
        if not needs:
            needs.append(_need(request, policy, budget))
        return needs[0]

    key = static_key(request, None if budget is None else budget.deny_models)
    has_caps = (
        table.has_caps
        or request.max_cost_usd is not None
        or request.max_input_price_per_mtok is not None
        or request.max_output_price_per_mtok is not None
        or (budget is not None and (budget.remaining_usd is not None or bool(budget.hops)))
    )
    allow_unknown = table.allow_unknown
    tokens = request.input_tokens
    exact_tokens = request.input_exact
    wanted = tokens + (request.max_output_tokens or 0)
    wanted_output = request.max_output_tokens
    expected_output = request.expected_output_tokens
    live_tokens = tokens + expected_output
    at = request.timestamp
    context = request.price_context()
    ratio = request.expected_cache_hit_ratio
    cached = int((Decimal(tokens) * ratio).to_integral_value(ROUND_FLOOR)) if ratio else None
    # No price context, no cost caps, no cached share: a flat fixed price needs only products.
    fast = not context and not has_caps and cached is None
    worst_input = worst_case_input_tokens(tokens, exact_tokens)
    worst_output = request.max_output_tokens  # else each deployment's (``_worst_output``)

    missed = 0
    groups: list[list[_Cand]] = []
    rejected: list[Rejection] = []
    notes: list[str] = []
    seen: set[str] = set()

    def evaluate(entries: Sequence[Entry], fresh: set[str] | frozenset[str]) -> list[_Cand]:
        admissible: list[_Cand] = []
        for e in entries:
            d = e.deployment
            signal = (
                signals.get(e.id) if observed is None or e.limited or e.id in observed else None
            )
            live: Sequence[Rejection] = ()  # what the live checks reject it for
            if signal is not None:
                read[e.id] = signal
                if signal.circuit != "open":
                    live = check_live(d, signal, seed=seed, tokens=live_tokens)
            simple = e.simple
            if (
                fast
                and simple is not None
                and wanted <= e.fits_total
                and (wanted_output is None or wanted_output <= e.fits_output)
                and (signal is None or (signal.circuit != "open" and not live))
            ):
                # The common case: nothing rejects it, and its price is flat and fixed.
                expected = tokens * simple[0] + expected_output * simple[1] + simple[2]
                bound = worst_output if worst_output is not None else _worst_output(d, request)
                worst = (
                    None
                    if bound is None
                    else worst_input * simple[3] + bound * simple[4] + simple[2]
                )
                if expected < LIMIT and (worst is None or worst < LIMIT):
                    if signal is None:
                        latency = e.latencies.get(expected_output, _UNSET)
                        if latency is _UNSET:
                            latency = e.prior_latency(expected_output)
                        hop = _Cand(e, request, expected, worst, bound, simple[5], None, latency)
                        if cutoffs:
                            hop.meets_cutoffs = e.prior().meets(request)
                    else:
                        hop = _Cand(e, request, expected, worst, bound, simple[5], None)
                        set_speed(hop, signal)
                    admissible.append(hop)
                    continue
            found: list[Rejection] = []
            window, cap = e.window, e.max_output
            if (wanted > window if window is not None else not allow_unknown) or (
                wanted_output is not None and cap is not None and wanted_output > cap
            ):
                found = [replace(r, via=e.via) for r in check_tokens(d, need())]
            if e.terms:
                found += e.terms
            if signal is not None:
                if signal.circuit == "open":
                    found.append(replace(circuit_open(d, signal), via=e.via))
                elif live:
                    found += [replace(r, via=e.via) for r in live]
            candidate = None
            if e.no_price is not None:
                found.append(e.no_price)
            else:
                # A rejected candidate is priced only for the rejections pricing adds.
                candidate = price(e, d, found, needed=not found or has_caps)
            if found:
                if e.id in fresh:
                    rejected.extend(found)
                continue
            assert candidate is not None
            set_speed(candidate, signal)
            admissible.append(candidate)
        return admissible

    def set_speed(hop: _Cand, signal: DeploymentSignals | None) -> None:
        """An admissible candidate's latency and cut-offs, and its headroom:
        from its live signals, or the catalog's prior where they say nothing
        of its latency (``_Speed.of`` would blend the prior with nothing)."""
        if signal is not None:
            hop.headroom = signal.headroom
            if signal.ttft_at(percentile) is not None or signal.speed_at(percentile) is not None:
                speed = _Speed.of(hop.deployment, signal, percentile, prior_samples)
                hop.latency_ms = speed.latency_ms(expected_output)
                hop.meets_cutoffs = speed.meets(request)
                hop.live_latency = True
                return
        e = hop.entry
        hop.latency_ms = e.prior_latency(expected_output)
        if cutoffs:
            hop.meets_cutoffs = e.prior().meets(request)

    def price(e: Entry, d: Deployment, found: list[Rejection], *, needed: bool) -> _Cand | None:
        """The candidate with its estimate (None: its price is unknown, and
        ``found`` says so, or ``needed`` is off); with cost caps, their
        verdicts go into ``found``."""
        assert d.prices is not None
        resolved = d.prices.resolve(at, context)
        sheet = resolved.sheet
        rates = table.rates(sheet)
        if rates is not None and not needed:
            return None  # priced (it has every unit): nothing to add
        worst_output = _worst_output(d, request)
        costs = (
            None
            if rates is None
            else int_estimate(rates, tokens, exact_tokens, expected_output, worst_output, cached)
        )
        if rates is None or costs is None:
            try:
                estimate, sheet = estimate_cost(
                    d,
                    input_tokens=tokens,
                    input_exact=exact_tokens,
                    expected_output_tokens=expected_output,
                    max_output_tokens=worst_output,
                    at=at,
                    context=context,
                    cache_hit_ratio=ratio,
                )
            except UnknownPriceError as exc:
                found.append(price_unknown(d, exc, e.via))
                return None
            candidate = _Cand(e, request, None, None, worst_output, estimate.price_rule, estimate)
        else:
            rule = e.rule(resolved.rule)
            if rates.tiered is not None:
                tier = rates.tiered.tier_label(tokens)
                if tier:
                    rule = f"{rule}; tier {tier}"
            candidate = _Cand(e, request, costs[0], costs[1], worst_output, rule, None)
        if has_caps:
            found += [
                replace(r, via=e.via) for r in check_cost(d, need(), candidate.estimate, sheet)
            ]
        return candidate

    def static_columns(admissible: list[_Cand]) -> tuple[list[Decimal], list[Decimal]] | None:
        # Static when every latency is the catalog's prior (none observed).
        if read and any(c.live_latency for c in admissible):
            return None
        column_key = (
            tuple([c.entry for c in admissible]),
            expected_output,
            weights.latency,
            weights.quality,
        )
        found = table.columns.get(column_key)
        if found is None:
            found = remember(table.columns, column_key, _static_columns(admissible, weights), 4096)
        return found

    def group(name: str, *, again: bool = False) -> list[_Cand]:
        nonlocal missed
        compiled = table.group(name, key, need)
        notes.extend(compiled.hows)
        entries: Sequence[Entry] = compiled.entries
        if not seen.isdisjoint(compiled.ids):
            fresh: set[str] | frozenset[str] = compiled.ids - seen
            if not again:
                entries = [e for e in entries if e.id not in seen]
        else:
            fresh = compiled.ids
        seen.update(fresh)
        if request.tags:
            selection = compiled.select(entries, request.tags, name)
            rejected.extend(r for r in selection.rejected if r.deployment in fresh)
            entries = [entries[i] for i in selection.kept]
            if selection.note is not None and not again:
                notes.append(selection.note)
        admissible = evaluate(entries, fresh)
        ordered = _order(
            admissible,
            strategy,
            weights,
            seed,
            None if strategy is not Strategy.BALANCED else lambda: static_columns(admissible),
            one_tier=compiled.one_tier,
        )
        if cutoffs:
            late = [s for s in ordered if not s.meets_cutoffs]
            missed += len(late)
            ordered = [s for s in ordered if s.meets_cutoffs] + late
        return ordered if request.tags or not compiled.defaults else prefer_default(ordered)

    # From here on as ``plan()``.
    alias = _walk_names(request, catalog, effective, group, groups, rejected, notes)

    return _assemble(
        inputs,
        strategy,
        groups,
        rejected,
        notes,
        alias,
        lambda name: group(name, again=True),
        percentile,
        lambda: missed,
        recorded=PlanInputs(
            request,
            catalog,
            policy,
            read,
            budget,
            inputs.decision_id,
            inputs.policy_stale_since,
            inputs.signals_age_ms,
            inputs.signals_stale,
        ),
    )
