"""Decision and outcome events through NatsSink into a real NATS JetStream
(127.0.0.1:4222, or MODELROUTER_TEST_NATS_URL), read back with a JetStream
consumer. Each test publishes under a subject prefix and stream of its own, so
reruns never see old messages; the test of the default names reads only what
was stored since it started. An unreachable server skips these tests with a
message naming it; with CI=true it fails them instead."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig, DeliverPolicy

from modelrouter.money import exact_str
from modelrouter.observability.events import (
    DECISIONS_SUBJECT,
    OUTCOMES_SUBJECT,
    decision_event,
    outcome_event,
)
from modelrouter.observability.sinks.nats import STREAM, NatsSink
from modelrouter.pricing.usage import Usage
from modelrouter.router import Router
from tests.integration.conftest import unavailable
from tests.integration.proxy import CuttableProxy

NATS_URL = os.environ.get("MODELROUTER_TEST_NATS_URL", "nats://127.0.0.1:4222")
WAIT = 5.0  # seconds: the bound on every wait below


@dataclass(frozen=True)
class Names:
    stream: str
    decisions: str
    outcomes: str


@dataclass(frozen=True)
class Received:
    subject: str
    msg_id: str | None
    event: dict[str, Any]


async def _connect(url: str, errors: list[Exception] | None = None) -> NatsClient:
    async def keep(error: Exception) -> None:
        if errors is not None:
            errors.append(error)

    # nats-py retries even a first connection max_reconnect_attempts times
    # (allow_reconnect does not stop that): two quick attempts, then give up.
    return await nats.connect(
        url,
        connect_timeout=2,
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0,
        error_cb=keep,
    )


async def _check_jetstream(url: str) -> None:
    errors: list[Exception] = []
    try:
        client = await _connect(url, errors)
    except nats.errors.NoServersError:
        raise errors[-1] if errors else nats.errors.NoServersError() from None
    try:
        await client.jetstream(timeout=2).account_info()  # JetStream is enabled
    finally:
        await client.close()


@pytest.fixture(scope="session")
def nats_url() -> str:
    try:
        asyncio.run(_check_jetstream(NATS_URL))
    except Exception as exc:
        unavailable(f"NATS at {NATS_URL}", exc)
    return NATS_URL


@pytest.fixture
def names(nats_url: str) -> Iterator[Names]:
    run = uuid.uuid4().hex[:12]
    prefix = f"modelrouter_test_{run}"
    yield Names(f"MODELROUTER_TEST_{run}", f"{prefix}.decisions", f"{prefix}.outcomes")

    async def drop() -> None:
        client = await _connect(nats_url)
        try:
            await client.jetstream(timeout=2).delete_stream(f"MODELROUTER_TEST_{run}")
        except nats.errors.Error:
            pass  # never created
        finally:
            await client.close()

    asyncio.run(drop())


async def _receive(
    url: str,
    stream: str,
    subject: str,
    *,
    want: set[str],
    since: datetime | None = None,
) -> list[Received]:
    """Messages on ``subject`` until every ``event_id`` in ``want`` is seen (or
    ``WAIT`` passes), through an ephemeral pull consumer; with ``since``, only
    messages stored from then on."""
    client = await _connect(url)
    try:
        js = client.jetstream(timeout=2)
        config = ConsumerConfig(inactive_threshold=30.0)
        if since is not None:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=since,
                inactive_threshold=30.0,
            )
        subscription = await js.pull_subscribe(subject, stream=stream, config=config)
        received: list[Received] = []
        deadline = time.monotonic() + WAIT
        while want - {r.event.get("event_id") for r in received}:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                messages = await subscription.fetch(100, timeout=min(remaining, 1.0))
            except nats.errors.TimeoutError:
                continue
            for message in messages:
                await message.ack()
                headers = message.headers or {}
                received.append(
                    Received(message.subject, headers.get("Nats-Msg-Id"), json.loads(message.data))
                )
        await subscription.unsubscribe()
        return received
    finally:
        await client.close()


async def _stream_state(url: str, stream: str) -> tuple[list[str], int]:
    client = await _connect(url)
    try:
        info = await client.jetstream(timeout=2).stream_info(stream)
        return list(info.config.subjects or []), info.state.messages
    finally:
        await client.close()


async def _delete_stream(url: str, stream: str) -> None:
    client = await _connect(url)
    try:
        await client.jetstream(timeout=2).delete_stream(stream)
    finally:
        await client.close()


def test_a_routed_decision_and_its_outcome_reach_jetstream(
    router: Router, nats_url: str, names: Names
) -> None:
    plan = router.route(
        {"model": "smart", "input_tokens": 2000, "tenant_id": "acme", "strategy": "cheapest"}
    )
    cost = router.record_outcome(plan, Usage(input_tokens=2000, output_tokens=300))
    decision, outcome = decision_event(plan), outcome_event(plan, cost)

    sink = NatsSink(nats_url, subject=names.decisions, stream=names.stream)
    assert sink.outcome_subject == names.outcomes
    started = time.perf_counter()
    sink.publish(decision)
    sink.publish(outcome)
    assert time.perf_counter() - started < 0.05  # queued, not sent, by the caller
    assert sink.flush(WAIT)  # acknowledged by JetStream
    sink.close()
    assert (sink.published, sink.dropped) == (2, 0)

    # The sink created the stream over the whole prefix.
    subjects, stored = asyncio.run(_stream_state(nats_url, names.stream))
    assert subjects == [names.decisions.rsplit(".", 1)[0] + ".>"]
    assert stored == 2

    decisions = asyncio.run(
        _receive(nats_url, names.stream, names.decisions, want={decision["event_id"]})
    )
    assert decisions == [Received(names.decisions, plan.decision_id, decision)]
    outcomes = asyncio.run(
        _receive(nats_url, names.stream, names.outcomes, want={outcome["event_id"]})
    )
    assert outcomes == [Received(names.outcomes, f"{plan.decision_id}:outcome", outcome)]
    assert outcomes[0].event["actual"]["total_usd"] == exact_str(cost.total_usd)


def test_the_default_subjects(router: Router, nats_url: str) -> None:
    # The production names: stream MODELROUTER (created if missing), subjects
    # modelrouter.decisions and modelrouter.outcomes. Other runs may have
    # stored events there: read from this test's start, look for its own.
    since = datetime.now(UTC) - timedelta(seconds=1)
    plan = router.route({"model": "budget", "input_tokens": 100, "request_id": uuid.uuid4().hex})
    cost = router.record_outcome(plan, Usage(input_tokens=100, output_tokens=10))
    sink = NatsSink(nats_url)
    sink.publish(decision_event(plan))
    sink.publish(outcome_event(plan, cost))
    assert sink.flush(WAIT)
    sink.close()

    decisions = asyncio.run(
        _receive(nats_url, STREAM, DECISIONS_SUBJECT, want={plan.decision_id}, since=since)
    )
    mine = [r for r in decisions if r.event["decision_id"] == plan.decision_id]
    assert [r.event for r in mine] == [decision_event(plan)]
    outcome_id = f"{plan.decision_id}:outcome"
    outcomes = asyncio.run(
        _receive(nats_url, STREAM, OUTCOMES_SUBJECT, want={outcome_id}, since=since)
    )
    assert [r.event["event_id"] for r in outcomes if r.event["event_id"] == outcome_id] == [
        outcome_id
    ]


def test_a_deleted_stream_is_created_again(router: Router, nats_url: str, names: Names) -> None:
    sink = NatsSink(nats_url, subject=names.decisions, stream=names.stream)
    try:
        first = router.route({"model": "smart", "input_tokens": 100, "request_id": "first"})
        sink.publish(decision_event(first))
        assert sink.flush(WAIT)
        asyncio.run(_delete_stream(nats_url, names.stream))

        second = router.route({"model": "smart", "input_tokens": 100, "request_id": "second"})
        sink.publish(decision_event(second))
        assert sink.flush(WAIT)
    finally:
        sink.close()
    assert (sink.published, sink.dropped) == (2, 0)
    _, stored = asyncio.run(_stream_state(nats_url, names.stream))
    assert stored == 1  # the new stream holds the second event only
    received = asyncio.run(
        _receive(nats_url, names.stream, names.decisions, want={second.decision_id})
    )
    assert [r.event["request_id"] for r in received] == ["second"]


def test_the_sink_reconnects_after_the_link_is_cut(
    router: Router, nats_url: str, names: Names
) -> None:
    host, _, port = nats_url.split("://", 1)[1].rpartition("@")[2].partition(":")
    proxy = CuttableProxy(host, int(port or 4222)).start()
    sink = NatsSink(
        f"nats://127.0.0.1:{proxy.port}",
        subject=names.decisions,
        stream=names.stream,
        reconnect_wait=0.1,
        publish_timeout=1.0,
    )
    plans = [
        router.route({"model": "smart", "input_tokens": 100, "request_id": f"r{i}"})
        for i in range(3)
    ]
    try:
        sink.publish(decision_event(plans[0]))
        assert sink.flush(WAIT)
        proxy.cut()
        started = time.perf_counter()
        sink.publish(decision_event(plans[1]))  # while the server is away
        assert time.perf_counter() - started < 0.05
        time.sleep(0.3)  # let the sink notice and start reconnecting
        proxy.restore()
        sink.publish(decision_event(plans[2]))
        assert sink.flush(WAIT)
    finally:
        sink.close()
        proxy.close()
    assert (sink.published, sink.dropped) == (3, 0)
    want = {plan.decision_id for plan in plans}
    received = asyncio.run(_receive(nats_url, names.stream, names.decisions, want=want))
    # Each once: a publish retried after the cut carries the same Nats-Msg-Id.
    assert sorted(r.event["request_id"] for r in received) == ["r0", "r1", "r2"]


def test_the_service_publishes_the_event_of_a_routed_request(
    nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The HTTP service with MODELROUTER_NATS_URL set: POST /v1/route, then the
    # decision's event is read back from JetStream.
    from fastapi.testclient import TestClient

    from modelrouter.service.app import build_state, create_app

    monkeypatch.setenv("MODELROUTER_NATS_URL", nats_url)
    since = datetime.now(UTC) - timedelta(seconds=1)
    state = build_state(database_url=f"sqlite:///{tmp_path / 'svc.db'}", directory=tmp_path)
    key = state.keys.create("gateway")
    try:
        with TestClient(create_app(state)) as client:
            answer = client.post(
                "/v1/route",
                json={"model": "gpt-4o-mini", "input_tokens": 700, "request_id": uuid.uuid4().hex},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert answer.status_code == 200, answer.text
            decision_id = answer.json()["decision_id"]
    finally:
        state.close()  # drains the sink
    received = asyncio.run(
        _receive(nats_url, STREAM, DECISIONS_SUBJECT, want={decision_id}, since=since)
    )
    mine = [r.event for r in received if r.event.get("decision_id") == decision_id]
    assert len(mine) == 1
    assert mine[0]["plan_hash"] == answer.json()["plan_hash"]
