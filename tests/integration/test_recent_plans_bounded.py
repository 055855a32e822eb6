"""Memory that stays flat (issue 15): the service holds a routed decision's
whole plan only until its writer has committed it, then only the fingerprint
of the body that asked for it, and at most so many of those. What a user
sees does not change:

- an outcome reported before the writer committed the decision still finds
  its plan (and stores it), and one reported after finds it in the store;
- a retry under the same request id gets the same decision, before and after
  the commit (after it, from the store, snapshot included when asked for);
  another body under that id is still a 409;
- a retry of a decision that left memory whole and is not in the store yet
  answers 503 to retry, never a second decision under the same id;
- however many routes, the cache holds a bounded number of fingerprints and
  no whole plan once the writer has caught up.

On the real SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from modelrouter.service.app import build_state, create_app
from modelrouter.service.state import RecentPlans, ServiceState
from modelrouter.store.repository import Repository

ROUTE = {"model": "gpt-4o-mini", "input_tokens": 1200, "max_output_tokens": 300}
Keys = dict[str, dict[str, str]]


@pytest.fixture
def state(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServiceState]:
    """A service on the database (``engine`` has emptied its tables)."""
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    service = build_state(database_url=database_url, directory=tmp_path)
    yield service
    service.close()


@pytest.fixture
def client(state: ServiceState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        yield test_client


@pytest.fixture
def gateway(state: ServiceState) -> dict[str, str]:
    return {"Authorization": f"Bearer {state.keys.create('gateway', None)}"}


class GatedRepository:
    """The writer's repository, whose commits wait until the gate opens: a
    decision acknowledged (in the journal) and not in the database yet."""

    def __init__(self, real: Repository) -> None:
        self.real = real
        self.gate = threading.Event()

    def save_decisions(self, rows: list[dict[str, Any]]) -> int:
        self.gate.wait(30)
        return self.real.save_decisions(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _route(client: TestClient, key: dict[str, str], **extra: Any) -> dict[str, Any]:
    answer = client.post("/v1/route", json={**ROUTE, **extra}, headers=key)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _without_repeat(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "repeat"}


def _use(state: ServiceState, recent: RecentPlans) -> None:
    state.recent = recent
    state.writer.on_committed = recent.committed


def test_a_committed_decision_leaves_memory_and_still_answers_retries_and_outcomes(
    client: TestClient, state: ServiceState, gateway: dict[str, str]
) -> None:
    first = _route(client, gateway, tenant_id="acme", request_id="kept-1")
    decision = first["decision_id"]
    assert first["repeat"] is False
    assert state.writer.flush()
    # The store holds it: memory keeps the body's fingerprint only.
    assert state.repository.load_decision(decision) is not None
    assert state.recent.get(decision) is None
    seen = state.recent.entry(decision)
    assert seen is not None and seen[0] is None

    # A retry under the same request id: the same decision, from the store.
    again = _route(client, gateway, tenant_id="acme", request_id="kept-1")
    assert again["repeat"] is True
    assert _without_repeat(again) == _without_repeat(first)
    with_snapshot = client.post(
        "/v1/route?include=snapshot",
        json={**ROUTE, "tenant_id": "acme", "request_id": "kept-1"},
        headers=gateway,
    )
    assert with_snapshot.status_code == 200, with_snapshot.text
    snapshot = with_snapshot.json()["snapshot"]
    assert snapshot["decision_id"] == decision
    assert snapshot["plan_hash"] == first["plan_hash"]
    assert snapshot["output"] == _without_repeat(first)
    assert state.repository.load_decision(decision) is not None  # not stored twice: one row
    # Another body under that id is still refused.
    reused = client.post(
        "/v1/route",
        json={**ROUTE, "tenant_id": "acme", "request_id": "kept-1", "max_output_tokens": 200},
        headers=gateway,
    )
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["decision_id"] == decision

    # Its outcome settles from the store.
    outcome = client.post(
        f"/v1/decisions/{decision}/outcome",
        json={"usage": {"input_tokens": 1000, "output_tokens": 100}},
        headers=gateway,
    )
    assert outcome.status_code == 200, outcome.text
    assert outcome.json()["duplicate"] is False
    shown = client.get(f"/v1/decisions/{decision}", headers=gateway)
    assert shown.status_code == 200 and shown.json()["actual_cost"] is not None


def test_before_the_commit_the_whole_plan_answers_outcomes_and_retries(
    client: TestClient, state: ServiceState, gateway: dict[str, str]
) -> None:
    gated = GatedRepository(state.repository)
    state.writer.repository = gated  # type: ignore[assignment]
    try:
        first = _route(client, gateway, tenant_id="acme", request_id="early-1")
        decision = first["decision_id"]
        assert state.repository.load_decision(decision) is None  # acknowledged, not committed
        assert state.recent.get(decision) is not None
        again = _route(client, gateway, tenant_id="acme", request_id="early-1")
        assert again["repeat"] is True and _without_repeat(again) == _without_repeat(first)
        shown = client.get(f"/v1/decisions/{decision}", headers=gateway)
        assert shown.status_code == 200 and shown.json()["status"] == "routed"
        # The outcome finds the plan in memory and stores it on the spot.
        outcome = client.post(
            f"/v1/decisions/{decision}/outcome",
            json={"usage": {"input_tokens": 1000, "output_tokens": 100}},
            headers=gateway,
        )
        assert outcome.status_code == 200, outcome.text
        assert state.repository.load_decision(decision) is not None
    finally:
        gated.gate.set()
    assert state.writer.flush()
    assert state.recent.get(decision) is None  # the writer's commit let it go
    later = _route(client, gateway, tenant_id="acme", request_id="early-1")
    assert later["repeat"] is True and _without_repeat(later) == _without_repeat(first)


def test_a_retry_of_a_decision_neither_whole_in_memory_nor_stored_answers_503(
    client: TestClient, state: ServiceState, gateway: dict[str, str]
) -> None:
    """A database away for long: more decisions await their commit than memory
    keeps whole. A retry of one that kept its fingerprint only is asked to
    retry later, and gets its one decision once the store has it."""
    _use(state, RecentPlans(limit=100, pending_limit=2))
    gated = GatedRepository(state.repository)
    state.writer.repository = gated  # type: ignore[assignment]
    try:
        plans = [_route(client, gateway, request_id=f"held-{i}") for i in range(4)]
        assert state.recent.whole == 2
        oldest = plans[0]
        assert state.recent.get(oldest["decision_id"]) is None
        wait = client.post("/v1/route", json={**ROUTE, "request_id": "held-0"}, headers=gateway)
        assert wait.status_code == 503, wait.text
        assert wait.json()["error"]["code"] == "decision_not_stored_yet"
        assert wait.headers["Retry-After"]
        newest = _route(client, gateway, request_id="held-3")  # still whole: answered at once
        assert newest["repeat"] is True
        assert _without_repeat(newest) == _without_repeat(plans[3])
    finally:
        gated.gate.set()
    assert state.writer.flush()
    assert state.recent.whole == 0
    answered = _route(client, gateway, request_id="held-0")
    assert answered["repeat"] is True and _without_repeat(answered) == _without_repeat(oldest)


def test_the_cache_stays_bounded_under_many_routes(
    client: TestClient, state: ServiceState, gateway: dict[str, str]
) -> None:
    _use(state, RecentPlans(limit=50, pending_limit=20))
    plans = [_route(client, gateway, request_id=f"many-{i}") for i in range(200)]
    assert len(state.recent) == 50
    assert state.recent.whole <= 20
    assert state.writer.flush()
    assert state.recent.whole == 0  # everything committed: no whole plan is held
    assert len(state.recent) == 50
    assert len(state.routing) == 0
    # The most recent ones still repeat their decision.
    again = _route(client, gateway, request_id="many-199")
    assert again["repeat"] is True and _without_repeat(again) == _without_repeat(plans[-1])


def test_the_default_cache_holds_no_whole_plan_once_the_writer_caught_up(
    client: TestClient, state: ServiceState, gateway: dict[str, str]
) -> None:
    for i in range(300):
        _route(client, gateway, request_id=f"flat-{i}")
    assert state.writer.flush()
    assert len(state.recent) == 300
    assert state.recent.whole == 0
