"""The live-signals interface, and what both of its backends share.

A backend keeps a local view of every deployment's state (``DeploymentState``)
and answers from it without I/O: ``view()`` on the hot path, ``take()`` to
spend rpm/tpm headroom for a plan's primary. ``observe()`` takes what an
attempt taught. The in-process backend (``signals.memory``) applies it at
once; the Redis backend (``signals.redis``) queues it for the server, whose
scripts apply it atomically for every instance, and mirrors the server's
state in the background.
"""

from __future__ import annotations

import threading
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from modelrouter.catalog.index import Catalog
from modelrouter.catalog.model import Deployment
from modelrouter.feedback import circuit as transitions
from modelrouter.feedback.circuit import CircuitRules
from modelrouter.feedback.classify import ErrorClass
from modelrouter.feedback.headroom import ProviderView
from modelrouter.feedback.ratelimits import RateLimitHeaders
from modelrouter.feedback.view import (
    DeploymentState,
    Headroom,
    LatencySummary,
    iso_ms,
    samples_of,
    signals_of,
    summarise,
)
from modelrouter.money import exact_str
from modelrouter.policy.document import HealthPolicy
from modelrouter.types import PERCENTILES, DeploymentSignals

__all__ = [
    "LiveView",
    "LocalSignals",
    "Observation",
    "SignalStore",
    "provider_view",
    "reset_at_ms",
    "to_ms",
]


def to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one attempt says about its deployment."""

    deployment: str
    at_ms: int
    error_class: ErrorClass | None = None  # None: it served
    reset_at_ms: int | None = None  # the provider's "not before", if it said
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    limits: RateLimitHeaders | None = None


# A remaining count without a reset is trusted for a minute.
_UNDATED_MS = 60_000


def provider_view(limits: RateLimitHeaders, at_ms: int) -> ProviderView | None:
    """What the provider's headers said was left, with absolute reset times."""
    if limits.remaining_requests is None and limits.remaining_tokens is None:
        return None

    def reset(seconds: object) -> int:
        if seconds is None:
            return at_ms + _UNDATED_MS
        return at_ms + int(float(str(seconds)) * 1000)

    return ProviderView(
        remaining_requests=limits.remaining_requests,
        remaining_tokens=limits.remaining_tokens,
        requests_reset_ms=reset(limits.requests_reset_s),
        tokens_reset_ms=reset(limits.tokens_reset_s),
        reported_ms=at_ms,
    )


def reset_at_ms(observation: Observation) -> int | None:
    """The latest "not before" the attempt carries: the body's, the headers'."""
    found = [observation.reset_at_ms] if observation.reset_at_ms is not None else []
    limits = observation.limits
    if limits is not None:
        after = limits.reset_after_s
        if after is None and observation.error_class in _LIMITED:
            # Refused for a limit without saying which window ran out: the
            # latest reset the headers give is when it can be tried again.
            windows = [r for r in (limits.requests_reset_s, limits.tokens_reset_s) if r is not None]
            after = max(windows, default=None)
        if after is not None:
            found.append(observation.at_ms + int(after * 1000))
    return max(found) if found else None


_LIMITED = frozenset({ErrorClass.RATE_LIMITED, ErrorClass.QUOTA_EXHAUSTED})


class SignalStore(Protocol):
    def configure(self, health: HealthPolicy) -> None: ...

    def view(self, catalog: Catalog, now: datetime) -> LiveView:
        """The signals as this instance sees them now (no I/O)."""

    def observe(self, observation: Observation) -> None: ...

    def take(self, deployment: Deployment, tokens: int, now: datetime) -> bool:
        """Spend one request and ``tokens`` of the deployment's rpm/tpm headroom
        for a plan that names it first; False when another plan took the last of it."""

    def count(self, deployment: Deployment, tokens: int, now: datetime) -> None:
        """Count use that was not planned for (a fallback hop that was tried)."""

    def health(self, catalog: Catalog, now: datetime) -> list[dict[str, Any]]: ...

    def health_of(self, deployment: Deployment, now_ms: int) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LiveView(Mapping[str, DeploymentSignals]):
    """The planner's ``signals``: computed per deployment when it is read, so a
    request pays only for its own candidates.

    ``observed`` holds the deployments something was observed for: one outside
    it, without an rpm or tpm limit, has no signals (``get`` answers None), so
    the planner need not ask. It is read without the store's lock, as
    ``LocalSignals.signals`` reads it."""

    def __init__(
        self,
        store: LocalSignals,
        catalog: Catalog,
        now_ms: int,
        age_ms: int | None = None,
        stale: bool = False,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._now_ms = now_ms
        self.observed: Container[str] = store.observed
        self.age_ms = age_ms
        self.stale = stale

    def __getitem__(self, key: str) -> DeploymentSignals:
        deployment = self._catalog.deployments.get(key)
        found = None if deployment is None else self._store.signals(deployment, self._now_ms)
        if found is None:
            raise KeyError(key)
        return found

    def get(self, key: str, default: Any = None) -> Any:
        deployment = self._catalog.deployments.get(key)
        if deployment is None:
            return default
        found = self._store.signals(deployment, self._now_ms)
        return default if found is None else found

    def __iter__(self) -> Iterator[str]:
        return iter([k for k in self._store.known() if self.get(k) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


_UNSEEN = DeploymentState()


# How long one computed value of a deployment's signals may serve further
# decisions when nothing about it changed: the time-driven parts (decayed
# sample counts, the sliding error window) move by less than this in between.
VIEW_REUSE_MS = 50


class LocalSignals:
    """The local view both backends answer from; subclasses say how headroom
    is counted and where observations go."""

    def __init__(self, health: HealthPolicy | None = None) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, DeploymentState] = {}
        self._summaries: dict[str, tuple[int, LatencySummary | None]] = {}
        # deployment -> (computed at, good until, signals): see ``signals``.
        self._cache: dict[str, tuple[int, int, DeploymentSignals | None]] = {}
        self.configure(health or HealthPolicy())

    def configure(self, health: HealthPolicy) -> None:
        self.policy = health
        self.rules = CircuitRules.of(health)
        self.probe_share = health.half_open_share
        self.half_life_ms = int(health.latency_half_life_seconds * 1000)

    @property
    def observed(self) -> Container[str]:
        """The deployments with anything observed (``LiveView.observed``)."""
        return self._states.keys()

    def known(self) -> list[str]:
        with self._lock:
            return sorted(self._states)

    def _headroom(self, deployment: Deployment, state: DeploymentState, now_ms: int) -> Headroom:
        raise NotImplementedError

    def _summary(self, key: str, state: DeploymentState, now_ms: int) -> LatencySummary | None:
        cached = self._summaries.get(key)
        if cached is None or cached[0] != state.version:
            cached = (state.version, summarise(state, now_ms, self.half_life_ms))
            self._summaries[key] = cached
        summary = cached[1]
        if summary is None:
            return None
        # The percentiles change only with the histograms; the sample count also with time.
        return replace(summary, samples=samples_of(state, now_ms, self.half_life_ms))

    def signals(self, deployment: Deployment, now_ms: int) -> DeploymentSignals | None:
        if not deployment.rate_limited and deployment.id not in self._states:
            # Nothing observed and no limit to count against: no signals. Most
            # candidates of most decisions are here; a dict read needs no lock.
            return None
        with self._lock:
            state = self._states.get(deployment.id)
            if state is None:
                if not deployment.rate_limited:
                    return None
                state = _UNSEEN  # nothing observed, but a limit to count against
            cached = self._cache.get(deployment.id)
            if cached is not None and cached[0] <= now_ms < cached[1]:
                return cached[2]
            latency = self._summary(deployment.id, state, now_ms)
            headroom = self._headroom(deployment, state, now_ms)
            found = signals_of(state, latency, headroom, now_ms, self.rules, self.probe_share)
            # The same value serves the next decisions until something changes
            # (``_touch``), the view ages, or a deadline it depends on passes.
            until = now_ms + VIEW_REUSE_MS
            if found is not None and found.circuit == "open":
                until = min(until, state.circuit.open_until_ms)
            if headroom.resets_at_ms is not None and headroom.resets_at_ms > now_ms:
                until = min(until, headroom.resets_at_ms)
            self._cache[deployment.id] = (now_ms, until, found)
            return found

    def _touch(self, key: str) -> None:
        """Something about ``key`` changed: its next read is computed afresh."""
        self._cache.pop(key, None)

    def apply(self, observation: Observation) -> None:
        """Apply an observation to the local view, with the pure transitions."""
        with self._lock:
            state = self._state(observation.deployment)
            self._touch(observation.deployment)
            now = observation.at_ms
            if observation.error_class is None:
                state.circuit = transitions.success(state.circuit, now, self.rules)
            else:
                state.circuit = transitions.failure(
                    state.circuit,
                    observation.error_class,
                    now,
                    self.rules,
                    reset_at_ms=reset_at_ms(observation),
                )
            if observation.ttft_ms is not None:
                state.ttft.add(observation.ttft_ms, now, self.half_life_ms)
                state.version += 1
            if observation.tokens_per_s is not None:
                state.speed.add(observation.tokens_per_s, now, self.half_life_ms)
                state.version += 1
            if observation.limits is not None:
                said = provider_view(observation.limits, now)
                if said is not None:
                    state.provider = said

    def _state(self, key: str) -> DeploymentState:
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = DeploymentState()
        return state

    def _age(self, now_ms: int) -> tuple[int | None, bool]:
        return None, False

    def view(self, catalog: Catalog, now: datetime) -> LiveView:
        now_ms = to_ms(now)
        age, stale = self._age(now_ms)
        return LiveView(self, catalog, now_ms, age, stale)

    def health(self, catalog: Catalog, now: datetime) -> list[dict[str, Any]]:
        """Every deployment with anything observed: circuit, latency, headroom."""
        now_ms = to_ms(now)
        out = []
        for key in self.known():
            deployment = catalog.deployments.get(key)
            if deployment is None:
                continue
            out.append(self.health_of(deployment, now_ms))
        return out

    def health_of(self, deployment: Deployment, now_ms: int) -> dict[str, Any]:
        with self._lock:
            state = self._states.get(deployment.id) or DeploymentState()
            latency = self._summary(deployment.id, state, now_ms)
            headroom = self._headroom(deployment, state, now_ms)
            circuit = state.circuit
            status = circuit.state(now_ms)
            attempts, failed = circuit.counts(now_ms, self.rules)
        rate = None if attempts == 0 else exact_str(Decimal(failed) / Decimal(attempts))
        return {
            "deployment": deployment.id,
            "circuit": {
                "state": status,
                "reason": None if status == "closed" else circuit.reason,
                "reopens_at": iso_ms(circuit.open_until_ms) if status == "open" else None,
                "consecutive_failures": circuit.consecutive,
                "trips": circuit.trips,
                "window": {"attempts": attempts, "failed": failed, "error_rate": rate},
            },
            "latency": _latency_report(latency),
            "headroom": {
                "rpm": deployment.rpm,
                "tpm": deployment.tpm,
                "requests_left": headroom.requests_left,
                "tokens_left": headroom.tokens_left,
                "resets_at": None
                if headroom.resets_at_ms is None
                else iso_ms(headroom.resets_at_ms),
                "share_left": None if headroom.share is None else exact_str(headroom.share),
            },
        }


def _latency_report(latency: LatencySummary | None) -> dict[str, Any]:
    if latency is None:
        return {"samples": "0", "ttft_ms": None, "output_tokens_per_s": None}

    def row(values: tuple[Decimal | None, ...]) -> dict[str, str | None]:
        return {
            p: None if v is None else exact_str(v) for p, v in zip(PERCENTILES, values, strict=True)
        }

    return {
        "samples": None if latency.samples is None else exact_str(latency.samples),
        "ttft_ms": row(latency.ttft),
        "output_tokens_per_s": row(latency.speed),
    }
