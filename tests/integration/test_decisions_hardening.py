"""The decision endpoints under the hardening issue, on the real SQLite and
PostgreSQL:

- 8: an outcome for a decision another instance routed but has not committed
  yet answers 503 ``decision_not_stored_yet`` with Retry-After (then settles
  once it is stored); a malformed id answers 404 at once, without a query; the
  routing instance settles its own in-flight decision without waiting on its
  writer.
- 9: old catalog versions are kept in a bounded cache (the second replay of
  an old-catalog decision loads no catalog); replays beyond the bound answer
  429 with Retry-After at once instead of queueing; replay runs off the event
  loop.
- 10: for a tenant key, another tenant's decision and a missing one answer
  the same 404 after the same statements, each filtered by tenant.
- 12: an outcome records where its usage came from (measured, partial,
  estimated, reported); the tenant spend endpoint shows the share of spend
  and of outcomes by source.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from modelrouter.catalog.index import Catalog
from modelrouter.pricing.cost import actual_cost
from modelrouter.pricing.usage import Usage
from modelrouter.routing.planner import decision_id_for
from modelrouter.service.app import build_state, create_app
from modelrouter.service.state import ServiceState
from modelrouter.store.repository import Repository, decision_row
from modelrouter.types import RoutingPlan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROUTE = {"model": "gpt-4o-mini", "input_tokens": 1200, "max_output_tokens": 300}
Keys = dict[str, dict[str, str]]


def _state(database_url: str, directory: Path) -> ServiceState:
    directory.mkdir(parents=True, exist_ok=True)
    return build_state(database_url=database_url, directory=directory)


@pytest.fixture
def state(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServiceState]:
    """A service on the database (``engine`` has emptied its tables)."""
    monkeypatch.delenv("MODELROUTER_NATS_URL", raising=False)
    service = _state(database_url, tmp_path / "a")
    yield service
    service.close()


@pytest.fixture
def client(state: ServiceState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        yield test_client


def _keys(state: ServiceState) -> Keys:
    def header(role: str, tenant: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {state.keys.create(role, tenant)}"}

    return {
        "admin": header("admin"),
        "gateway": header("gateway"),
        "acme": header("tenant", "acme"),
        "globex": header("tenant", "globex"),
    }


@pytest.fixture
def keys(state: ServiceState) -> Keys:
    return _keys(state)


def routed(client: TestClient, key: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/route", json={**ROUTE, **extra}, headers=key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class HeldWriter:
    """A writer that acknowledges decisions and stores none until released:
    the routing instance's commit still in flight."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.held: list[RoutingPlan] = []
        self.flushes = 0

    def submit(self, plan: RoutingPlan, **_: Any) -> None:
        self.held.append(plan)

    async def acknowledge(self, plan: RoutingPlan) -> None:
        self.held.append(plan)

    def flush(self, timeout: float = 30.0) -> bool:
        self.flushes += 1
        return True

    def release(self) -> None:
        self.real.repository.save_decisions([decision_row(plan) for plan in self.held])
        self.held.clear()

    def close(self, timeout: float = 30.0) -> None:
        self.real.close(timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class Statements:
    """SQL sent on an engine, with its parameters (a before_cursor_execute listener)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def _record(self, *args: Any) -> None:
        _, _, statement, parameters, _, _ = args
        with self.lock:
            self.seen.append((statement, parameters))

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def on_decisions(self) -> list[tuple[str, Any]]:
        with self.lock:
            return [(s, p) for s, p in self.seen if "inference_requests" in s]


def _values(parameters: Any) -> list[Any]:
    if isinstance(parameters, dict):
        return list(parameters.values())
    return list(parameters or ())


def _same_error(first: Any, second: Any, ids: tuple[str, str]) -> None:
    """Two answers that say the same thing but for the id asked about."""
    assert first.status_code == second.status_code
    a, b = first.json(), second.json()
    a["error"]["message"] = a["error"]["message"].replace(ids[0], "<id>")
    b["error"]["message"] = b["error"]["message"].replace(ids[1], "<id>")
    assert a == b
    assert set(a) == {"error"} and set(a["error"]) == {"code", "message"}


# -- 8: outcome timing across instances -------------------------------------------------


def test_an_outcome_for_a_decision_still_in_flight_elsewhere_answers_503_then_settles(
    state: ServiceState,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = _state(database_url, tmp_path / "b")
    held = HeldWriter(state.writer)
    monkeypatch.setattr(state, "writer", held)
    keys = _keys(state)
    try:
        with TestClient(create_app(state)) as routing, TestClient(create_app(other)) as settling:
            plan = routed(routing, keys["gateway"], tenant_id="acme")
            url = f"/v1/decisions/{plan['decision_id']}/outcome"
            usage = {"usage": {"input_tokens": 1000, "output_tokens": 100}}
            early = settling.post(url, json=usage, headers=keys["gateway"])
            assert early.status_code == 503, early.text
            assert early.json()["error"]["code"] == "decision_not_stored_yet"
            assert int(early.headers["Retry-After"]) >= 1
            assert "acme" not in early.text
            # Nothing was settled on the early report: the retry settles it once.
            held.release()
            late = settling.post(url, json=usage, headers=keys["gateway"])
            assert late.status_code == 200, late.text
            assert late.json()["duplicate"] is False
            again = settling.post(url, json=usage, headers=keys["gateway"])
            assert again.json()["duplicate"] is True
            assert again.json()["actual_cost"] == late.json()["actual_cost"]
            # An id the router cannot have made cannot be in flight: 404 at once.
            with Statements(other.engine) as sql:
                for malformed in (
                    "dec_nope",
                    "dec_" + "A" * 24,
                    "dec_" + "0" * 23,
                    "dec_" + "0" * 25,
                    "req_" + "0" * 24,
                ):
                    missing = settling.post(
                        f"/v1/decisions/{malformed}/outcome", json=usage, headers=keys["gateway"]
                    )
                    assert missing.status_code == 404, (malformed, missing.text)
                    assert missing.json()["error"]["code"] == "not_found"
                    assert "Retry-After" not in missing.headers
            assert sql.on_decisions() == []
    finally:
        other.close()


def test_outcomes_racing_the_writer_of_another_instance_never_answer_404(
    state: ServiceState, database_url: str, tmp_path: Path
) -> None:
    """The race of the finding: route on one instance, report at once to
    another while the router's writer is still committing. Every first answer
    is 200 or a 503 to retry, never a 404; the retries all settle."""
    other = _state(database_url, tmp_path / "b")
    keys = _keys(state)
    first: dict[int, int] = {}
    try:
        with TestClient(create_app(state)) as routing, TestClient(create_app(other)) as settling:
            for index in range(40):
                plan = routed(routing, keys["gateway"], tenant_id="acme", request_id=f"r{index}")
                url = f"/v1/decisions/{plan['decision_id']}/outcome"
                body = {"usage": {"input_tokens": 1000, "output_tokens": 100}}
                answer = settling.post(url, json=body, headers=keys["gateway"])
                first[answer.status_code] = first.get(answer.status_code, 0) + 1
                for _ in range(200):  # the gateway's bounded retries, 10 ms apart here
                    if answer.status_code != 503:
                        break
                    assert answer.headers["Retry-After"]
                    time.sleep(0.01)
                    answer = settling.post(url, json=body, headers=keys["gateway"])
                assert answer.status_code == 200, answer.text
    finally:
        other.close()
    assert set(first) <= {200, 503}, first


def test_the_routing_instance_settles_its_own_in_flight_decision_without_waiting(
    state: ServiceState, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldWriter(state.writer)
    monkeypatch.setattr(state, "writer", held)
    keys = _keys(state)
    with TestClient(create_app(state)) as client:
        plan = routed(client, keys["gateway"], tenant_id="acme")
        assert state.repository.load_decision(plan["decision_id"]) is None
        started = time.perf_counter()
        answer = client.post(
            f"/v1/decisions/{plan['decision_id']}/outcome",
            json={"usage": {"input_tokens": 1000, "output_tokens": 100}},
            headers=keys["gateway"],
        )
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        assert held.flushes == 0, "the outcome waited on the writer"
        assert elapsed < 1.0
        stored = state.repository.load_decision(plan["decision_id"])
        assert stored is not None and stored.status == "settled"
        # The writer's own insert, when it comes, skips the row already there.
        held.release()
        assert state.repository.count_decisions() == 1


# -- 9: replay as a denial of service ------------------------------------------------------


def _old_catalog_decision(client: TestClient, state: ServiceState, key: dict[str, str]) -> str:
    """A decision routed on the catalog in force, which is then replaced."""
    plan = routed(client, key)
    state.writer.flush()
    alias = f"zz-test-{len(state.catalog.aliases)}"  # a new version each time
    newer = state.catalog.layered("test", {"aliases": {alias: ["openai/gpt-4o-mini"]}})
    state.repository.save_catalog(newer)
    state.use_catalog(newer)
    decision: str = plan["decision_id"]
    return decision


def test_a_second_replay_of_an_old_catalog_decision_loads_no_catalog(
    client: TestClient, state: ServiceState, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    decision = _old_catalog_decision(client, state, keys["admin"])
    loads: list[str] = []
    original = Repository.load_catalog

    def counted(self: Repository, version: str) -> Catalog | None:
        loads.append(version)
        return original(self, version)

    monkeypatch.setattr(Repository, "load_catalog", counted)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        answer = client.post(f"/v1/decisions/{decision}/replay", headers=keys["admin"])
        timings.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
        assert answer.json()["matched"] is True
    assert len(loads) == 1, loads
    assert max(timings[1:]) < timings[0]
    # The tenant's own replay of it is served from the same cache.
    mine = _old_catalog_decision(client, state, keys["acme"])
    assert client.post(f"/v1/decisions/{mine}/replay", headers=keys["acme"]).status_code == 200
    assert client.post(f"/v1/decisions/{mine}/replay", headers=keys["acme"]).status_code == 200
    assert len(loads) == 2, loads


def test_replays_beyond_the_bound_answer_429_at_once(
    client: TestClient, state: ServiceState, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelrouter.service.catalogs import REPLAY_CONCURRENCY

    decision = _old_catalog_decision(client, state, keys["admin"])
    release = threading.Event()
    original = Repository.load_catalog

    def slow(self: Repository, version: str) -> Catalog | None:
        release.wait(10)  # a catalog being rebuilt: ~0.6 s in production
        return original(self, version)

    monkeypatch.setattr(Repository, "load_catalog", slow)
    app = client.app
    extra = 6

    async def scenario() -> tuple[list[httpx.Response], list[httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            tasks = [
                asyncio.create_task(
                    http.post(f"/v1/decisions/{decision}/replay", headers=keys["admin"])
                )
                for _ in range(REPLAY_CONCURRENCY + extra)
            ]
            deadline = time.monotonic() + 5
            while sum(t.done() for t in tasks) < extra and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            early = [t.result() for t in tasks if t.done()]
            release.set()
            every = await asyncio.gather(*tasks)
            return early, list(every)

    try:
        early, every = asyncio.run(scenario())
    finally:
        release.set()
    assert len(early) == extra, "replays over the bound queued instead of being refused"
    for refused in early:
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "replay_busy"
        assert int(refused.headers["Retry-After"]) >= 1
    statuses = sorted(response.status_code for response in every)
    assert statuses == [200] * REPLAY_CONCURRENCY + [429] * extra
    # Once the bound is free again, a replay is served.
    assert client.post(f"/v1/decisions/{decision}/replay", headers=keys["admin"]).status_code == 200


def test_replay_runs_off_the_event_loop(
    client: TestClient, state: ServiceState, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelrouter.service.routes import decisions

    decision = _old_catalog_decision(client, state, keys["admin"])
    on_loop: list[bool] = []
    for name in ("replay",):
        original = getattr(decisions, name)

        def watched(*args: Any, _original: Any = original) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop.append(True)
            except RuntimeError:
                on_loop.append(False)
            return _original(*args)

        monkeypatch.setattr(decisions, name, watched)
    original_load = Repository.load_catalog

    def load(self: Repository, version: str) -> Catalog | None:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return original_load(self, version)

    monkeypatch.setattr(Repository, "load_catalog", load)
    assert client.post(f"/v1/decisions/{decision}/replay", headers=keys["admin"]).status_code == 200
    assert on_loop == [False, False]


# -- 10: existence through timing --------------------------------------------------------


def test_a_tenant_key_gets_the_same_answer_for_another_tenants_id_and_a_missing_one(
    client: TestClient, state: ServiceState, keys: Keys
) -> None:
    theirs = routed(client, keys["globex"])["decision_id"]
    state.writer.flush()
    missing = decision_id_for("globex", "never-routed")
    for method, path in [("GET", ""), ("POST", "/replay")]:
        answers, issued = [], []
        for decision in (theirs, missing):
            with Statements(state.engine) as sql:
                answers.append(
                    client.request(method, f"/v1/decisions/{decision}{path}", headers=keys["acme"])
                )
            issued.append(sql.on_decisions())
        assert answers[0].status_code == 404, answers[0].text
        _same_error(answers[0], answers[1], (theirs, missing))
        # The same work on both paths: one query each, filtered by tenant.
        assert len(issued[0]) == len(issued[1]) == 1, issued
        for statement, parameters in issued[0] + issued[1]:
            where = statement.partition("WHERE")[2]
            assert re.search(r"inference_requests\.tenant_id\s*=", where), statement
            assert "acme" in _values(parameters), parameters
    # A tenant key may not report outcomes: the same refusal, and no query, either way.
    answers, issued = [], []
    for decision in (theirs, missing):
        with Statements(state.engine) as sql:
            answers.append(
                client.post(
                    f"/v1/decisions/{decision}/outcome",
                    json={"usage": {"input_tokens": 1}},
                    headers=keys["acme"],
                )
            )
        issued.append(sql.on_decisions())
    assert answers[0].status_code == 403
    _same_error(answers[0], answers[1], (theirs, missing))
    assert issued == [[], []]
    # The owner still sees and replays it; an admin key is not filtered.
    assert client.get(f"/v1/decisions/{theirs}", headers=keys["globex"]).status_code == 200
    assert client.post(f"/v1/decisions/{theirs}/replay", headers=keys["globex"]).status_code == 200
    with Statements(state.engine) as sql:
        assert client.get(f"/v1/decisions/{theirs}", headers=keys["admin"]).status_code == 200
    [(statement, _)] = sql.on_decisions()
    assert "tenant_id =" not in statement.partition("WHERE")[2]


def test_a_tenant_filtered_load_finds_only_the_tenants_decisions(
    client: TestClient, state: ServiceState, keys: Keys
) -> None:
    theirs = routed(client, keys["globex"])["decision_id"]
    state.writer.flush()
    repository = state.repository
    assert repository.load_decision(theirs, tenant="acme") is None
    found = repository.load_decision(theirs, tenant="globex")
    assert found is not None and found.tenant_id == "globex"
    assert repository.load_decision(theirs) is not None


# -- 12: usage that says where it came from -----------------------------------------------


def _outcome(client: TestClient, key: dict[str, str], decision: str, **body: Any) -> Any:
    answer = client.post(f"/v1/decisions/{decision}/outcome", json=body, headers=key)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_outcome_records_where_its_usage_came_from(
    client: TestClient, state: ServiceState, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    taught: list[Any] = []
    monkeypatch.setattr(state.learner, "observe", lambda *args: taught.append(args))
    gateway = keys["gateway"]
    raw = json.loads((FIXTURES / "responses" / "anthropic_message_cache_1h.json").read_text())
    plans = [routed(client, gateway, tenant_id="acme", model="claude-sonnet-4-5") for _ in range(5)]
    measured_raw = _outcome(client, gateway, plans[0]["decision_id"], usage=raw, api="anthropic")
    measured = _outcome(
        client, gateway, plans[1]["decision_id"], usage={"input_tokens": 900, "output_tokens": 80}
    )
    partial = _outcome(
        client,
        gateway,
        plans[2]["decision_id"],
        usage={"input_tokens": 900, "output_tokens": 12},
        usage_source="partial",
        status="error",
        error_class="stream_cut",
    )
    reported = _outcome(
        client,
        gateway,
        plans[3]["decision_id"],
        usage={"input_tokens": 5, "output_tokens": 5},
        usage_source="reported",
    )
    served = plans[4]["fallbacks"][0] if plans[4]["fallbacks"] else plans[4]["primary"]
    estimated = _outcome(client, gateway, plans[4]["decision_id"], deployment=served["deployment"])
    assert [a["actual_cost"]["usage_source"] for a in (measured_raw, measured)] == [
        "measured",
        "measured",
    ]
    assert partial["actual_cost"]["usage_source"] == "partial"
    assert reported["actual_cost"]["usage_source"] == "reported"
    assert estimated["actual_cost"]["usage_source"] == "estimated"
    # Settled at the served hop's estimate: its input tokens and expected reply.
    estimate = served["estimate"]
    assert estimated["actual_cost"]["deployment"] == served["deployment"]
    assert estimated["actual_cost"]["usage"]["input_tokens"] == estimate["input_tokens"]
    assert estimated["actual_cost"]["usage"]["output_tokens"] == estimate["expected_output_tokens"]
    stored_plan = state.repository.load_decision(plans[4]["decision_id"])
    assert stored_plan is not None
    plan = RoutingPlan.from_dict(stored_plan.plan)
    expected = actual_cost(
        state.catalog.deployments[served["deployment"]],
        Usage(
            input_tokens=estimate["input_tokens"],
            output_tokens=estimate["expected_output_tokens"],
        ),
        at=plan.timestamp,
        catalog_version=state.catalog.version,
        context=dict(plan.price_context),
    )
    assert Decimal(estimated["actual_cost"]["total_usd"]) == expected.total_usd
    assert Decimal(estimated["actual_cost"]["total_usd"]) == Decimal(estimate["expected_usd"])
    # Stored with the cost, beside the gateway's report.
    stored = state.repository.load_decision(plans[2]["decision_id"])
    assert stored is not None and stored.actual_cost is not None
    assert stored.actual_cost["usage_source"] == "partial"
    assert stored.actual_cost["report"] == {"status": "error", "error_class": "stream_cut"}
    # Only whole replies teach the learner its reply lengths.
    assert [args[1] for args in taught] == [
        measured_raw["actual_cost"]["usage"]["output_tokens"],
        80,
        5,
    ]


def test_an_outcome_refuses_a_usage_source_that_contradicts_its_body(
    client: TestClient, keys: Keys
) -> None:
    plan = routed(client, keys["gateway"], tenant_id="acme")
    url = f"/v1/decisions/{plan['decision_id']}/outcome"
    for body in (
        {"usage_source": "measured"},
        {"usage_source": "partial"},
        {"usage_source": "reported"},
        {"usage": {"input_tokens": 10}, "usage_source": "estimated"},
        {"usage": {"input_tokens": 10}, "usage_source": "guessed"},
    ):
        refused = client.post(url, json=body, headers=keys["gateway"])
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["field"] == "usage_source", refused.text


def test_tenant_spend_shows_shares_by_usage_source(
    client: TestClient, state: ServiceState, keys: Keys
) -> None:
    gateway = keys["gateway"]
    plans = [routed(client, gateway, tenant_id="acme") for _ in range(4)]
    routed(client, gateway, tenant_id="acme")  # routed, never settled: not counted
    answers = [
        _outcome(client, gateway, plans[0]["decision_id"], usage={"input_tokens": 3000}),
        _outcome(
            client,
            gateway,
            plans[1]["decision_id"],
            usage={"input_tokens": 1000, "output_tokens": 100},
        ),
        _outcome(
            client,
            gateway,
            plans[2]["decision_id"],
            usage={"input_tokens": 1000, "output_tokens": 5},
            usage_source="partial",
        ),
        _outcome(client, gateway, plans[3]["decision_id"]),
    ]
    theirs = routed(client, gateway, tenant_id="globex")
    _outcome(client, gateway, theirs["decision_id"], usage={"input_tokens": 10**6})
    totals = [Decimal(a["actual_cost"]["total_usd"]) for a in answers]
    total = sum(totals, Decimal(0))
    for key in (keys["acme"], keys["admin"]):
        spend = client.get("/v1/tenants/acme/spend", headers=key)
        assert spend.status_code == 200, spend.text
        sources = spend.json()["usage_sources"]
        assert sources["outcomes"] == 4
        assert Decimal(sources["spent_usd"]) == total
        by = sources["by_source"]
        assert set(by) == {"measured", "partial", "estimated", "reported"}
        assert by["measured"]["outcomes"] == 2
        assert Decimal(by["measured"]["spent_usd"]) == totals[0] + totals[1]
        assert Decimal(by["partial"]["spent_usd"]) == totals[2]
        assert Decimal(by["estimated"]["spent_usd"]) == totals[3]
        assert by["reported"] == {
            "outcomes": 0,
            "outcome_share": "0",
            "spent_usd": "0",
            "spend_share": "0",
        }
        assert by["measured"]["outcome_share"] == "0.5"
        assert by["estimated"]["outcome_share"] == "0.25"
        share = Decimal(by["estimated"]["spend_share"])
        assert abs(share - totals[3] / total) < Decimal("0.0001")
        assert sum(Decimal(b["outcome_share"]) for b in by.values()) == 1
    # A window that ends before them counts none.
    early = client.get(
        "/v1/tenants/acme/spend",
        params={"since": "2001-01-01T00:00:00Z", "until": "2001-02-01T00:00:00Z"},
        headers=keys["admin"],
    ).json()["usage_sources"]
    assert early["outcomes"] == 0 and early["spent_usd"] == "0"
    assert early["by_source"]["measured"]["spend_share"] == "0"
