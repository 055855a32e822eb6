"""rpm/tpm headroom: what a deployment may still be sent in the current minute.

Use is counted in one-second buckets. A request at second ``s`` counts the
buckets ``s - 60`` to ``s``: 61 of them, one more than a minute, so any 60 s
interval holds at most the limit (the cost is up to a second of headroom held
back). The provider's own remaining-requests and remaining-tokens headers
lower the view until their reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["WINDOW_S", "ProviderView", "Usage", "used", "window_reset_s"]

WINDOW_S = 60


@dataclass(frozen=True, slots=True)
class Usage:
    requests: int
    tokens: int


def used(buckets: Mapping[int, int], now_s: int) -> int:
    start = now_s - WINDOW_S
    return sum(count for second, count in buckets.items() if second >= start)


def window_reset_s(buckets: Mapping[int, int], now_s: int) -> int:
    """When the oldest second still counted leaves the window (``now_s`` if none is counted)."""
    start = now_s - WINDOW_S
    counted = [second for second, count in buckets.items() if second >= start and count]
    return (min(counted) + WINDOW_S + 1) if counted else now_s


def prune(buckets: dict[int, int], now_s: int) -> None:
    for second in [s for s in buckets if s < now_s - WINDOW_S]:
        del buckets[second]


@dataclass(frozen=True, slots=True)
class ProviderView:
    """What the provider's rate-limit headers said, as of when, and until when."""

    remaining_requests: int | None
    remaining_tokens: int | None
    requests_reset_ms: int | None
    tokens_reset_ms: int | None
    reported_ms: int

    def requests(self, now_ms: int) -> int | None:
        live = self.requests_reset_ms is None or now_ms < self.requests_reset_ms
        return self.remaining_requests if live else None

    def tokens(self, now_ms: int) -> int | None:
        live = self.tokens_reset_ms is None or now_ms < self.tokens_reset_ms
        return self.remaining_tokens if live else None
