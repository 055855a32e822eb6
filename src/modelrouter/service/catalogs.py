"""What replay needs beyond the catalog in force, bounded so that replay cannot
starve routing.

Rebuilding a stored catalog costs ~0.6 s of CPU, and holds the interpreter
while it runs: eight replays of old-catalog decisions at once raised the route
p50 from 11 ms to 110 ms when each rebuilt its catalog. So:

- ``CatalogCache`` keeps the last few versions replay loaded (least recently
  used out first), and loads a version once however many replays ask for it
  at the same moment;
- ``ReplaySlots`` admits a few replays at a time: one more is refused at once
  (the route answers 429 with Retry-After) instead of queueing for the
  thread pool that the other endpoints share.

The cache is the service state's (``ServiceState.catalogs``, read through
``catalog_at``: replays and outcomes of older decisions share it); the slots
live on the application (``replays_of(app.state)``), made on first use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from modelrouter.catalog.index import Catalog

__all__ = [
    "CATALOGS_KEPT",
    "REPLAY_CONCURRENCY",
    "REPLAY_RETRY_AFTER_SECONDS",
    "CatalogCache",
    "ReplaySlots",
    "Replays",
    "replays_of",
]

# Catalog versions kept besides the one in force (each is ~10^5 objects).
CATALOGS_KEPT = 4
# Replays served at once by one process; one more answers 429.
REPLAY_CONCURRENCY = 2
REPLAY_RETRY_AFTER_SECONDS = 1


class CatalogCache:
    """The last ``capacity`` catalog versions loaded, by version."""

    def __init__(self, capacity: int = CATALOGS_KEPT) -> None:
        if capacity < 1:
            raise ValueError("a catalog cache keeps at least one version")
        self.capacity = capacity
        self.loads = 0
        self._catalogs: OrderedDict[str, Catalog] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _cached(self, version: str) -> Catalog | None:
        with self._lock:
            catalog = self._catalogs.get(version)
            if catalog is not None:
                self._catalogs.move_to_end(version)
            return catalog

    def get(self, version: str, load: Callable[[str], Catalog | None]) -> Catalog | None:
        """The catalog of ``version``: from memory, or ``load(version)`` (blocking;
        off the event loop). Concurrent calls for one version load it once; a
        version the store does not hold (None) is not remembered, so it is
        found once it is stored."""
        catalog = self._cached(version)
        if catalog is not None:
            return catalog
        with self._lock:
            gate = self._loading.setdefault(version, threading.Lock())
        with gate:
            catalog = self._cached(version)  # loaded meanwhile by whoever held the gate
            if catalog is not None:
                return catalog
            with self._lock:
                self.loads += 1
            try:
                catalog = load(version)
                if catalog is not None:
                    self.put(catalog)
            finally:
                with self._lock:
                    if self._loading.get(version) is gate:
                        del self._loading[version]
        return catalog

    def put(self, catalog: Catalog) -> None:
        """Keep a catalog already at hand (the one just replaced, say)."""
        with self._lock:
            self._catalogs[catalog.version] = catalog
            self._catalogs.move_to_end(catalog.version)
            while len(self._catalogs) > self.capacity:
                self._catalogs.popitem(last=False)

    def versions(self) -> list[str]:
        """Least recently used first."""
        with self._lock:
            return list(self._catalogs)


class ReplaySlots:
    """At most ``limit`` holders at once; one more is refused, never queued."""

    def __init__(self, limit: int = REPLAY_CONCURRENCY) -> None:
        if limit < 1:
            raise ValueError("at least one replay must be admitted")
        self.limit = limit
        self.refused = 0
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """``with slots.slot() as admitted:`` False when every slot is taken."""
        admitted = self._slots.acquire(blocking=False)
        if not admitted:
            self.refused += 1
        try:
            yield admitted
        finally:
            if admitted:
                self._slots.release()


class Replays:
    """The replay bound; the catalog versions replay loads are the state's
    (``ServiceState.catalog_at``), shared with outcomes of older decisions."""

    def __init__(self, *, concurrency: int = REPLAY_CONCURRENCY) -> None:
        self.slots = ReplaySlots(concurrency)


_made = threading.Lock()


def replays_of(holder: Any) -> Replays:
    """The replay cache and bound kept on ``holder`` (the app's ``state``),
    made on first use."""
    replays: Replays | None = getattr(holder, "replays", None)
    if replays is None:
        with _made:
            replays = getattr(holder, "replays", None)
            if replays is None:
                replays = Replays()
                holder.replays = replays
    return replays
