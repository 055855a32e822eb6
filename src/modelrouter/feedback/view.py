"""One deployment's observed state, and the signals a decision reads from it.

Both signal backends keep a ``DeploymentState`` per deployment (the Redis one
as a mirror of the server's, refreshed in the background); ``signals_of``
turns it into the ``DeploymentSignals`` the planner reads, so the two give the
same answer for the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from modelrouter.catalog.model import Deployment
from modelrouter.feedback.circuit import Circuit, CircuitRules
from modelrouter.feedback.headroom import ProviderView, Window
from modelrouter.feedback.latency import Histogram, decimal_of
from modelrouter.frozen import quick_init
from modelrouter.types import DeploymentSignals

__all__ = [
    "DeploymentState",
    "Headroom",
    "LatencySummary",
    "iso_ms",
    "lowered",
    "samples_of",
    "signals_of",
    "summarise",
]


@lru_cache(maxsize=1024)
def iso_ms(ms: int) -> str:
    """One format for every time a signal names, so they compare as text too.
    Kept: a window's reset moves once a second, and every fresh view of a
    deployment names it."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@dataclass(slots=True)
class DeploymentState:
    circuit: Circuit = field(default_factory=Circuit)
    ttft: Histogram = field(default_factory=Histogram)
    speed: Histogram = field(default_factory=Histogram)
    # rpm/tpm use in one-second buckets, counted by every instance.
    requests: Window = field(default_factory=Window)
    tokens: Window = field(default_factory=Window)
    provider: ProviderView | None = None
    # Bumped on every change to the latency histograms: summaries are cached by it.
    version: int = 0


@dataclass(frozen=True, slots=True)
class LatencySummary:
    ttft: tuple[Decimal | None, Decimal | None, Decimal | None]  # p50, p90, p99
    speed: tuple[Decimal | None, Decimal | None, Decimal | None]
    samples: Decimal | None


def summarise(state: DeploymentState, now_ms: int, half_life_ms: int) -> LatencySummary | None:
    if not state.ttft.weights and not state.speed.weights:
        return None
    ttft = tuple(decimal_of(state.ttft.quantile(q), "0.1") for q in (0.5, 0.9, 0.99))
    # The slow tail of a speed is its low end: p90 is the speed 90 % of replies reach.
    speed = tuple(_speed(state.speed.quantile(q)) for q in (0.5, 0.1, 0.01))
    return LatencySummary(
        (ttft[0], ttft[1], ttft[2]),
        (speed[0], speed[1], speed[2]),
        samples_of(state, now_ms, half_life_ms),
    )


def samples_of(state: DeploymentState, now_ms: int, half_life_ms: int) -> Decimal | None:
    """The decayed sample count behind the percentiles. Unlike them it changes
    with time alone, so a summary kept from an earlier read is brought up to now."""
    samples = max(
        state.ttft.effective_samples(now_ms, half_life_ms),
        state.speed.effective_samples(now_ms, half_life_ms),
    )
    return decimal_of(samples, "0.01")


_SLOWEST = Decimal("0.01")


def _speed(value: float | None) -> Decimal | None:
    found = decimal_of(value, "0.01")
    return None if found is None else max(found, _SLOWEST)


@quick_init
@dataclass(frozen=True, slots=True)
class Headroom:
    """What this view may still send (a lease's remainder on Redis, the
    window's remainder in process), and the share of the limit left."""

    requests_left: int | None
    tokens_left: int | None
    resets_at_ms: int | None
    share: Decimal | None


# Shares are kept to four places: what ``balanced`` compares, and what a snapshot records.
_SHARE_PLACES = 10_000
# Below this limit the integer rounding below equals the definition
# (Decimal division at the context's 28 digits, then quantized): a quotient
# can only round to a tie at 28 digits when the limit has about 24 digits.
_INTEGER_LIMIT = 10**20


def _share(left: int | None, limit: int | None) -> Decimal | None:
    """``left / limit`` clamped to 0..1, to four places, rounding half to even."""
    if left is None or not limit:
        return None
    if 0 < left < limit < _INTEGER_LIMIT:
        # In integers: a fresh view computes two shares per deployment it reads.
        quotient, remainder = divmod(left * _SHARE_PLACES, limit)
        if 2 * remainder > limit or (2 * remainder == limit and quotient & 1):
            quotient += 1
        return Decimal(quotient).scaleb(-4)
    if left >= limit > 0:
        return _ONE_SHARE  # an untouched window: most deployments
    return _share_of(left, limit)


def _share_of(left: int, limit: int) -> Decimal:
    """The definition, for what the integer path does not take."""
    return min(max(Decimal(left) / Decimal(limit), Decimal(0)), Decimal(1)).quantize(
        Decimal("0.0001")
    )


_ONE_SHARE = _share_of(1, 1)


def headroom_of(
    d: Deployment,
    requests_left: int | None,
    tokens_left: int | None,
    resets_at_ms: int | None,
    provider: ProviderView | None,
    now_ms: int,
    *,
    share_requests: int | None = None,
    share_tokens: int | None = None,
) -> Headroom:
    """The tighter of our own count against the catalog's limits and what the
    provider last said was left, until its reset. The share of the limit left
    is of ``share_*`` when given (the whole fleet's count, where ``*_left`` is
    this instance's lease)."""
    shares = [
        _share(requests_left if share_requests is None else share_requests, d.rpm),
        _share(tokens_left if share_tokens is None else share_tokens, d.tpm),
    ]
    requests_left, tokens_left, resets_at_ms = lowered(
        requests_left, tokens_left, resets_at_ms, provider, now_ms
    )
    known = [s for s in shares if s is not None]
    if requests_left == 0:
        known.append(Decimal(0))
    return Headroom(requests_left, tokens_left, resets_at_ms, min(known) if known else None)


def lowered(
    requests_left: int | None,
    tokens_left: int | None,
    resets_at_ms: int | None,
    provider: ProviderView | None,
    now_ms: int,
) -> tuple[int | None, int | None, int | None]:
    """Our own count of what is left, lowered to what the provider last said
    was left until its reset, and never below 0: (requests, tokens, when the
    tighter of them grows)."""
    if provider is not None:
        said_requests, said_tokens = provider.requests(now_ms), provider.tokens(now_ms)
        if said_requests is not None and (requests_left is None or said_requests < requests_left):
            requests_left = said_requests
            resets_at_ms = max(resets_at_ms or 0, provider.requests_reset_ms or 0) or None
        if said_tokens is not None and (tokens_left is None or said_tokens < tokens_left):
            tokens_left = said_tokens
            resets_at_ms = max(resets_at_ms or 0, provider.tokens_reset_ms or 0) or None
    return (
        None if requests_left is None else max(requests_left, 0),
        None if tokens_left is None else max(tokens_left, 0),
        resets_at_ms,
    )


def signals_of(
    state: DeploymentState,
    latency: LatencySummary | None,
    headroom: Headroom,
    now_ms: int,
    rules: CircuitRules,
    probe_share: Decimal,
) -> DeploymentSignals | None:
    """None when nothing is known: the plan is then exactly what it is without signals."""
    circuit = state.circuit
    status = circuit.state(now_ms)
    error_rate = circuit.error_rate(now_ms, rules)
    limited = (
        headroom.requests_left is not None
        or headroom.tokens_left is not None
        or headroom.share is not None
    )
    if latency is None and status == "closed" and error_rate is None and not limited:
        return None
    return DeploymentSignals(
        ttft_ms=None if latency is None else latency.ttft[0],
        output_tokens_per_s=None if latency is None else latency.speed[0],
        error_rate=None if error_rate is None else error_rate.quantize(Decimal("0.0001")),
        circuit=status,
        ttft_p90_ms=None if latency is None else latency.ttft[1],
        ttft_p99_ms=None if latency is None else latency.ttft[2],
        output_tokens_per_s_p90=None if latency is None else latency.speed[1],
        output_tokens_per_s_p99=None if latency is None else latency.speed[2],
        samples=None if latency is None else latency.samples,
        circuit_reason=None if status == "closed" else circuit.reason,
        reopens_at=iso_ms(circuit.open_until_ms) if status == "open" else None,
        probe_share=probe_share if status == "half_open" else None,
        requests_left=headroom.requests_left,
        tokens_left=headroom.tokens_left,
        headroom_resets_at=None if headroom.resets_at_ms is None else iso_ms(headroom.resets_at_ms),
        headroom=headroom.share,
    )
