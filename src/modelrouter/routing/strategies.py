"""Ordering strategies for admissible candidates.

A deployment's ``order`` is a strict priority tier under every strategy: a
lower tier comes first whatever the strategy says, and a higher one serves
only when nothing in the lower tiers is admissible (deployments without one
come after every tier). Within a tier, every strategy yields a sort key;
candidates whose keys are equal form a tie group, ordered by a weighted draw
from a hash of the request id (so the same request always gets the same order
and weights spread different requests), and finally by deployment id.
``weighted`` gives every candidate the same key: the whole tier is one draw,
so traffic splits by weight (LiteLLM's simple-shuffle). No clock, no unseeded
randomness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from typing import Protocol, TypeVar

from modelrouter.catalog.model import Deployment
from modelrouter.types import CostEstimate, Strategy, Weights

__all__ = ["Scored", "order_candidates", "weighted_draw"]

_INF = Decimal("Infinity")
_SCORE_PLACES = Decimal("1e-12")


class _Drawn(Protocol):
    @property
    def deployment(self) -> Deployment: ...


D = TypeVar("D", bound=_Drawn)


@dataclass(frozen=True, slots=True)
class Scored:
    deployment: Deployment
    estimate: CostEstimate
    latency_ms: Decimal | None
    position: int  # order of appearance in resolution; what ``pinned`` keeps
    via: str
    # The share of its rpm/tpm limit left (None: no limit known).
    headroom: Decimal | None = None
    # Within the request's preferred latency cut-offs (or none were asked for).
    meets_cutoffs: bool = True

    @property
    def quality(self) -> Decimal | None:
        return None if self.deployment.quality is None else self.deployment.quality.score


def _cost(s: Scored) -> Decimal:
    return s.estimate.expected_usd


def _latency(s: Scored) -> Decimal:
    return _INF if s.latency_ms is None else s.latency_ms


def _quality_desc(s: Scored) -> Decimal:
    return _INF if s.quality is None else -s.quality


def _used_share(s: Scored) -> Decimal:
    return Decimal(0) if s.headroom is None else 1 - s.headroom


def _spread(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    finite = [v for v in values if v.is_finite()]
    if not finite:
        return Decimal(0), Decimal(0)
    return min(finite), max(finite) - min(finite)


def _normalised(value: Decimal, low: Decimal, width: Decimal) -> Decimal:
    """0 for the best, 1 for the worst; unknown counts as the worst."""
    if not value.is_finite():
        return Decimal(1)
    if width == 0:
        return Decimal(0)
    return (value - low) / width


def _balanced_keys(candidates: Sequence[Scored], weights: Weights) -> dict[str, Decimal]:
    columns = [
        (weights.cost, [_cost(s) for s in candidates]),
        (weights.latency, [_latency(s) for s in candidates]),
        (weights.quality, [_quality_desc(s) for s in candidates]),
    ]
    total = weights.cost + weights.latency + weights.quality
    if weights.headroom and any(s.headroom is not None for s in candidates):
        # Only among candidates with a limit; one without counts as all headroom.
        columns.append((weights.headroom, [_used_share(s) for s in candidates]))
        total += weights.headroom
    scores = [Decimal(0)] * len(candidates)
    for weight, values in columns:
        if not weight:
            continue  # a zero weight: this column cannot move the order
        low, width = _spread(values)
        for index, value in enumerate(values):
            scores[index] += weight * _normalised(value, low, width)
    # Quantised so that equal scores compare equal whatever the division left.
    return {
        s.deployment.id: (score / total).quantize(_SCORE_PLACES)
        for s, score in zip(candidates, scores, strict=True)
    }


def weighted_draw(group: Sequence[D], seed: str) -> list[D]:
    """Order a tie group by repeated weighted draws seeded by ``seed``.
    Weight-0 deployments come last: they serve only when nothing else can."""
    remaining = sorted(group, key=lambda s: s.deployment.id)
    ordered: list[D] = []
    draw = 0
    while remaining:
        total = sum(s.deployment.weight for s in remaining)
        if total == 0 or len(remaining) == 1:  # the order of what is left is drawn already
            ordered.extend(remaining)
            break
        digest = hashlib.sha256(f"{seed}\x00{draw}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % total
        for index, s in enumerate(remaining):
            point -= s.deployment.weight
            if point < 0:
                ordered.append(remaining.pop(index))
                break
        draw += 1
    return ordered


def order_candidates(
    candidates: Sequence[Scored], strategy: Strategy, weights: Weights, seed: str
) -> list[Scored]:
    key: Callable[[Scored], tuple[Decimal, ...]]
    if strategy is Strategy.CHEAPEST:

        def key(s: Scored) -> tuple[Decimal, ...]:
            return (_cost(s),)
    elif strategy is Strategy.FASTEST:

        def key(s: Scored) -> tuple[Decimal, ...]:
            return (_latency(s), _cost(s))
    elif strategy is Strategy.QUALITY:

        def key(s: Scored) -> tuple[Decimal, ...]:
            return (_quality_desc(s), _cost(s))
    elif strategy is Strategy.PINNED:

        def key(s: Scored) -> tuple[Decimal, ...]:
            return (Decimal(s.position),)
    elif strategy is Strategy.WEIGHTED:

        def key(s: Scored) -> tuple[Decimal, ...]:
            return ()
    else:
        balanced = _balanced_keys(candidates, weights)

        def key(s: Scored) -> tuple[Decimal, ...]:
            return (balanced[s.deployment.id],)

    def full_key(s: Scored) -> tuple[Decimal, tuple[Decimal, ...]]:
        order = s.deployment.order
        return _INF if order is None else Decimal(order), key(s)

    ordered: list[Scored] = []
    for _, group in groupby(sorted(candidates, key=full_key), key=full_key):
        members = list(group)
        ordered.extend(members if len(members) == 1 else weighted_draw(members, seed))
    return ordered
