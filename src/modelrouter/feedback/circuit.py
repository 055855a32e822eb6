"""A deployment's circuit: closed, open until a deadline, then half-open.

The transitions are pure functions of the circuit, one attempt and the time,
so the in-process signals and the Redis scripts (``signals/redis_scripts``)
can follow the same rules, and a test runs both against the same scenarios.
Times are whole milliseconds since the epoch.

- A failure of a health class counts against the circuit. It opens after
  ``consecutive_failures`` in a row, or when the failed share of the attempts
  in the sliding window reaches ``error_rate`` (with ``min_attempts``), and at
  once for a rate limit, an exhausted quota or a credential error: the
  provider has said so.
- Its deadline is the latest of the deadline it already has, the provider's
  reset, and an exponential backoff (``base * 2^(trips - 1)``, capped): a
  later, shorter signal never shortens it.
- Past the deadline it is half-open: a share of requests goes through as
  probes (the planner picks them by request-id hash). A success closes it; a
  failure opens it again for twice as long.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from modelrouter.feedback.classify import HEALTH_CLASSES, ErrorClass
from modelrouter.policy.document import HealthPolicy
from modelrouter.types import CircuitState

__all__ = ["BUCKETS", "Circuit", "CircuitRules", "failure", "success"]

# The sliding window is kept as this many buckets.
BUCKETS = 10
# The provider has said to stop: open at once, without waiting for a streak.
IMMEDIATE = frozenset({ErrorClass.RATE_LIMITED, ErrorClass.QUOTA_EXHAUSTED, ErrorClass.AUTH_ERROR})
_PPM = 1_000_000


def _ms(seconds: Decimal) -> int:
    return int(seconds * 1000)


@dataclass(frozen=True, slots=True)
class CircuitRules:
    """The platform policy's ``health`` settings, in the units the transitions use."""

    consecutive_failures: int = 3
    error_rate_ppm: int = 500_000
    min_attempts: int = 10
    window_ms: int = 60_000
    base_cooldown_ms: int = 5_000
    max_cooldown_ms: int = 300_000
    quota_cooldown_ms: int = 3_600_000
    auth_cooldown_ms: int = 3_600_000

    @classmethod
    def of(cls, health: HealthPolicy) -> CircuitRules:
        return cls(
            consecutive_failures=health.consecutive_failures,
            error_rate_ppm=int(health.error_rate * _PPM),
            min_attempts=health.min_attempts,
            window_ms=health.window_seconds * 1000,
            base_cooldown_ms=_ms(health.base_cooldown_seconds),
            max_cooldown_ms=_ms(health.max_cooldown_seconds),
            quota_cooldown_ms=_ms(health.quota_cooldown_seconds),
            auth_cooldown_ms=_ms(health.auth_cooldown_seconds),
        )

    @property
    def bucket_ms(self) -> int:
        return max(self.window_ms // BUCKETS, 1)

    def cooldown_ms(self, error_class: ErrorClass, trips: int) -> int:
        if error_class is ErrorClass.QUOTA_EXHAUSTED:
            return self.quota_cooldown_ms
        if error_class is ErrorClass.AUTH_ERROR:
            return self.auth_cooldown_ms
        # 2^(trips - 1) grows past any cap quickly; stop doubling once it is reached.
        backoff = self.base_cooldown_ms << min(max(trips - 1, 0), 40)
        return min(backoff, self.max_cooldown_ms)


Window = tuple[tuple[int, int, int], ...]  # (bucket start, succeeded, failed), oldest first


@dataclass(frozen=True, slots=True)
class Circuit:
    consecutive: int = 0  # failures since the last success
    trips: int = 0  # openings since it last closed: drives the backoff
    open_until_ms: int = 0
    reason: str | None = None  # the error class that set the deadline
    window: Window = ()

    def state(self, now_ms: int) -> CircuitState:
        if self.trips == 0:
            return "closed"
        return "open" if now_ms < self.open_until_ms else "half_open"

    def counts(self, now_ms: int, rules: CircuitRules) -> tuple[int, int]:
        """(attempts, failures) in the window ending now: the buckets an attempt
        now would be counted with (``_count`` keeps no others)."""
        oldest = now_ms - now_ms % rules.bucket_ms - rules.window_ms
        live = [(ok, failed) for at, ok, failed in self.window if at > oldest]
        failed = sum(f for _, f in live)
        return sum(ok for ok, _ in live) + failed, failed

    def error_rate(self, now_ms: int, rules: CircuitRules) -> Decimal | None:
        if not self.window:  # most deployments, most of the time
            return None
        attempts, failed = self.counts(now_ms, rules)
        return None if attempts == 0 else Decimal(failed) / Decimal(attempts)


def _count(window: Window, now_ms: int, rules: CircuitRules, *, failed: bool) -> Window:
    bucket = now_ms - now_ms % rules.bucket_ms
    oldest = bucket - rules.window_ms
    counts = {at: (ok, bad) for at, ok, bad in window if at > oldest}
    ok, bad = counts.get(bucket, (0, 0))
    counts[bucket] = (ok + (not failed), bad + failed)
    return tuple((at, ok, bad) for at, (ok, bad) in sorted(counts.items()))


def failure(
    circuit: Circuit,
    error_class: ErrorClass,
    now_ms: int,
    rules: CircuitRules,
    *,
    reset_at_ms: int | None = None,
) -> Circuit:
    """The circuit after a failed attempt. Classes that are not the
    deployment's health (a bad request, a prompt too long) change nothing."""
    if error_class not in HEALTH_CLASSES:
        return circuit
    window = _count(circuit.window, now_ms, rules, failed=True)
    consecutive = circuit.consecutive + 1
    state = circuit.state(now_ms)
    after = replace(circuit, consecutive=consecutive, window=window)
    attempts, failed = after.counts(now_ms, rules)
    tripped = (
        state != "closed"
        or error_class in IMMEDIATE
        or consecutive >= rules.consecutive_failures
        or (attempts >= rules.min_attempts and failed * _PPM >= rules.error_rate_ppm * attempts)
    )
    if not tripped:
        return after
    # Already open (an attempt that was in flight): extend, never shorten, and
    # do not double the backoff for it.
    trips = circuit.trips if state == "open" else circuit.trips + 1
    deadline = max(now_ms + rules.cooldown_ms(error_class, trips), reset_at_ms or 0)
    if deadline <= circuit.open_until_ms:
        return replace(after, trips=trips)
    return replace(after, trips=trips, open_until_ms=deadline, reason=error_class.value)


def success(circuit: Circuit, now_ms: int, rules: CircuitRules) -> Circuit:
    """The circuit after a served attempt: a half-open one closes; an open one
    stays open (a success that was in flight proves nothing about now)."""
    window = _count(circuit.window, now_ms, rules, failed=False)
    if circuit.state(now_ms) == "half_open":
        return Circuit(window=window)
    return replace(circuit, consecutive=0, window=window)
