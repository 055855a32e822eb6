"""A stored decision names its policy stack's shared part instead of copying
it: one part row for every decision under that stack, rows without the
policy documents, and the snapshot read back equal to the one the plan
carried (key order included on SQLite; JSONB keeps no order), replaying to
the same plan. Rows stored whole, before this, read as they are."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, text

from modelrouter.catalog.index import Catalog
from modelrouter.policy.document import parse_policy
from modelrouter.router import Router
from modelrouter.routing.replay import replay
from modelrouter.store.repository import Repository, decision_row
from modelrouter.store.snapshot_parts import digest_of
from modelrouter.store.tables import InferenceRequest, SnapshotPart
from tests.conftest import small_document
from tests.integration.test_store import route_many

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
TENANT = parse_policy({"providers": {"deny": ["beta"]}})


def clock() -> Callable[[], datetime]:
    moments = iter(START + timedelta(seconds=i) for i in range(10**6))
    return lambda: next(moments)


def test_one_part_per_policy_stack_and_snapshots_read_back_whole(engine: Engine) -> None:
    catalog = Catalog.from_layers([("small", small_document())])
    router = Router(catalog, clock=clock())
    repository = Repository(engine)
    routed = route_many(router, 5, "t1") + route_many(router, 5, "t2", TENANT)
    assert repository.save_decisions([decision_row(p) for p in routed]) == 10

    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SnapshotPart)).scalar() == 2
        stored = connection.execute(select(InferenceRequest.routing_snapshot)).scalars().all()
    for snapshot in stored:
        assert "policy" not in snapshot["inputs"] and "effective_policy" not in snapshot["inputs"]
        assert snapshot["inputs"]["policy_ref"].startswith("sha256:")

    fresh = Repository(engine)  # no part cached: read from the table
    for plan in routed:
        found = fresh.load_decision(plan.decision_id)
        assert found is not None and plan.snapshot is not None
        assert found.snapshot == plan.snapshot
        if engine.dialect.name == "sqlite":
            assert json.dumps(found.snapshot) == json.dumps(plan.snapshot)
        assert replay(found.snapshot, catalog).matched
    page = fresh.list_decisions(limit=20)
    assert [d.snapshot for d in page.decisions] == [p.snapshot for p in routed]


def test_the_digest_is_the_stacks_and_a_retried_batch_adds_no_part(engine: Engine) -> None:
    catalog = Catalog.from_layers([("small", small_document())])
    router = Router(catalog, clock=clock())
    [plan] = route_many(router, 1, "t1")
    row = decision_row(plan)
    assert plan.snapshot is not None
    inputs = plan.snapshot["inputs"]
    shared = {"policy": inputs["policy"], "effective_policy": inputs["effective_policy"]}
    assert row["snapshot_part"]["digest"] == digest_of(shared)
    repository = Repository(engine)
    assert repository.save_decisions([row]) == 1
    assert Repository(engine).save_decisions([row]) == 0  # replayed journal: nothing twice
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SnapshotPart)).scalar() == 1


def test_a_row_stored_whole_reads_as_it_is(engine: Engine) -> None:
    catalog = Catalog.from_layers([("small", small_document())])
    router = Router(catalog, clock=clock())
    [plan] = route_many(router, 1, "t1")
    assert plan.snapshot is not None
    row = decision_row(plan)
    row.pop("snapshot_part")
    row["routing_snapshot"] = plan.snapshot  # as rows were written before parts
    Repository(engine).save_decisions([row])
    found = Repository(engine).load_decision(plan.decision_id)
    assert found is not None and found.snapshot == plan.snapshot
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM snapshot_parts")).scalar() == 0
