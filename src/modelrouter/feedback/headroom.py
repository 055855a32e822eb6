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

__all__ = ["WINDOW_S", "ProviderView", "Usage", "Window", "used", "window_reset_s"]

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


class Window:
    """One deployment's use in one-second buckets, as ``used`` and
    ``window_reset_s`` read them (an add first drops the seconds that have
    left the window), with its running total and its oldest second kept: a
    busy deployment has 61 buckets, and every fresh view of it and every
    request sent to it reads them."""

    __slots__ = ("_buckets", "_oldest", "_total")

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}  # only counts above 0
        self._total = 0
        self._oldest = 0  # the earliest second in ``_buckets`` (when there is one)

    @property
    def buckets(self) -> Mapping[int, int]:
        return self._buckets

    def add(self, now_s: int, count: int) -> None:
        """Count ``count`` at ``now_s``, after dropping what has left the window."""
        self.prune(now_s)
        if count <= 0:  # counts nothing, and keeps no bucket that would count as none
            return
        buckets = self._buckets
        if not buckets or now_s < self._oldest:
            self._oldest = now_s
        buckets[now_s] = buckets.get(now_s, 0) + count
        self._total += count

    def prune(self, now_s: int) -> None:
        start = now_s - WINDOW_S
        if not self._buckets or self._oldest >= start:
            return
        gone = [second for second in self._buckets if second < start]
        for second in gone:
            self._total -= self._buckets.pop(second)
        self._oldest = min(self._buckets, default=0)

    def used(self, now_s: int) -> int:
        if not self._buckets or self._oldest >= now_s - WINDOW_S:
            return self._total
        return used(self._buckets, now_s)  # older buckets not yet dropped: a read does not

    def reset_s(self, now_s: int) -> int:
        """``window_reset_s``."""
        if not self._buckets:
            return now_s
        if self._oldest >= now_s - WINDOW_S:
            return self._oldest + WINDOW_S + 1
        return window_reset_s(self._buckets, now_s)


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
