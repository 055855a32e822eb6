"""The replay catalog cache (bounded, least recently used out, one load per
version however many ask at once) and the replay bound (refuses, never queues)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import cast

import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.service.catalogs import CatalogCache, Replays, ReplaySlots, replays_of


def fake(name: str) -> Catalog:
    return cast(Catalog, SimpleNamespace(version=name))


class Loader:
    def __init__(self, *, gate: threading.Event | None = None) -> None:
        self.calls: list[str] = []
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self, version: str) -> Catalog | None:
        with self.lock:
            self.calls.append(version)
        if self.gate is not None:
            self.gate.wait(5)
        return None if version == "absent" else fake(version)


def test_the_cache_keeps_the_most_recently_used_versions() -> None:
    cache, load = CatalogCache(capacity=2), Loader()
    a = cache.get("a", load)
    assert cache.get("a", load) is a
    cache.get("b", load)
    cache.get("a", load)  # a is now the most recently used
    cache.get("c", load)  # b goes
    assert cache.versions() == ["a", "c"]
    assert load.calls == ["a", "b", "c"]
    cache.get("b", load)
    assert load.calls == ["a", "b", "c", "b"]
    assert cache.versions() == ["c", "b"]
    cache.put(fake("d"))  # one at hand: kept without a load
    found = cache.get("d", load)
    assert found is not None and found.version == "d"
    assert cache.versions() == ["b", "d"] and len(load.calls) == 4


def test_a_version_asked_for_at_once_is_loaded_once() -> None:
    gate = threading.Event()
    cache, load = CatalogCache(), Loader(gate=gate)
    found: list[Catalog | None] = []
    threads = [
        threading.Thread(target=lambda: found.append(cache.get("v", load))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert load.calls == ["v"]
    assert len(found) == 8 and all(catalog is found[0] for catalog in found)


def test_a_version_not_stored_is_not_remembered_and_a_failed_load_is_retried() -> None:
    cache, load = CatalogCache(), Loader()
    assert cache.get("absent", load) is None
    assert cache.get("absent", load) is None
    assert load.calls == ["absent", "absent"]

    def broken(version: str) -> Catalog | None:
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        cache.get("v", broken)
    assert cache.get("v", load) is not None
    assert cache.versions() == ["v"]


def test_slots_refuse_beyond_the_limit_and_admit_again_once_freed() -> None:
    slots = ReplaySlots(limit=2)
    with slots.slot() as first, slots.slot() as second:
        assert first and second
        with slots.slot() as third:
            assert third is False
    assert slots.refused == 1
    with slots.slot() as again:
        assert again
    with pytest.raises(ValueError, match="at least one"):
        ReplaySlots(limit=0)


def test_replays_are_made_once_per_holder() -> None:
    holder, other = SimpleNamespace(), SimpleNamespace()
    made = replays_of(holder)
    assert isinstance(made, Replays)
    assert replays_of(holder) is made
    assert replays_of(other) is not made
