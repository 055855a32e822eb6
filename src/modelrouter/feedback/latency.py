"""Decaying latency percentiles: a log-scale histogram with forward decay.

Each observation lands in a bucket 1/8 of a doubling wide (about 9 %: a
percentile is read to within half of that) with the weight
``2^((t - landmark) / half_life)``. Newer samples weigh more, and nothing
already stored is touched when one is added, so a Redis ``HINCRBYFLOAT`` is
the whole update and concurrent instances never lose one another's samples.
Percentiles are ratios of weights, so the growing scale cancels; the decayed
sample count (``effective_samples``) divides it back out. When the scale gets
large the landmark moves forward and the weights shrink by the same factor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "RESCALE_AFTER_HALF_LIVES",
    "Histogram",
    "bucket_of",
    "bucket_value",
    "decay_weight",
]

PER_DOUBLING = 8
# Values outside this range are clipped: 0.001 to about 10^9 (ms or tokens/s).
_LOWEST, _HIGHEST = -80, 240
# Past this many half-lives since the landmark the weights are rescaled (2^40
# is far inside a double's range, and far from losing the newest sample).
RESCALE_AFTER_HALF_LIVES = 40


def bucket_of(value: float) -> int:
    if not value > 0 or math.isinf(value):
        return _LOWEST if not value > 0 else _HIGHEST
    return min(max(math.floor(math.log2(value) * PER_DOUBLING), _LOWEST), _HIGHEST)


def bucket_value(bucket: int) -> float:
    """The bucket's geometric middle: what a percentile falling in it reads as."""
    return float(2 ** ((bucket + 0.5) / PER_DOUBLING))


def decay_weight(now_ms: int, landmark_ms: int, half_life_ms: int) -> float:
    return float(2 ** ((now_ms - landmark_ms) / half_life_ms))


@dataclass(slots=True)
class Histogram:
    landmark_ms: int = 0
    weights: dict[int, float] = field(default_factory=dict)

    @classmethod
    def of(cls, landmark_ms: int, weights: Mapping[int, float]) -> Histogram:
        return cls(landmark_ms, dict(weights))

    def add(self, value: float, now_ms: int, half_life_ms: int) -> None:
        if not self.weights:
            self.landmark_ms = now_ms
        elif (now_ms - self.landmark_ms) / half_life_ms > RESCALE_AFTER_HALF_LIVES:
            self.rescale(now_ms, half_life_ms)
        bucket = bucket_of(value)
        weight = decay_weight(now_ms, self.landmark_ms, half_life_ms)
        self.weights[bucket] = self.weights.get(bucket, 0.0) + weight

    def rescale(self, now_ms: int, half_life_ms: int) -> None:
        factor = decay_weight(self.landmark_ms, now_ms, half_life_ms)
        self.weights = {b: w * factor for b, w in self.weights.items() if w * factor > 1e-12}
        self.landmark_ms = now_ms

    def effective_samples(self, now_ms: int, half_life_ms: int) -> float:
        """How many samples the estimate rests on, each counted by its decayed weight."""
        total = sum(self.weights.values())
        if total == 0:
            return 0.0
        # Times the inverse weight: 2^elapsed overflows a double some 1024
        # half-lives after the landmark, where 2^-elapsed only underflows to 0.
        # A view whose clock is behind the landmark counts as at the landmark.
        now_ms = max(now_ms, self.landmark_ms)
        return total * decay_weight(self.landmark_ms, now_ms, half_life_ms)

    def quantile(self, q: float) -> float | None:
        """The value below which a share ``q`` of the (weighted) samples lie."""
        total = sum(self.weights.values())
        if total <= 0:
            return None
        target = q * total
        running = 0.0
        for bucket in sorted(self.weights):
            running += self.weights[bucket]
            if running >= target:
                return bucket_value(bucket)
        return bucket_value(max(self.weights))


def decimal_of(value: float | None, places: str) -> Decimal | None:
    """A float estimate as the exact decimal a snapshot records."""
    if value is None:
        return None
    return Decimal(repr(value)).quantize(Decimal(places))
