"""The transport: retries on 503 and 429 after Retry-After (bounded), the
key and URL from the environment, and error answers as the library's errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from modelrouter.client import Client, Retries, ServiceError, ServiceUnavailable
from modelrouter.client.errors import error_from
from modelrouter.client.http import DEFAULT_URL, Transport
from modelrouter.errors import (
    BudgetExceeded,
    InvalidInputError,
    NoRouteError,
    StoreUnavailable,
    UnknownModelError,
)
from modelrouter.types import Rejection, RejectionCode

FAST = Retries(attempts=3, backoff=0.001, max_wait=0.01)


def _client(handler: httpx.MockTransport, retries: Retries = FAST) -> Client:
    return Client("http://router.test", "key-1", retries=retries, transport=handler)


def test_a_503_is_retried_after_retry_after() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        if len(seen) < 3:
            return httpx.Response(
                503,
                json={"error": {"code": "store_unavailable", "message": "x"}},
                headers={"retry-after": "0"},
            )
        return httpx.Response(200, json={"tenant_id": "t", "budgets": [], "usage_sources": {}})

    with _client(httpx.MockTransport(answer)) as client:
        assert client.spend("t").tenant_id == "t"
    assert seen == ["Bearer key-1"] * 3


def test_retries_are_bounded() -> None:
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(
            503, json={"error": {"code": "decision_not_stored_yet", "message": "later"}}
        )

    with (
        _client(httpx.MockTransport(answer)) as client,
        pytest.raises(ServiceUnavailable) as caught,
    ):
        client.decision("dec_" + "0" * 24)
    assert len(calls) == FAST.attempts + 1
    assert caught.value.status == 503 and caught.value.code == "decision_not_stored_yet"


def test_a_connection_never_made_is_retried_then_unavailable() -> None:
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    with _client(httpx.MockTransport(answer)) as client, pytest.raises(ServiceUnavailable):
        client.decision("dec_" + "0" * 24)
    assert len(calls) == FAST.attempts + 1


def test_retry_after_is_capped() -> None:
    policy = Retries(max_wait=2)
    assert policy.delay(0, {"retry-after": "120"}) == 2
    assert policy.delay(0, {"retry-after": "1"}) == 1
    assert 0 < policy.delay(0, None) <= 2


def test_url_and_key_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELROUTER_URL", raising=False)
    monkeypatch.delenv("MODELROUTER_API_KEY", raising=False)
    bare = Transport()
    assert bare.base_url == DEFAULT_URL and "authorization" not in bare.headers
    monkeypatch.setenv("MODELROUTER_URL", "http://router:9000/")
    monkeypatch.setenv("MODELROUTER_API_KEY", "from-env")
    configured = Transport()
    assert configured.base_url == "http://router:9000"
    assert configured.headers["authorization"] == "Bearer from-env"
    assert Transport(api_key="arg").headers["authorization"] == "Bearer arg"


def test_a_route_carries_a_request_id_so_a_retry_is_the_same_decision() -> None:
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(
            503,
            headers={"retry-after": "0"},
            json={"error": {"code": "store_unavailable", "message": "x"}},
        )

    retrying_once = _client(httpx.MockTransport(answer), Retries(attempts=1, max_wait=0))
    with retrying_once as client, pytest.raises(StoreUnavailable):
        client.route({"model": "gpt-4o", "input_tokens": 10})
    assert len(bodies) == 2 and bodies[0] == bodies[1] and b'"request_id":"req_' in bodies[0]


def test_an_invalid_request_is_refused_before_any_io() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise AssertionError("sent")

    with _client(httpx.MockTransport(answer)) as client, pytest.raises(InvalidInputError):
        client.route({"model": "gpt-4o"})


def test_error_bodies_rebuild_the_librarys_errors() -> None:
    rejection = Rejection(
        "openai/gpt-4o",
        RejectionCode.CONTEXT_WINDOW_TOO_SMALL,
        "too small",
        need="200000",
        have="128000",
    )
    original = NoRouteError("gpt-4o", [rejection])
    rebuilt = error_from(422, {"error": original.to_dict()})
    assert isinstance(rebuilt, NoRouteError)
    assert rebuilt.rejections == (rejection,) and rebuilt.message == original.message

    budget = BudgetExceeded(
        tenant="acme",
        period="day",
        limit=Decimal("1"),
        spent=Decimal("0.75"),
        reserved=Decimal("0.1"),
        requested=Decimal("0.5"),
        resets_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    again = error_from(402, {"error": budget.to_dict()})
    assert isinstance(again, BudgetExceeded)
    assert (again.spent, again.limit, again.resets_at) == (
        budget.spent,
        budget.limit,
        budget.resets_at,
    )
    assert again.to_dict() == budget.to_dict()

    unknown = error_from(422, {"error": UnknownModelError("gpt4o", ["gpt-4o"]).to_dict()})
    assert isinstance(unknown, UnknownModelError) and unknown.suggestions == ("gpt-4o",)
    field = error_from(422, {"error": {"code": "invalid_input", "message": "x: bad", "field": "x"}})
    assert isinstance(field, InvalidInputError) and field.field == "x"

    other = error_from(401, {"error": {"code": "unauthorized", "message": "no key"}})
    assert isinstance(other, ServiceError) and not isinstance(other, ServiceUnavailable)
    assert (other.status, other.code) == (401, "unauthorized")
    assert isinstance(error_from(502, "<html>bad gateway</html>"), ServiceError)
