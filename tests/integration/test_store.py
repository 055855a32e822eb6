"""Persistence, run on SQLite and on the real PostgreSQL with the same assertions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from modelrouter.catalog.index import Catalog
from modelrouter.errors import StaleWrite
from modelrouter.policy.document import PolicyDocument, parse_policy
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from modelrouter.routing.replay import replay
from modelrouter.store.database import upgrade
from modelrouter.store.repository import Repository, decision_row
from modelrouter.store.writer import DecisionWriter
from modelrouter.types import RoutingPlan
from tests.conftest import small_document

START = datetime(2026, 6, 1, 12, tzinfo=UTC)


def clock_from(start: datetime) -> Callable[[], datetime]:
    moments = iter(start + timedelta(seconds=i) for i in range(10**6))
    return lambda: next(moments)


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.from_layers([("small", small_document())])


def route_many(
    router: Router, count: int, tenant: str = "t1", tenant_policy: PolicyDocument | None = None
) -> list[RoutingPlan]:
    return [
        router.route(
            {
                "model": "smart",
                "input_tokens": 1000 + i,
                "max_output_tokens": 200,
                "tenant_id": tenant,
                "request_id": f"{tenant}-{i}",
            },
            tenant_policy=tenant_policy,
        )
        for i in range(count)
    ]


def test_migrations_apply_once_and_create_every_table(engine: Engine) -> None:
    upgrade(engine)  # a second time changes nothing
    tables = set(inspect(engine).get_table_names())
    assert {
        "inference_requests",
        "tenants",
        "catalog_versions",
        "platform_policies",
        "budget_spend",
        "budget_reservations",
        "snapshot_parts",
        "alembic_version",
    } <= tables


def test_decisions_round_trip_and_never_duplicate(repository: Repository, catalog: Catalog) -> None:
    router = Router(catalog, clock=clock_from(START))
    plans = route_many(router, 3)
    rows = [decision_row(plan) for plan in plans]
    assert repository.save_decisions(rows) == 3
    assert repository.save_decisions(rows) == 0  # the same batch again: stored once
    stored = repository.load_decision(plans[1].decision_id)
    assert stored is not None
    assert stored.plan["plan_hash"] == plans[1].plan_hash
    assert stored.created_at == plans[1].timestamp
    assert RoutingPlan.from_dict(stored.plan).plan_hash == plans[1].plan_hash
    assert replay(stored.snapshot, catalog).matched
    assert repository.count_decisions() == 3
    assert repository.load_decision("dec_missing") is None


def test_repeated_outcomes_leave_one_actual_cost(repository: Repository, catalog: Catalog) -> None:
    router = Router(catalog, clock=clock_from(START))
    [plan] = route_many(router, 1)
    repository.save_decisions([decision_row(plan)])
    first = router.record_outcome(plan, Usage(input_tokens=1000, output_tokens=100))
    stored, new = repository.record_outcome(plan.decision_id, first)
    assert new and stored["total_usd"] == first.to_dict()["total_usd"]
    other = router.record_outcome(plan, Usage(input_tokens=1000, output_tokens=900))
    again, new = repository.record_outcome(plan.decision_id, other)
    assert not new and again == first.to_dict()
    decision = repository.load_decision(plan.decision_id)
    assert decision is not None and decision.status == "settled"
    assert decision.actual_cost is not None
    assert Decimal(decision.actual_cost["total_usd"]) == first.total_usd
    with pytest.raises(LookupError):
        repository.record_outcome("dec_missing", first)


def test_tenant_policy_needs_the_revision_it_read(repository: Repository) -> None:
    policy = parse_policy({"providers": {"deny": ["gamma"]}})
    assert repository.put_tenant_policy("acme", policy, expected_revision=None) == 1
    with pytest.raises(StaleWrite):
        repository.put_tenant_policy("acme", policy, expected_revision=None)
    stricter = parse_policy({"providers": {"deny": ["gamma", "beta"]}})
    assert repository.put_tenant_policy("acme", stricter, expected_revision=1) == 2
    with pytest.raises(StaleWrite, match="expected revision 1, current 2"):
        repository.put_tenant_policy("acme", policy, expected_revision=1)
    stored = repository.get_tenant_policy("acme")
    assert stored is not None and stored[0].version == stricter.version and stored[1] == 2
    assert repository.get_tenant_policy("nobody") is None


def test_platform_policy_history(repository: Repository) -> None:
    assert repository.get_platform_policy() is None
    first = parse_policy({"limits": {"max_fallbacks": 2}})
    second = parse_policy({"limits": {"max_fallbacks": 1}})
    repository.put_platform_policy(first)
    repository.put_platform_policy(second)
    current = repository.get_platform_policy()
    assert current is not None and current.version == second.version


def test_listing_by_tenant_and_time_with_a_cursor(repository: Repository, catalog: Catalog) -> None:
    router = Router(catalog, clock=clock_from(START))
    plans = route_many(router, 15, "a") + route_many(router, 10, "b")
    repository.save_decisions([decision_row(plan) for plan in plans])
    seen: list[str] = []
    cursor = None
    while True:
        page = repository.list_decisions(tenant="a", cursor=cursor, limit=4)
        seen += [d.id for d in page.decisions]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [plan.decision_id for plan in plans[:15]]
    window = repository.list_decisions(
        since=START + timedelta(seconds=14), until=START + timedelta(seconds=17), limit=100
    )
    assert [d.id for d in window.decisions] == [p.decision_id for p in plans[14:17]]


def test_replay_after_a_price_change_matches_every_stored_decision(
    repository: Repository, catalog: Catalog
) -> None:
    before = Router(catalog, clock=clock_from(START))
    repository.save_catalog(catalog)
    plans = route_many(before, 20)
    refreshed = catalog.layered(
        "price change",
        {
            "models": {
                "chat-large": {"deployments": {"beta": {"prices": {"input": "9", "output": "90"}}}}
            }
        },
    )
    assert refreshed.version != catalog.version
    assert repository.save_catalog(refreshed) is True
    assert repository.save_catalog(refreshed) is False  # never overwritten
    after = Router(refreshed, clock=clock_from(START + timedelta(hours=1)))
    plans += route_many(after, 20, "t2")
    repository.save_decisions([decision_row(plan) for plan in plans])
    matched = 0
    for stored in repository.iter_decisions(page=7):
        version = stored.snapshot["inputs"]["catalog_version"]
        used = repository.load_catalog(version)
        assert used is not None
        assert replay(stored.snapshot, used).matched
        matched += 1
    assert matched == 40


def test_writer_commits_in_batches_off_the_hot_path(
    repository: Repository, catalog: Catalog, tmp_path: Path
) -> None:
    router = Router(catalog, clock=clock_from(START))
    with DecisionWriter(repository, tmp_path / "spool.jsonl", batch_size=50) as writer:
        for plan in route_many(router, 300):
            writer.submit(plan)
        assert writer.flush()
    assert repository.count_decisions() == 300
    assert writer.stats.acknowledged == 300 and writer.stats.spooled == 0
    assert writer.stats.batches < 300


def test_concurrent_acknowledgements_all_return_once_durable(
    repository: Repository, catalog: Catalog, tmp_path: Path
) -> None:
    # A group commit settles every waiting request with one wake-up of the
    # loop: none may be left waiting, none settled before its line is on disk.
    router = Router(catalog, clock=clock_from(START))
    plans = route_many(router, 200)
    with DecisionWriter(repository, tmp_path / "spool.jsonl") as writer:

        async def all_of_them() -> None:
            await asyncio.wait_for(
                asyncio.gather(*(writer.acknowledge(plan) for plan in plans)), timeout=30
            )

        asyncio.run(all_of_them())
        assert writer.stats.acknowledged == 200
        assert writer.flush()
    assert repository.count_decisions() == 200


def test_a_closed_event_loop_does_not_stop_the_journal(
    repository: Repository, catalog: Catalog, tmp_path: Path
) -> None:
    # A request given up on while its decision was being journaled, and its
    # loop closed (a worker shutting down, a test torn down): the journal
    # must go on acknowledging everyone else.
    router = Router(catalog, clock=clock_from(START))
    first, second = route_many(router, 2)
    with DecisionWriter(repository, tmp_path / "spool.jsonl") as writer:
        loop = asyncio.new_event_loop()
        with writer.journal._lock:  # the next group commit waits for the disk
            with pytest.raises(TimeoutError):
                loop.run_until_complete(asyncio.wait_for(writer.acknowledge(first), 0.2))
            loop.close()
        writer.submit(second, timeout=10)  # answered: the journal thread lives
        assert writer.flush()
    # The given-up decision was journaled all the same: nothing durable is lost.
    assert repository.count_decisions() == 2


def test_writer_drains_a_spool_left_by_an_earlier_run(
    repository: Repository, catalog: Catalog, tmp_path: Path
) -> None:
    router = Router(catalog, clock=clock_from(START))
    spool = tmp_path / "spool.jsonl"
    plans = route_many(router, 5)
    spool.write_text(
        "".join(json.dumps(decision_row(p)) + "\n" for p in plans) + '{"torn', encoding="utf-8"
    )
    with DecisionWriter(repository, spool):
        pass
    assert repository.count_decisions() == 5
    assert not spool.exists()
