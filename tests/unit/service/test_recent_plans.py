"""The service's recent plans: whole until committed, then a fingerprint only;
bounded in both; oldest first out."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import cast

from modelrouter.service.state import RecentPlans
from modelrouter.types import RoutingPlan


def plan(decision_id: str) -> RoutingPlan:
    return cast(RoutingPlan, SimpleNamespace(decision_id=decision_id))


def test_a_plan_is_whole_until_committed_then_only_its_fingerprint_is_kept() -> None:
    recent = RecentPlans()
    first = plan("dec_1")
    recent.put(first, b"mark-1")
    assert recent.get("dec_1") is first
    assert recent.entry("dec_1") == (first, b"mark-1")
    recent.committed(["dec_1", "dec_unknown"])
    assert recent.get("dec_1") is None
    assert recent.entry("dec_1") == (None, b"mark-1")
    assert len(recent) == 1 and recent.whole == 0
    assert recent.entry("dec_unknown") is None


def test_discard_forgets_a_decision_that_was_never_answered() -> None:
    recent = RecentPlans()
    recent.put(plan("dec_1"), b"mark")
    recent.discard("dec_1")
    assert recent.entry("dec_1") is None and len(recent) == 0 and recent.whole == 0
    recent.discard("dec_1")  # twice is harmless


def test_fingerprints_are_bounded_oldest_first_out_and_take_their_plans_along() -> None:
    recent = RecentPlans(limit=3, pending_limit=3)
    for index in range(5):
        recent.put(plan(f"dec_{index}"), f"mark-{index}".encode())
    assert len(recent) == 3 and recent.whole == 3
    assert recent.entry("dec_0") is None and recent.entry("dec_1") is None
    assert [recent.entry(f"dec_{i}") is not None for i in range(2, 5)] == [True] * 3


def test_whole_plans_are_bounded_the_oldest_keep_their_fingerprint() -> None:
    recent = RecentPlans(limit=10, pending_limit=2)
    for index in range(4):
        recent.put(plan(f"dec_{index}"), f"mark-{index}".encode())
    assert recent.whole == 2 and len(recent) == 4
    assert recent.entry("dec_0") == (None, b"mark-0")
    assert recent.get("dec_3") is not None and recent.get("dec_2") is not None


def test_a_decision_put_again_is_the_newest() -> None:
    recent = RecentPlans(limit=2)
    recent.put(plan("dec_a"), b"a")
    recent.put(plan("dec_b"), b"b")
    recent.put(plan("dec_a"), b"a2")  # routed afresh after its first try failed
    recent.put(plan("dec_c"), b"c")
    assert recent.entry("dec_b") is None
    entry = recent.entry("dec_a")
    assert entry is not None and entry[1] == b"a2"


def test_commits_from_another_thread_while_routes_put() -> None:
    recent = RecentPlans(limit=1_000, pending_limit=1_000)
    ids = [f"dec_{index}" for index in range(2_000)]

    def commit() -> None:
        for start in range(0, len(ids), 50):
            recent.committed(ids[start : start + 50])

    for decision_id in ids[:1_000]:
        recent.put(plan(decision_id), b"m")
    thread = threading.Thread(target=commit)
    thread.start()
    for decision_id in ids[1_000:]:
        recent.put(plan(decision_id), b"m")
    thread.join()
    recent.committed(ids)
    assert len(recent) == 1_000 and recent.whole == 0
