"""In-process live signals: the embedded default.

Every observation is applied at once, under one lock, with the same pure
transitions the Redis scripts follow. The view is this process's own: with
several workers or instances, each counts only its own traffic (use the Redis
backend to share circuits, latency and rpm/tpm windows).
"""

from __future__ import annotations

from datetime import datetime

from modelrouter.catalog.model import Deployment
from modelrouter.feedback.headroom import ProviderView
from modelrouter.feedback.view import DeploymentState, Headroom, headroom_of, lowered
from modelrouter.signals.live import LocalSignals, Observation, to_ms

__all__ = ["MemorySignals"]


class MemorySignals(LocalSignals):
    def _headroom(self, deployment: Deployment, state: DeploymentState, now_ms: int) -> Headroom:
        now_s = now_ms // 1000
        requests, tokens = _counted_left(deployment, state, now_s)
        resets = None
        if requests is not None:
            resets = state.requests.reset_s(now_s) * 1000
        if tokens is not None:
            resets = max(resets or 0, state.tokens.reset_s(now_s) * 1000)
        return headroom_of(deployment, requests, tokens, resets, state.provider, now_ms)

    def observe(self, observation: Observation) -> None:
        self.apply(observation)

    def _use(self, state: DeploymentState, tokens: int, now_s: int) -> None:
        state.requests.add(now_s, 1)
        state.tokens.add(now_s, tokens)
        said = state.provider
        if said is not None:
            state.provider = ProviderView(
                None if said.remaining_requests is None else said.remaining_requests - 1,
                None if said.remaining_tokens is None else said.remaining_tokens - tokens,
                said.requests_reset_ms,
                said.tokens_reset_ms,
                said.reported_ms,
            )

    def take(self, deployment: Deployment, tokens: int, now: datetime) -> bool:
        limited = deployment.rate_limited
        if not limited and deployment.id not in self._states:
            return True  # nothing to count against (read without the lock, as ``signals`` does)
        now_ms = to_ms(now)
        with self._lock:
            state = self._states.get(deployment.id)
            if not limited and (state is None or state.provider is None):
                return True  # nothing to count against
            state = self._state(deployment.id)
            # What is left, as ``_headroom`` counts it, without the shares and
            # the reset a decision's signals carry.
            requests, tokens_left, _ = lowered(
                *_counted_left(deployment, state, now_ms // 1000), None, state.provider, now_ms
            )
            if requests is not None and requests < 1:
                return False
            if tokens_left is not None and tokens_left < tokens:
                return False
            self._use(state, tokens, now_ms // 1000)
            self._touch(deployment.id)
            return True

    def count(self, deployment: Deployment, tokens: int, now: datetime) -> None:
        if not deployment.rate_limited:
            return
        with self._lock:
            self._use(self._state(deployment.id), tokens, to_ms(now) // 1000)
            self._touch(deployment.id)

    def close(self) -> None:
        return None


def _counted_left(
    deployment: Deployment, state: DeploymentState, now_s: int
) -> tuple[int | None, int | None]:
    """What this process's own count leaves of the catalog's rpm and tpm."""
    requests = None if deployment.rpm is None else deployment.rpm - state.requests.used(now_s)
    tokens = None if deployment.tpm is None else deployment.tpm - state.tokens.used(now_s)
    return requests, tokens
