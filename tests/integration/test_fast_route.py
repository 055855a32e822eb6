"""The fast ``POST /v1/route`` answers exactly what the declared route answers.

Each generated request goes to an app without the fast route (the oracle)
and then, under the same request id, to the app with it, both on one
service state: a body the two parse differently would be refused as a
reused request id (409), and any other difference shows in the answers,
which must be equal but for the second one being a repeat. Well-formed
requests with a verified key must take the fast path, and everything else
must leave it for the declared route."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from modelrouter.service.app import create_app
from modelrouter.service.fast_route import FastRoute
from modelrouter.service.state import ServiceState

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

_ids = itertools.count()

VALID: dict[str, st.SearchStrategy[Any]] = {
    "max_output_tokens": st.integers(1, 4_000),
    "strategy": st.sampled_from(["cheapest", "fastest", "balanced", "weighted", "quality"]),
    "tenant_id": st.sampled_from(["acme", "globex"]),
    "max_cost_usd": st.sampled_from(["0.0000001", "5", "0.5"]),
    "require": st.sampled_from([[], ["tools"], ["vision", "tools"]]),
    "fallback_models": st.sampled_from([[], ["gpt-4o-mini"]]),
    "expected_cache_hit_ratio": st.sampled_from(["0.5", 0.25, 1]),
}
# One field the declared route refuses, or the router does.
INVALID: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from([7, "no-such-model", ""]),
    "input_tokens": st.sampled_from([-5, "2000", 1.5, 10**12]),
    "max_output_tokens": st.sampled_from([0, -1, None]),
    "strategy": st.sampled_from(["cost", None, 3]),
    "max_cost_usd": st.sampled_from(["-1", "x", 1e400]),
    "require": st.sampled_from([["teleport"], "tools"]),
    "timestamp": st.sampled_from(["2026-11-01T00:00:00Z", "yesterday"]),
    "messages": st.just([{"role": "user", "content": "hello"}]),
    "fallback_models": st.sampled_from([["no-such-model"], [1]]),
    "unknown_field": st.just(1),
}
GOOD = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["gpt-4o", "claude-sonnet-4", "gpt-4o-mini"]),
        "input_tokens": st.integers(0, 200_000),
    },
    optional=VALID,
)
BODIES = st.one_of(
    GOOD,
    st.tuples(
        GOOD,
        st.sampled_from(sorted(INVALID)).flatmap(
            lambda name: st.tuples(st.just(name), INVALID[name])
        ),
    ).map(lambda pair: {**pair[0], pair[1][0]: pair[1][1]}),
)
RAW = st.sampled_from(["", "{", "[]", "null", '{"model": "gpt-4o",}', "\udcff", '"gpt-4o"'])


@pytest.fixture
def apps(
    state: ServiceState, keys: dict[str, dict[str, str]]
) -> Iterator[tuple[TestClient, TestClient]]:
    # Verified once, as a worker has verified the keys it serves (a key it has
    # not seen yet is the declared route's to look up).
    for header in keys.values():
        assert state.keys.verify(header["Authorization"].removeprefix("Bearer ")) is not None
    plain = create_app(state, fast_route=False)
    with TestClient(plain) as oracle, TestClient(create_app(state)) as fast:
        yield oracle, fast


def _send(client: TestClient, content: bytes, headers: dict[str, str], query: str) -> Any:
    return client.post(f"/v1/route{query}", content=content, headers=headers)


def _same(oracle: Any, fast: Any, *, fast_first: bool = False) -> None:
    """Equal answers, the second of them (on the same request id) a repeat."""
    assert fast.status_code == oracle.status_code, (oracle.text, fast.text)
    first, second = oracle.json(), fast.json()
    if oracle.status_code == 200:
        assert (first.pop("repeat"), second.pop("repeat")) == (fast_first, not fast_first)
    assert second == first
    for header in ("content-type", "www-authenticate", "retry-after"):
        assert fast.headers.get(header) == oracle.headers.get(header)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(BODIES, RAW),
    role=st.sampled_from(["gateway", "gateway", "admin", "acme", "bad", "none"]),
    content_type=st.sampled_from(["application/json", "application/json", "text/plain"]),
    query=st.sampled_from(["", "", "?include=snapshot", "?include=all", "?x=1"]),
    fast_first=st.booleans(),
)
def test_the_fast_route_answers_what_the_declared_route_answers(
    apps: tuple[TestClient, TestClient],
    keys: dict[str, dict[str, str]],
    body: dict[str, Any] | str,
    role: str,
    content_type: str,
    query: str,
    fast_first: bool,
) -> None:
    oracle, fast = apps
    if isinstance(body, dict):
        body = {**body, "request_id": f"fast-{next(_ids)}"}
        content = json.dumps(body).encode()
    else:
        content = body.encode("utf-8", "surrogateescape")
    headers = {"Content-Type": content_type}
    headers.update(keys.get(role, {"Authorization": "Bearer mr_nope"} if role == "bad" else {}))
    taken: list[bool] = []
    original = FastRoute._take

    def spy(*args: Any) -> Any:
        answer = original(*args)
        taken.append(answer is not None)
        return answer

    if not fast_first:
        expected = _send(oracle, content, headers, query)
    with mock.patch.object(FastRoute, "_take", staticmethod(spy)):
        got = _send(fast, content, headers, query)
    if fast_first:
        expected = _send(oracle, content, headers, query)
    _same(expected, got, fast_first=fast_first)
    assert len(taken) == 1
    event(f"{expected.status_code} {'fast' if taken[0] else 'declared'}")
    usual = (
        isinstance(body, dict)
        and content_type == "application/json"
        and role in ("gateway", "admin", "acme")
        and query in ("", "?include=snapshot")
    )
    # Only the usual request goes the fast way, and every routed one does.
    assert taken[0] <= usual
    if expected.status_code == 200:
        assert taken[0] == usual


def test_a_fast_answer_carries_the_snapshot_when_asked(
    apps: tuple[TestClient, TestClient], keys: dict[str, dict[str, str]]
) -> None:
    oracle, fast = apps
    content = json.dumps({"model": "gpt-4o", "input_tokens": 900, "request_id": "snap-1"}).encode()
    headers = {"Content-Type": "application/json", **keys["gateway"]}
    expected = _send(oracle, content, headers, "?include=snapshot")
    got = _send(fast, content, headers, "?include=snapshot")
    _same(expected, got)
    assert got.json()["snapshot"]["decision_id"] == got.json()["decision_id"]


def test_other_methods_and_paths_are_the_declared_routes(
    apps: tuple[TestClient, TestClient], keys: dict[str, dict[str, str]]
) -> None:
    oracle, fast = apps
    for method, path in (("GET", "/v1/route"), ("POST", "/v1/route/"), ("PUT", "/v1/route")):
        expected = oracle.request(method, path, headers=keys["gateway"])
        got = fast.request(method, path, headers=keys["gateway"])
        assert (got.status_code, got.text) == (expected.status_code, expected.text)
        assert got.headers.get("allow") == expected.headers.get("allow")
    assert fast.get("/openapi.json").json() == oracle.get("/openapi.json").json()
