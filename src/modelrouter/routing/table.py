"""The compiled routing table: what a plan computes that does not depend on
the request, computed once per catalog version and policy stack version.

``plan()`` (the planner) recomputes every verdict, price and key for every
request. Most of that is a function of the catalog, the policy stack and a
few of the request's fields that repeat from request to request (the name,
the features required, its provider/vendor/region lists, data terms, tags).
A ``CompiledTable`` holds, per name and such a *static signature*:

- the resolved candidates, the notes resolving them wrote, and their tag
  selection;
- each candidate's verdicts on features, policy lists, regions, tags, data
  terms and deprecation, as the (immutable, shared) ``Rejection`` values the
  planner would build;
- its prices as integers: a rate is held as a count of 10^-12 USD per million
  tokens, so tokens times a rate is an exact count of 10^-18 USD. A sheet with
  a rate (or request fee) that unit cannot hold exactly is priced by the
  Decimal path, as is any estimate whose terms reach 10^28 units (the default
  decimal context's 28 digits: below that bound the Decimal path rounds
  nothing, so both give the same number);
- its latency prior, quality and priority tier.

What is computed per request on it is ``routing.compiled``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.catalog.prices import PriceSheet
from modelrouter.errors import UnknownPriceError
from modelrouter.policy.effective import PolicyStack
from modelrouter.pricing.cost import resolve_prices
from modelrouter.pricing.integer_rates import IntRates, compile_sheet
from modelrouter.request.normalize import NormalizedRequest
from modelrouter.routing.constraints import (
    Need,
    check_terms,
)
from modelrouter.routing.planner import (
    _Speed,
)
from modelrouter.routing.resolver import resolve
from modelrouter.routing.strategies import (
    _INF,
)
from modelrouter.routing.tags import DEFAULT_TAG, TagSelection, select_by_tags
from modelrouter.types import (
    Rejection,
    RejectionCode,
)

__all__ = [
    "CompiledTable",
    "Entry",
    "Group",
    "drop_oldest",
    "price_unknown",
    "remember",
    "static_key",
]

K = TypeVar("K")
V = TypeVar("V")

_MAX_TOKENS = 2**63


class Entry:
    """One candidate of one name under one static signature: everything the
    planner reads of it that no request changes."""

    __slots__ = (
        "deployment",
        "fits_output",
        "fits_total",
        "id",
        "latencies",
        "limited",
        "max_output",
        "no_price",
        "position",
        "quality",
        "quality_desc",
        "rules",
        "simple",
        "terms",
        "tier",
        "via",
        "window",
    )

    def __init__(
        self,
        deployment: Deployment,
        position: int,
        via: str,
        need: Need,
        table: CompiledTable | None = None,
    ) -> None:
        d = deployment
        self.deployment = d
        self.id = d.id
        self.position = position  # relative to the group's start: only its order counts
        self.via = via
        self.window = d.context_window
        self.max_output = d.max_output_tokens
        # A live view may hold signals for it though nothing was observed yet.
        self.limited = d.rate_limited
        # The most input + max output tokens, and max output tokens, that pass
        # the token checks (-1: none; an unknown window passes with allow_unknown).
        allow_unknown = table is not None and table.allow_unknown
        window = d.context_window
        self.fits_total: int = (
            window if window is not None else _MAX_TOKENS if allow_unknown else -1
        )
        self.fits_output = _MAX_TOKENS if d.max_output_tokens is None else d.max_output_tokens
        self.terms = tuple(replace(r, via=via) for r in check_terms(d, need))
        self.no_price: Rejection | None = None
        if d.prices is None:
            try:
                resolve_prices(d, _NEVER)
            except UnknownPriceError as exc:
                self.no_price = price_unknown(d, exc, via)
        # A price that never changes while no price context is asked for, flat
        # and exact: (input, output, fee, dearest input, dearest output, rule).
        self.simple: tuple[int, int, int, int, int, str] | None = None
        rules = () if d.prices is None else d.prices.rules
        # One standard rule (no ``when``) without a start or a daily window: what
        # ``resolve`` answers whenever no price context is asked for, whatever
        # variants (batch, priority: each with a ``when``) the schedule also has.
        standard = [rule for rule in rules if not rule.when]
        fixed = (
            standard[0]
            if len(standard) == 1
            and standard[0].effective_from is None
            and standard[0].daily_utc is None
            else None
        )
        if fixed is not None and not self.terms and table is not None:
            rates = table.rates(fixed.sheet)
            if (
                rates is not None
                and rates.tiered is None
                and not rates.input[1]
                and not rates.output[1]
                and rates.flat_input is not None
                and rates.flat_output is not None
                and min(rates.input[0], rates.output[0], rates.fee) >= 0
                and min(rates.flat_input, rates.flat_output) >= 0
            ):
                self.simple = (
                    rates.input[0],
                    rates.output[0],
                    rates.fee,
                    rates.flat_input,
                    rates.flat_output,
                    f"{d.id} {fixed.label()}",
                )
        self.quality = None if d.quality is None else d.quality.score
        self.quality_desc = _INF if self.quality is None else -self.quality
        self.tier = (1, 0) if d.order is None else (0, d.order)
        # Expected output tokens -> latency at the catalog's prior (no signals read).
        self.latencies: dict[int, Decimal | None] = {}
        # The price rule's label -> the estimate's rule text.
        self.rules: dict[str, str] = {}

    def prior(self) -> _Speed:
        latency = self.deployment.latency
        if latency is None:
            return _Speed(None, None)
        return _Speed(latency.ttft_ms, latency.output_tokens_per_s)

    def prior_latency(self, expected_output: int) -> Decimal | None:
        try:
            return self.latencies[expected_output]
        except KeyError:
            return remember(
                self.latencies, expected_output, self.prior().latency_ms(expected_output), 64
            )

    def rule(self, label: str) -> str:
        try:
            return self.rules[label]
        except KeyError:
            return remember(self.rules, label, f"{self.id} {label}", 64)


def price_unknown(d: Deployment, exc: UnknownPriceError, via: str) -> Rejection:
    return Rejection(d.id, RejectionCode.PRICE_UNKNOWN, exc.message, have="unknown", via=via)


# Only read by ``resolve_prices`` after it has found there are no prices.
_NEVER: Any = None


class Group:
    """What resolving one name gives under one static signature."""

    __slots__ = ("defaults", "entries", "hows", "ids", "one_tier", "tags")

    def __init__(self, entries: tuple[Entry, ...], hows: tuple[str, ...]) -> None:
        self.entries = entries
        self.hows = hows
        self.ids = frozenset(e.id for e in entries)
        # Any tagged ``default`` (else an untagged request's order stays as it is).
        self.defaults = any(DEFAULT_TAG in e.deployment.tags for e in entries)
        # All in one priority tier (so are any of them that are admissible).
        self.one_tier = len({e.tier for e in entries}) <= 1
        # The ids left after those already seen are taken out -> their tag selection.
        self.tags: dict[tuple[str, ...], TagSelection] = {}

    def select(self, entries: Sequence[Entry], tags: tuple[str, ...], via: str) -> TagSelection:
        key = tuple(e.id for e in entries)
        found = self.tags.get(key)
        if found is None:
            selected = select_by_tags([e.deployment for e in entries], tags, via=via)
            found = remember(self.tags, key, selected, 64)
        return found


def static_key(request: NormalizedRequest, deny_models: tuple[str, ...] | None) -> tuple[Any, ...]:
    """The request's fields the static verdicts read (with the table's catalog
    and policy stack, all they read)."""
    return (
        request.require,
        request.providers_allow,
        request.providers_deny,
        request.vendors_allow,
        request.vendors_deny,
        request.regions,
        request.zero_data_retention,
        request.no_training,
        request.tags,
        deny_models,
    )


class CompiledTable:
    """The request-independent part of routing on one catalog under one
    policy stack. Its caches are bounded; a table is never stale, as the
    catalog and the policy stack are immutable values."""

    def __init__(self, catalog: Catalog, policy: PolicyStack, *, max_groups: int = 1024) -> None:
        self.catalog = catalog
        self.policy = policy
        self.key = (catalog.version, policy.version)
        self.max_groups = max_groups
        effective = policy.effective
        self.allow_unknown = effective.allow_unknown is True
        self.has_caps = any(
            cap is not None
            for _, p in policy.layers
            for cap in (
                p.max_cost_per_request_usd,
                p.max_input_price_per_mtok,
                p.max_output_price_per_mtok,
            )
        )
        self._groups: dict[tuple[str, tuple[Any, ...]], Group] = {}
        self._rates: dict[PriceSheet, IntRates | None] = {}
        # The static columns of ``balanced``: see ``_balanced``.
        self.columns: dict[tuple[Any, ...], tuple[list[Decimal], list[Decimal]]] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def group(self, name: str, key: tuple[Any, ...], need: Callable[[], Need]) -> Group:
        found = self._groups.get((name, key))
        if found is None:
            resolved = resolve(name, self.catalog, self.policy.effective)
            entries = tuple(Entry(r.deployment, r.position, r.via, need(), self) for r in resolved)
            hows = tuple(dict.fromkeys(r.how for r in resolved if r.how is not None))
            found = Group(entries, hows)
            if len(self._groups) >= self.max_groups:
                drop_oldest(self._groups)
            self._groups[(name, key)] = found
        return found

    def rates(self, sheet: PriceSheet) -> IntRates | None:
        try:
            return self._rates[sheet]
        except KeyError:
            return remember(self._rates, sheet, compile_sheet(sheet), 4096)


def remember(cache: dict[K, V], key: K, value: V, bound: int) -> V:
    """Keep ``value`` under ``key`` and return it. A cache already holding
    ``bound`` entries is emptied first: what the caches hold is recomputed
    when asked again, and a catalog's worth of keys never accumulates."""
    if len(cache) >= bound:
        cache.clear()
    cache[key] = value
    return value


def drop_oldest(cache: dict[Any, Any]) -> None:
    """Take out the oldest entry; when another thread changed the cache in
    between, all of them (the caches only ever hold what can be recomputed)."""
    try:
        del cache[next(iter(cache))]
    except (RuntimeError, KeyError, StopIteration):
        cache.clear()
