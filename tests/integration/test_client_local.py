"""``LocalClient``: the same ``run`` over an in-process ``Router``, against the
mock provider over real HTTP, sync and async. Attempts teach the router's own
signals: after the 429 the first hop is no longer the primary."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelrouter.catalog.index import Catalog
from modelrouter.client import Hop, HopsFailed, LocalClient, RunResult
from modelrouter.router import Router
from tests.integration.client_service import MockProvider, catalog_layer


@pytest.fixture(scope="module")
def provider() -> Iterator[Any]:
    server = MockProvider().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def catalog(provider: Any) -> Catalog:
    return Catalog.bundled().layered("mock", catalog_layer(provider.base, ["chat"]))


@pytest.fixture
def local(provider: Any, catalog: Catalog) -> LocalClient:
    provider.failing.clear()
    provider.calls.clear()
    return LocalClient(Router(catalog))


REQUEST = {"model": "chat", "input_tokens": 200, "max_output_tokens": 50, "strategy": "cheapest"}


def _sync_call(hop: Hop) -> httpx.Response:
    body = {"model": hop.upstream_model, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{hop.api_base}/chat/completions", json=body, timeout=10)


async def _async_call(hop: Hop) -> httpx.Response:
    body = {"model": hop.upstream_model, "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(f"{hop.api_base}/chat/completions", json=body)


def _run(local: LocalClient, flavour: str) -> RunResult:
    if flavour == "sync":
        return local.run(REQUEST, _sync_call)
    return asyncio.run(local.arun(REQUEST, _async_call))


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_local_run_falls_back_and_moves_the_primary(
    local: LocalClient, provider: Any, flavour: str
) -> None:
    provider.failing.add("chat-a")
    result = _run(local, flavour)
    assert [(a.deployment, a.status) for a in result.attempts] == [
        ("mock-a/chat", "rate_limited"),
        ("mock-b/chat", "ok"),
    ]
    assert result.actual_cost is not None and result.actual_cost.deployment == "mock-b/chat"
    assert result.decision_cost_usd == result.actual_cost.total_usd
    again = _run(local, flavour)
    assert again.plan.primary.deployment == "mock-b/chat"
    assert len(again.attempts) == 1
    assert provider.calls.count(("chat-a", 429)) == 1


def test_local_run_raises_when_every_hop_fails(local: LocalClient, provider: Any) -> None:
    provider.failing.update({"chat-a", "chat-b"})
    with pytest.raises(HopsFailed) as caught:
        local.run(REQUEST, _sync_call)
    assert [a.status for a in caught.value.attempts] == ["rate_limited", "rate_limited"]


def test_local_stream_prices_the_final_event(local: LocalClient) -> None:
    events = [
        {"choices": [{"delta": {"content": "hi"}}]},
        {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}},
    ]
    with local.run_stream(REQUEST, lambda hop: iter(events)) as stream:
        assert stream.decision_id.startswith("dec_")
        assert list(stream) == events
    assert stream.result is not None
    assert stream.result.usage is not None and stream.result.usage.output_tokens == 3
    assert stream.result.actual_cost is not None
    assert stream.result.actual_cost.usage.input_tokens == 7
